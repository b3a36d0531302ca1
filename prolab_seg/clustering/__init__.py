"""Network-free multi-level clustering of frozen backbone features (arXiv 2311.18628)."""
from .kmeans import l2_normalise, spherical_kmeans
from .multilevel import (LEVELS, MultiLevelResult, foreground_levels, multilevel_segment,
                         region_clusters)

__all__ = ['LEVELS', 'MultiLevelResult', 'foreground_levels', 'l2_normalise',
           'multilevel_segment', 'region_clusters', 'spherical_kmeans']
