"""ProLab: property-supervised segmentation for any mmseg decode head.

Registered modules: ``PropertyHead`` (wrapper head), ``CosineSimilarityLoss`` and
``CategoryCrossEntropyLoss`` (``PropertyLoss``es), ``PropertySpaceCheckHook`` (hook), GZSL score
calibrators (``ApolloniusCalibration``, ``CategoryBiasCalibration``), the unseen-feature generator
``PropertyFeatureGenerator`` (:mod:`.feature_generation`, ZS3Net). See
:mod:`prolab_seg.models.prolab.head` for the design; label spaces are in
:mod:`prolab_seg.properties.label_space`.
"""
from .calibration import (ApolloniusCalibration, CategoryBiasCalibration,  # noqa: F401
                          ScoreCalibrator)
from .feature_generation import PropertyFeatureGenerator  # noqa: F401
from .head import CentroidConv2d, PropertyHead, set_inference_categories  # noqa: F401
from .hooks import PropertySpaceCheckHook  # noqa: F401
from .loss import (CategoryCrossEntropyLoss, CosineSimilarityLoss, LabelTargets,  # noqa: F401
                   PropertyLoss)

__all__ = ['PropertyHead', 'CentroidConv2d', 'set_inference_categories', 'PropertySpaceCheckHook',
           'CosineSimilarityLoss', 'CategoryCrossEntropyLoss', 'LabelTargets', 'PropertyLoss',
           'ScoreCalibrator', 'ApolloniusCalibration', 'CategoryBiasCalibration',
           'PropertyFeatureGenerator']
