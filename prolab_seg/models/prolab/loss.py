"""The property-loss interface of ``PropertyHead``, ProLab's ``CosineSimilarityLoss`` and the
discriminative ``CategoryCrossEntropyLoss``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS


def label_cosine(pred: Tensor, idx: Tensor, vectors: Tensor, dots: Optional[Tensor] = None,
                 eps: float = 1e-8) -> Tensor:
    """``cos(pred, v_idx)`` per pixel without materialising the targets: ``pred`` N x K x H x W,
    ``idx`` N x H x W category indices, ``vectors`` C x K -> N x H x W. ``dots``: the
    N x C x H x W ``<pred, v_c>`` if already computed (else one K -> C 1x1 conv)."""
    if dots is None:
        dots = F.conv2d(pred, vectors[:, :, None, None])
    dot = dots.gather(1, idx.unsqueeze(1)).squeeze(1)
    pred_norm = pred.pow(2).sum(dim=1).clamp_min(eps * eps).sqrt()
    return dot / (pred_norm * vectors.norm(dim=1)[idx]).clamp_min(eps)


def category_cosines(pred: Tensor, vectors: Tensor, dots: Optional[Tensor] = None,
                     eps: float = 1e-8) -> Tensor:
    """``cos(pred, v_c)`` for every category: ``pred`` N x K x H x W, ``vectors`` C x K ->
    N x C x H x W. ``dots``: the N x C x H x W ``<pred, v_c>`` if already computed (else one
    K -> C 1x1 conv with the normalised vectors)."""
    vectors = vectors.to(pred.dtype)
    if dots is None:
        dots = F.conv2d(pred, F.normalize(vectors, dim=1, eps=eps)[:, :, None, None])
    else:
        dots = dots / vectors.norm(dim=1).clamp_min(eps).view(1, -1, 1, 1)
    return dots / pred.pow(2).sum(dim=1, keepdim=True).sqrt().clamp_min(eps)


@dataclass
class LabelTargets:
    """What a ``PropertyHead`` gives its losses beside the activations ``pred`` (N x K x H x W).

    Attributes:
        label: N x H x W category indices (``ignore_index`` where unlabelled).
        vectors: C x K category target vectors.
        ignore_index: label excluded from the loss.
        dots: optional N x C x H x W ``<pred, v_c>`` for every category (label resolution).
        cos: optional N x C x H x W ``cos(pred, v_c)`` (feature resolution, upsampled).
        logits: optional N x K x H x W pre-sigmoid logits / T (numerically stable BCE).
        label_cos: optional N x H x W cosine of each pixel to its own category (the head's
            chunked label-resolution path; ``pred`` is then at feature resolution).
    """

    label: Tensor
    vectors: Tensor
    ignore_index: int = 255
    dots: Optional[Tensor] = None
    cos: Optional[Tensor] = None
    logits: Optional[Tensor] = None
    label_cos: Optional[Tensor] = None


def check_class_weight(class_weight: Optional[Sequence[float]]) -> Optional[list[float]]:
    """``class_weight`` as floats (None stays None); ValueError unless non-empty, >= 0."""
    if class_weight is not None and (len(class_weight) == 0
                                     or min(float(w) for w in class_weight) < 0):
        raise ValueError(f'class_weight must be a non-empty list of non-negative floats, '
                         f'got {class_weight!r}')
    return None if class_weight is None else [float(w) for w in class_weight]


def pixel_class_weight(class_weight: Sequence[float], label: Tensor, num_classes: int,
                       loss: str) -> Tensor:
    """Each pixel's category weight (N x H x W) from C ``class_weight`` values; ``label``
    holds indices into the C categories (ignored pixels: anything, masked by the caller)."""
    if len(class_weight) != num_classes:
        raise ValueError(f'{loss}: {len(class_weight)} class_weight values for {num_classes} '
                         'categories')
    return torch.tensor(class_weight, dtype=torch.float32,
                        device=label.device)[label.clamp(0, num_classes - 1)]


class PropertyLoss(nn.Module):
    """Interface of the losses a ``PropertyHead`` accepts in ``loss_decode``.

    ``forward(pred, targets)``: ``pred`` N x K x H x W activations, ``targets`` a
    :class:`LabelTargets` -> scalar loss. ``loss_name`` (``loss_*``) is the key in the loss
    dict; ``needs_dense_activations`` asks for ``pred`` at label resolution when the head
    computes its cosines at feature resolution; ``needs_every_category`` says the loss reads
    the cosine to every category (``dots`` or ``cos``), which the head's chunked path
    (``loss_chunk_rows``) does not give.
    """

    needs_dense_activations: bool = False
    needs_every_category: bool = False

    @property
    def loss_name(self) -> str:
        raise NotImplementedError

    def forward(self, pred: Tensor, targets: LabelTargets) -> Tensor:
        raise NotImplementedError


@MODELS.register_module()
class CosineSimilarityLoss(PropertyLoss):
    """``loss_weight * mean_valid(1 - cos(pred, target))`` (+ ``bce_weight * BCE``).

    Args:
        loss_weight: multiplier (ProLab: 1.0 main head, 0.4 auxiliary FCN head).
        bce_weight: weight of an extra binary cross-entropy term between the activations
            and the multi-hot targets (ablation; 0 = pure ProLab loss). Computed from the
            pre-sigmoid logits when the targets carry them (numerically stable).
        class_weight: optional per-category weights (C floats, as mmseg's
            ``CrossEntropyLoss``): a pixel's term is scaled by its category's weight (label
            targets only), e.g. to balance small objects against large background regions.
        eps: denominator clamp; an all-zero prediction or target vector gives cos = 0.
        loss_name: key in the loss dict (must start with ``loss_`` to be optimised).

    ``forward(pred, target, weight=None, valid_mask=None)``:

    * ``pred``: N x K x H x W activations.
    * ``target``: a :class:`LabelTargets` (the head's call: pixels equal to its
      ``ignore_index`` are excluded and the N x K x H x W targets are never materialised), or
      N x K x H x W target vectors.
    * ``valid_mask``: optional N x H x W bool; ``weight``: optional N x H x W pixel weights.
    The mean is over valid pixels (0 with a zero gradient when there are none).
    """

    def __init__(self, loss_weight: float = 1.0, bce_weight: float = 0.0,
                 eps: float = 1e-8, loss_name: str = 'loss_cos',
                 class_weight: Optional[Sequence[float]] = None):
        super().__init__()
        self.class_weight = check_class_weight(class_weight)
        self.loss_weight = float(loss_weight)
        self.bce_weight = float(bce_weight)
        self.eps = float(eps)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    @property
    def needs_dense_activations(self) -> bool:
        return self.bce_weight > 0

    def forward(self, pred: Tensor, target: Union[Tensor, LabelTargets],
                weight: Optional[Tensor] = None, valid_mask: Optional[Tensor] = None) -> Tensor:
        if isinstance(target, LabelTargets):
            return self._forward_labels(pred, target, weight, valid_mask)
        if target.shape != pred.shape:
            raise ValueError(f'CosineSimilarityLoss: pred {tuple(pred.shape)} vs target '
                             f'{tuple(target.shape)} (pass label maps as LabelTargets)')
        target = target.to(pred.dtype)
        if valid_mask is None:
            valid_mask = torch.ones(pred.shape[:1] + pred.shape[2:], dtype=torch.bool,
                                    device=pred.device)
        cos = F.cosine_similarity(pred, target, dim=1, eps=self.eps)
        return self._reduce(cos, pred, target, weight, valid_mask, None)

    def _forward_labels(self, pred: Tensor, targets: LabelTargets, weight, valid_mask):
        """Label-map targets without materialising N x K x H x W target vectors:
        cos = <a, v_y> / (|a| |v_y|) with <a, v_c> for all c as one K -> C contraction
        (or the head's ``dots`` / ``cos``), then gathered at the label."""
        label, vectors = targets.label.long(), targets.vectors.to(pred.dtype)
        if self.class_weight is not None:
            cw = pixel_class_weight(self.class_weight, label, len(vectors),
                                    'CosineSimilarityLoss').to(pred.dtype)
            weight = cw if weight is None else weight * cw
        valid = label != targets.ignore_index
        if valid_mask is not None:
            valid = valid & valid_mask
        idx = torch.where(valid, label, torch.zeros_like(label))
        if targets.label_cos is not None:  # the head computed each pixel's own cosine
            cos = targets.label_cos
        elif targets.cos is not None:  # the head computed cos(pred, v_c) for every class
            cos = targets.cos.gather(1, idx.unsqueeze(1)).squeeze(1)
        else:
            cos = label_cosine(pred, idx, vectors, targets.dots, self.eps)
        target = None
        if self.bce_weight > 0:
            target = vectors[idx].permute(0, 3, 1, 2)
        return self._reduce(cos, pred, target, weight, valid, targets.logits)

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


@MODELS.register_module()
class CategoryCrossEntropyLoss(PropertyLoss):
    """``loss_weight * mean_valid(w_y * CE(cos(pred, v_c) / temperature, y))``: softmax
    cross-entropy over the training categories' cosine scores (the scores inference takes the
    argmax of), so a pixel is pushed away from the categories whose property vectors are close
    to its own, which the cosine regression alone does not do. Used beside
    :class:`CosineSimilarityLoss` in a ``loss_decode`` list.

    Args:
        loss_weight: multiplier.
        temperature: T dividing the cosines (in [-1, 1]) before the softmax.
        class_weight: optional C per-category pixel weights (as ``CosineSimilarityLoss``).
        eps: norm clamp of the cosines.
        loss_name: key in the loss dict.

    ``forward(pred, targets)``: ``pred`` N x K x H x W activations at label resolution,
    ``targets`` a :class:`LabelTargets` with ``dots`` or ``cos`` (N x C x H x W; computed from
    ``pred`` when neither is given); mean over labelled pixels (0 when there are none).
    """

    needs_every_category = True

    def __init__(self, loss_weight: float = 1.0, temperature: float = 0.05,
                 class_weight: Optional[Sequence[float]] = None, eps: float = 1e-8,
                 loss_name: str = 'loss_category_ce'):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'CategoryCrossEntropyLoss: temperature must be > 0, '
                             f'got {temperature}')
        self.class_weight = check_class_weight(class_weight)
        self.loss_weight = float(loss_weight)
        self.temperature = float(temperature)
        self.eps = float(eps)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, pred: Tensor, targets: LabelTargets) -> Tensor:
        label, vectors = targets.label.long(), targets.vectors
        if targets.cos is not None:
            cos = targets.cos
        elif targets.label_cos is not None:
            raise ValueError('CategoryCrossEntropyLoss needs the cosine to every category, which '
                             "PropertyHead's loss_chunk_rows path does not compute; leave "
                             'loss_chunk_rows unset')
        else:
            cos = category_cosines(pred, vectors, targets.dots, self.eps)
        valid = label != targets.ignore_index
        idx = torch.where(valid, label, torch.zeros_like(label))
        ce = F.cross_entropy(cos / self.temperature, idx, reduction='none')
        w = valid.to(pred.dtype)
        if self.class_weight is not None:
            w = w * pixel_class_weight(self.class_weight, label, len(vectors),
                                       'CategoryCrossEntropyLoss').to(pred.dtype)
        return self.loss_weight * (ce * w).sum() / valid.sum().clamp_min(1).to(pred.dtype)
