"""prolab-seg datasets (registered into mmseg on import): :class:`PropertyWorldDataset`, whose
classes come from the data's ``meta.json`` (the generator of property-world data is the project
``projects/property_world``)."""
from .property_world import PropertyWorldDataset, read_meta

__all__ = ['PropertyWorldDataset', 'read_meta']
