"""Network-free multi-level clustering of frozen backbone features (arXiv 2311.18628)."""
from .kmeans import SphericalKMeans
from .multilevel import (LEVELS, MultiLevelResult, foreground_levels, multilevel_segment,
                         region_clusters)

__all__ = ['LEVELS', 'MultiLevelResult', 'SphericalKMeans', 'foreground_levels',
           'multilevel_segment', 'region_clusters']
