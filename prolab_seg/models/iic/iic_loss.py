"""Invariant Information Clustering loss, segmentation variant (Ji et al., ICCV 2019).

The joint distribution of the cluster assignments of two aligned views is accumulated over the
batch, the pixels and every spatial displacement ``(dy, dx)`` in ``[-r, r]^2`` (``r`` =
``displacement``). A displacement only pairs pixels that lie inside both maps: nothing wraps
around and the border pixels simply contribute fewer pairs (zero padding). This is one
``conv2d`` of the two probability maps, as in the official code.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


def iic_joint(probs1: Tensor, probs2: Tensor, displacement: int = 0,
              mask: Tensor | None = None) -> Tensor:
    """Symmetrised joint cluster distribution of two aligned views.

    Args:
        probs1: B x C x H x W per-pixel cluster probabilities of view 1.
        probs2: B x C x H x W probabilities of view 2, already mapped back onto view 1's grid.
        displacement: radius ``r`` of the displacement window; pixel ``(y, x)`` of view 1 is
            paired with pixel ``(y + dy, x + dx)`` of view 2 for every ``|dy|, |dx| <= r`` when
            that pixel exists.
        mask: optional B x H x W (or B x 1 x H x W) weights, 1 where both views are valid
            (e.g. inside the inverse-warped second view), 0 elsewhere.

    Returns:
        C x C joint distribution ``J`` (sums to 1, symmetric).
    """
    if probs1.shape != probs2.shape:
        raise ValueError(f'view shapes differ: {tuple(probs1.shape)} vs {tuple(probs2.shape)}')
    if mask is not None:
        mask = mask.reshape(probs1.shape[0], 1, *probs1.shape[2:]).to(probs1.dtype)
        probs1, probs2 = probs1 * mask, probs2 * mask
    # C x B x H x W: the batch becomes conv2d's input-channel axis, so it is summed over.
    p1 = probs1.transpose(0, 1)
    p2 = probs2.transpose(0, 1)
    # C x C x (2r+1) x (2r+1): one joint per displacement; zero padding = only overlaps count.
    joint = F.conv2d(p1, p2, padding=displacement).sum(dim=(2, 3))
    joint = (joint + joint.t()) / 2
    return joint / joint.sum().clamp_min(torch.finfo(joint.dtype).tiny)


def mutual_information_loss(joint: Tensor, lamb: float = 1.0, eps: float = 1e-8) -> Tensor:
    """IIC objective ``-sum_ij J_ij (log J_ij - lamb log P_i - lamb log P_j)`` (scalar).

    With ``lamb = 1`` this is minus the mutual information of ``J``; ``lamb > 1`` weights the
    marginal entropies more (the paper's entropy weight, against degenerate clusterings).
    Probabilities below ``eps`` are clamped before the logarithm; such entries are multiplied
    by ``J_ij <= eps`` so the clamp changes the value by at most ``O(eps)``.

    Args:
        joint: C x C joint distribution (sums to 1).
        lamb: entropy weight.
        eps: clamp for the logarithms.
    """
    p_i = joint.sum(dim=1, keepdim=True).clamp_min(eps)  # C x 1
    p_j = joint.sum(dim=0, keepdim=True).clamp_min(eps)  # 1 x C
    log_j = joint.clamp_min(eps).log()
    return -(joint * (log_j - lamb * p_i.log() - lamb * p_j.log())).sum()


@MODELS.register_module()
class IICLoss(nn.Module):
    """IIC mutual-information loss between the logits of two aligned views.

    Args:
        displacement: radius of the local displacement window (0 = pixel to pixel).
        lamb: entropy weight of the paper (1 = plain mutual information).
        eps: probability clamp.
        loss_weight: multiplier of the loss.
        loss_name: key of the loss in the loss dict (mmseg sums keys starting with ``loss``).
    """

    def __init__(self, displacement: int = 1, lamb: float = 1.0, eps: float = 1e-8,
                 loss_weight: float = 1.0, loss_name: str = 'loss_iic') -> None:
        super().__init__()
        if displacement < 0:
            raise ValueError(f'displacement must be >= 0, got {displacement}')
        self.displacement = displacement
        self.lamb = lamb
        self.eps = eps
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, logits1: Tensor, logits2: Tensor, mask: Tensor | None = None) -> Tensor:
        """Loss (scalar) of B x C x H x W logits of view 1 and aligned view 2; mask B x H x W."""
        joint = iic_joint(logits1.float().softmax(dim=1), logits2.float().softmax(dim=1),
                          self.displacement, mask)
        return self.loss_weight * mutual_information_loss(joint, self.lamb, self.eps)

    @property
    def loss_name(self) -> str:
        return self._loss_name
