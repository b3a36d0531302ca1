"""prolab-seg datasets (registered into mmseg on import): the procedural property world (its
specs' descriptions dataset keys are registered into
:data:`prolab_seg.properties.descriptions.DATASETS` on import)."""
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
