"""EQUSS (expand-and-quantize unsupervised segmentation), registered into mmseg's ``MODELS``."""
from .cluster_probe import ClusterProbe
from .expansion_head import ExpansionHead
from .feature_bank import FeatureBank
from .product_quantizer import ProductQuantizer
from .segmentor import EQUSSSegmentor
from .stego_loss import STEGOCorrelationLoss

__all__ = ['ClusterProbe', 'EQUSSSegmentor', 'ExpansionHead', 'FeatureBank', 'ProductQuantizer',
           'STEGOCorrelationLoss']
