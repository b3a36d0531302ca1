"""``CosineSimilarityLoss``: ProLab's property-regression loss, registered in mmseg's ``MODELS``."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS


def cosine_map(pred: Tensor, target: Tensor, eps: float = 1e-8) -> Tensor:
    """Per-pixel cosine similarity along dim 1 (N,K,H,W x N,K,H,W -> N,H,W).

    Zero vectors give cosine 0 (not NaN) and finite gradients.
    """
    dot = (pred * target).sum(dim=1)
    denom = (pred.norm(dim=1) * target.norm(dim=1)).clamp_min(eps)
    return dot / denom


@MODELS.register_module()
class CosineSimilarityLoss(nn.Module):
    """``loss_weight * mean_valid(1 - cos(pred, target))`` (+ ``bce_weight * BCE``).

    Args:
        loss_weight: multiplier (ProLab: 1.0 main head, 0.4 auxiliary FCN head).
        bce_weight: weight of an extra binary cross-entropy term between the activations
            and the multi-hot targets (ablation; 0 = pure ProLab loss). Computed from the
            pre-sigmoid logits when the caller passes ``logits=`` (numerically stable).
        ignore_index: label value excluded from the mean when ``target`` is a label map.
        class_weight: optional per-category weights (C floats, as mmseg's
            ``CrossEntropyLoss``): a pixel's term is scaled by its category's weight (label-map
            targets only), e.g. to balance small objects against large background regions.
        eps: denominator clamp; an all-zero prediction or target vector gives cos = 0.
        loss_name: key in the loss dict (must start with ``loss_`` to be optimised).

    ``forward(pred, target, weight=None, valid_mask=None, logits=None, class_vectors=None,
    ignore_index=None)``:

    * ``pred``: N x K x H x W activations.
    * ``target``: N x K x H x W target vectors, or an N x H x W label map together with
      ``class_vectors`` (C x K), in which case pixels equal to ``ignore_index`` are excluded
      and the targets are never materialised (``class_dots``: optional precomputed
      N x C x H x W dot products ``<pred, v_c>``; ``class_cos``: precomputed cosines).
    * ``valid_mask``: optional N x H x W bool; ``weight``: optional N x H x W pixel weights.
    The mean is over valid pixels (0 with a zero gradient when there are none).
    """

    def __init__(self, loss_weight: float = 1.0, bce_weight: float = 0.0,
                 ignore_index: int = 255, eps: float = 1e-8, loss_name: str = 'loss_cos',
                 class_weight: Optional[Sequence[float]] = None):
        super().__init__()
        if class_weight is not None and (len(class_weight) == 0
                                         or min(float(w) for w in class_weight) < 0):
            raise ValueError(f'class_weight must be a non-empty list of non-negative floats, '
                             f'got {class_weight!r}')
        self.class_weight = None if class_weight is None else [float(w) for w in class_weight]
        self.loss_weight = float(loss_weight)
        self.bce_weight = float(bce_weight)
        self.ignore_index = ignore_index
        self.eps = float(eps)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                valid_mask: Optional[Tensor] = None, logits: Optional[Tensor] = None,
                class_vectors: Optional[Tensor] = None, ignore_index: Optional[int] = None,
                class_dots: Optional[Tensor] = None, class_cos: Optional[Tensor] = None,
                **kwargs) -> Tensor:
        ignore_index = self.ignore_index if ignore_index is None else ignore_index
        if target.dim() == pred.dim() - 1:
            return self._forward_labels(pred, target.long(), class_vectors, weight, valid_mask,
                                        logits, ignore_index, class_dots, class_cos)
        if target.shape != pred.shape:
            raise ValueError(f'CosineSimilarityLoss: pred {tuple(pred.shape)} vs target '
                             f'{tuple(target.shape)}')
        target = target.to(pred.dtype)
        if valid_mask is None:
            valid_mask = torch.ones(pred.shape[:1] + pred.shape[2:], dtype=torch.bool,
                                    device=pred.device)
        cos = cosine_map(pred, target, self.eps)
        return self._reduce(cos, pred, target, weight, valid_mask, logits)

    def _forward_labels(self, pred, label, class_vectors, weight, valid_mask, logits,
                        ignore_index, class_dots, class_cos=None):
        """Label-map targets without materialising N x K x H x W target vectors:
        cos = <a, v_y> / (|a| |v_y|) with <a, v_c> for all c as one K -> C contraction
        (or ``class_dots`` precomputed by the caller), then gathered at the label."""
        if class_vectors is None:
            raise ValueError('CosineSimilarityLoss: a label-map target needs class_vectors')
        vectors = class_vectors.to(pred.dtype)
        if self.class_weight is not None:
            if len(self.class_weight) != len(vectors):
                raise ValueError(f'CosineSimilarityLoss: {len(self.class_weight)} class_weight '
                                 f'values for {len(vectors)} categories')
            cw = pred.new_tensor(self.class_weight)[label.clamp(0, len(vectors) - 1)]
            weight = cw if weight is None else weight * cw
        valid = label != ignore_index
        if valid_mask is not None:
            valid = valid & valid_mask
        idx = torch.where(valid, label, torch.zeros_like(label))
        if class_cos is not None:  # caller computed cos(pred, v_c) for every class
            cos = class_cos.gather(1, idx.unsqueeze(1)).squeeze(1)
        else:
            if class_dots is None:
                class_dots = F.conv2d(pred, vectors[:, :, None, None])
            dot = class_dots.gather(1, idx.unsqueeze(1)).squeeze(1)
            pred_norm = pred.pow(2).sum(dim=1).clamp_min(self.eps * self.eps).sqrt()
            cos = dot / (pred_norm * vectors.norm(dim=1)[idx]).clamp_min(self.eps)
        target = None
        if self.bce_weight > 0:
            target = vectors[idx].permute(0, 3, 1, 2)
        return self._reduce(cos, pred, target, weight, valid, logits)

    def _reduce(self, cos, pred, target, weight, valid_mask, logits):
        w = valid_mask.to(pred.dtype)
        if weight is not None:
            w = w * weight.to(pred.dtype)
        denom = valid_mask.sum().clamp_min(1).to(pred.dtype)
        loss = ((1.0 - cos) * w).sum() / denom
        if self.bce_weight > 0:
            if logits is not None:
                bce = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
            else:
                p = pred.clamp(1e-6, 1 - 1e-6)
                bce = F.binary_cross_entropy(p, target, reduction='none')
            loss = loss + self.bce_weight * (bce.mean(dim=1) * w).sum() / denom
        return self.loss_weight * loss
