"""IIC (Invariant Information Clustering, Ji et al. 2019) for unsupervised segmentation."""
from .iic_head import IICHead
from .iic_loss import IICLoss, iic_joint, mutual_information_loss
from .iic_segmentor import IICSegmentor
from .views import IICViews, align_to_first_view, invert_affine, warp

__all__ = ['IICHead', 'IICLoss', 'IICSegmentor', 'IICViews', 'align_to_first_view',
           'iic_joint', 'invert_affine', 'mutual_information_loss', 'warp']
