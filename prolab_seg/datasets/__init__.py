"""prolab-seg datasets (registered into mmseg on import): the procedural property world."""
from .generator import PropertyWorldGenerator, Scene
from .property_world import PropertyWorldDataset
from .spec import (ALL_CLASSES, PALETTE, SEEN_CLASSES, UNSEEN_CLASSES, Category, SpecError,
                   load_spec, spec_metainfo)
from .writer import write_property_world

__all__ = [
    'ALL_CLASSES', 'PALETTE', 'SEEN_CLASSES', 'UNSEEN_CLASSES', 'Category', 'PropertyWorldDataset',
    'PropertyWorldGenerator', 'Scene', 'SpecError', 'load_spec', 'spec_metainfo',
    'write_property_world'
]
