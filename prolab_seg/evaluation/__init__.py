"""prolab-seg evaluation (registered into mmseg on import).

:mod:`.unsupervised` holds the array-level protocol shared by all unsupervised methods;
:class:`UnsupervisedSegMetric` is its registered mmengine metric. :class:`ZeroShotIoUMetric`
(:mod:`.zero_shot`) reports generalised zero-shot mIoU over the seen / unseen classes and hIoU;
:func:`attribute_probe` asks whether pixel features encode each attribute on unseen categories.
"""
from .attribute_probe import attribute_probe
from .metrics import UnsupervisedSegMetric
from .unsupervised import (class_code_entropy, cluster_metrics, code_bits_per_pixel,
                           codeword_histogram, confusion_matrix, entropy_bits,
                           hungarian_match, iou_from_confusion, kmeans_cluster_probe,
                           linear_probe, match_confusion, metrics_from_confusion)
from .zero_shot import ZeroShotIoUMetric

__all__ = [
    'UnsupervisedSegMetric', 'class_code_entropy', 'cluster_metrics', 'code_bits_per_pixel',
    'codeword_histogram', 'confusion_matrix', 'entropy_bits', 'hungarian_match',
    'iou_from_confusion', 'kmeans_cluster_probe', 'linear_probe', 'match_confusion',
    'metrics_from_confusion',
    'ZeroShotIoUMetric', 'attribute_probe'
]
