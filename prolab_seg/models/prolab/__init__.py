"""ProLab: property-supervised segmentation for any mmseg decode head.

Registered modules: ``PropertyHead`` (wrapper head), ``CosineSimilarityLoss`` (loss),
``PropertySpaceCheckHook`` (hook). See :mod:`prolab_seg.models.prolab.head` for the design.
"""
from .bank import (CategoryBank, build_label_embedding_bank, load_bank,  # noqa: F401
                   save_label_embedding_bank)
from .head import CentroidConv2d, PropertyHead, set_inference_categories  # noqa: F401
from .hooks import PropertySpaceCheckHook, ResumeRNGHook  # noqa: F401
from .loss import CosineSimilarityLoss, cosine_map  # noqa: F401

__all__ = ['CategoryBank', 'load_bank', 'save_label_embedding_bank', 'build_label_embedding_bank',
           'PropertyHead', 'CentroidConv2d', 'set_inference_categories', 'PropertySpaceCheckHook',
           'ResumeRNGHook',
           'CosineSimilarityLoss', 'cosine_map']
