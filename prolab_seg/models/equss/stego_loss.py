"""STEGO's feature-correlation distillation loss (used by EQUSS on the pre-quantization code)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmseg.registry import MODELS


def sample_grid(t: Tensor, coords: Tensor) -> Tensor:
    """Bilinearly sample B×C×H×W at B×n×n×2 coords in [-1, 1] (x, y) -> B×C×n×n."""
    return F.grid_sample(t, coords.permute(0, 2, 1, 3), padding_mode='border',
                         align_corners=True)


def correlation(a: Tensor, b: Tensor) -> Tensor:
    """Cosine correlation volume of B×C×h×w and B×C×i×j -> B×h×w×i×j."""
    return torch.einsum('nchw,ncij->nhwij', F.normalize(a, dim=1), F.normalize(b, dim=1))


@MODELS.register_module()
class STEGOCorrelationLoss(nn.Module):
    """STEGO correlation loss: the code's correlations should follow the (shifted) feature ones.

    For a pair of sampled grids, with ``F`` the cosine correlation of the frozen backbone
    features and ``S`` that of the code (head output)::

        L(shift) = mean(-clamp(S, min_val, max_val) * (F - shift))

    over three pairs: the image with itself (``pos_intra``), the image with a KNN positive
    (``pos_inter``) and the image with ``neg_samples`` random other images of the batch
    (``neg_inter``); total = Σ weight_t · L_t(shift_t). ``pointwise`` centres ``F`` per query
    point (then restores its global mean), ``zero_clamp`` sets min_val = 0, ``stabilize`` sets
    max_val = 0.8, as in STEGO. Defaults: STEGO's COCO-Stuff ViT-S/8 setting.
    ``center_feats`` (not in STEGO) subtracts the batch mean of the sampled backbone features
    before the correlation, for backbones whose features are all positive (filter banks), whose
    raw cosine correlations are all close to 1.

    Args:
        feature_samples: n, the side of the random n×n grid of sampled locations per image.
        neg_samples: Number of random negative images per image (needs batch size >= 2;
            with a single image the negative term is 0).
    """

    def __init__(self, pos_intra_weight: float = 0.67, pos_inter_weight: float = 0.25,
                 neg_inter_weight: float = 0.63, pos_intra_shift: float = 0.18,
                 pos_inter_shift: float = 0.12, neg_inter_shift: float = 0.46,
                 feature_samples: int = 11, neg_samples: int = 5, pointwise: bool = True,
                 zero_clamp: bool = True, stabilize: bool = False, center_feats: bool = False,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.weights = dict(pos_intra=pos_intra_weight, pos_inter=pos_inter_weight,
                            neg_inter=neg_inter_weight)
        self.shifts = dict(pos_intra=pos_intra_shift, pos_inter=pos_inter_shift,
                           neg_inter=neg_inter_shift)
        self.feature_samples, self.neg_samples = feature_samples, neg_samples
        self.pointwise, self.center_feats = pointwise, center_feats
        self.min_val = 0.0 if zero_clamp else -9999.0  # STEGO's 'no clamp' value
        self.max_val = 0.8 if stabilize else None
        self.loss_weight = loss_weight

    def pair_loss(self, f1: Tensor, f2: Tensor, c1: Tensor, c2: Tensor, shift: float) -> Tensor:
        """STEGO's ``helper``: mean of -clamp(S) * (F - shift) for sampled grids (B×·×n×n)."""
        with torch.no_grad():
            fd = correlation(f1, f2)
            if self.pointwise:
                old_mean = fd.mean()
                fd = fd - fd.mean([3, 4], keepdim=True)
                fd = fd - fd.mean() + old_mean
        cd = correlation(c1, c2)
        return -(cd.clamp(self.min_val, self.max_val) * (fd - shift)).mean()

    def forward(self, feats: Tensor, code: Tensor, feats_pos: Tensor, code_pos: Tensor) -> Tensor:
        """Compute the weighted loss.

        Args:
            feats: B×C×H×W frozen backbone features of the batch.
            code: B×D×H×W head output (pre-quantization) of the batch.
            feats_pos, code_pos: The same for each image's KNN positive.

        Returns:
            Scalar loss (already multiplied by ``loss_weight``).
        """
        b, n = feats.shape[0], self.feature_samples
        coords1 = torch.rand(b, n, n, 2, device=feats.device) * 2 - 1
        coords2 = torch.rand(b, n, n, 2, device=feats.device) * 2 - 1
        f, c = sample_grid(feats, coords1), sample_grid(code, coords1)
        f_pos, c_pos = sample_grid(feats_pos, coords2), sample_grid(code_pos, coords2)
        f_all, c_all = sample_grid(feats, coords2), sample_grid(code, coords2)
        if self.center_feats:
            mean = f.mean((0, 2, 3), keepdim=True)
            f, f_pos, f_all = f - mean, f_pos - mean, f_all - mean
        loss = self.weights['pos_intra'] * self.pair_loss(f, f, c, c, self.shifts['pos_intra'])
        loss = loss + self.weights['pos_inter'] * self.pair_loss(
            f, f_pos, c, c_pos, self.shifts['pos_inter'])
        if b > 1 and self.neg_samples > 0:
            # Random derangements as cyclic shifts: image i is paired with (i + s) mod B, s≠0.
            shifts = torch.randint(1, b, (self.neg_samples, 1), device=feats.device)
            neg = ((torch.arange(b, device=feats.device) + shifts) % b).reshape(-1)
            s = self.neg_samples
            loss = loss + self.weights['neg_inter'] * self.pair_loss(
                f.repeat(s, 1, 1, 1), f_all[neg], c.repeat(s, 1, 1, 1), c_all[neg],
                self.shifts['neg_inter'])
        return self.loss_weight * loss
