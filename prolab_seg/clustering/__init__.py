"""Network-free multi-level clustering of frozen backbone features (arXiv 2311.18628)."""
from .kmeans import spherical_kmeans
from .multilevel import (LEVELS, MultiLevelResult, foreground_levels, multilevel_segment,
                         region_clusters)

__all__ = ['LEVELS', 'MultiLevelResult', 'foreground_levels',
           'multilevel_segment', 'region_clusters', 'spherical_kmeans']
