"""The procedural property-world generator: category specs (:mod:`.spec`, shipped ones in
``specs/``), scenes (:mod:`.generator`, :mod:`.textures`, :mod:`.shapes`) and the writer of a
dataset in mmseg's layout (:mod:`.writer`), which
:class:`prolab_seg.datasets.PropertyWorldDataset` reads. The specs' descriptions dataset keys
are registered into :data:`prolab_seg.properties.descriptions.DATASETS` on import."""
from .generator import PropertyWorldGenerator, Scene
from .spec import (ALL_CLASSES, PALETTE, SEEN_CLASSES, UNSEEN_CLASSES, Category, SpecError,
                   load_spec)
from .writer import write_property_world

__all__ = [
    'ALL_CLASSES', 'PALETTE', 'SEEN_CLASSES', 'UNSEEN_CLASSES', 'Category',
    'PropertyWorldGenerator', 'Scene', 'SpecError', 'load_spec', 'write_property_world'
]
