"""The label-resolution property cosine in chunks of label rows, never storing K x H x W maps.

``PropertyHead(loss_chunk_rows=R)`` computes what its default label-resolution loss computes --
the K property logits bilinearly resized to the label map, ``sigmoid(logits / T)``, each pixel's
cosine to its category vector -- R label rows at a time. The resize is separable, so the rows
``[r0, r1)`` of the resized logits are ``A_h[r0:r1] @ X @ A_w^T`` with the 1-D interpolation
matrices ``F.interpolate`` applies (:func:`interpolation_matrix`). Each chunk runs under
``torch.utils.checkpoint``: backward recomputes it, so only the N x K x h x w input and the
N x H x W cosines are kept, instead of several N x K x H x W and N x C x H x W tensors.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from .loss import label_cosine


def interpolation_matrix(n_in: int, n_out: int, align_corners: bool, like: Tensor) -> Tensor:
    """``[n_out, n_in]`` weights of 1-D linear interpolation, as ``F.interpolate(...,
    mode='bilinear')`` applies them along one axis (dtype and device of ``like``)."""
    eye = torch.eye(n_in, dtype=like.dtype, device=like.device).view(1, n_in, n_in, 1)
    return F.interpolate(eye, size=(n_out, 1), mode='bilinear',
                         align_corners=align_corners)[0, :, :, 0].T


def _chunk(logits: Tensor, rows: Tensor, cols: Tensor, idx: Tensor, vectors: Tensor,
           temperature: float) -> tuple[Tensor, Tensor]:
    """Label rows of one chunk: cosine to the pixel's category (N x r x W, differentiable) and
    the best-matching category (argmax of ``<a, v_c> / |v_c|``, N x r x W)."""
    act = torch.sigmoid(torch.einsum('rh,nkhw,Ww->nkrW', rows, logits, cols) / temperature)
    dots = F.conv2d(act, vectors[:, :, None, None])
    best = (dots / vectors.norm(dim=1).clamp_min(1e-8).view(1, -1, 1, 1)).argmax(1)
    return label_cosine(act, idx, vectors, dots), best


def label_resolution_cosine(seg_logits: Tensor, label: Tensor, vectors: Tensor,
                            temperature: float, align_corners: bool, ignore_index: int,
                            chunk_rows: int) -> tuple[Tensor, Tensor]:
    """Each label pixel's cosine to its category vector, chunked over label rows.

    Args:
        seg_logits: N x K x h x w property logits (feature resolution).
        label: N x H x W category indices (``ignore_index`` where unlabelled).
        vectors: C x K category vectors.
    Returns:
        N x H x W cosines (ignored pixels: to category 0, to be masked by the loss) and the
        N x H x W best-matching category per pixel (for ``acc_seg``).
    """
    (h, w), (H, W) = seg_logits.shape[2:], label.shape[1:]
    vectors = vectors.to(seg_logits.dtype)
    a_h = interpolation_matrix(h, H, align_corners, seg_logits)
    a_w = interpolation_matrix(w, W, align_corners, seg_logits)
    idx = torch.where(label == ignore_index, torch.zeros_like(label), label)
    cos, best = [], []
    for r0 in range(0, H, chunk_rows):
        c, b = checkpoint(_chunk, seg_logits, a_h[r0:r0 + chunk_rows], a_w,
                          idx[:, r0:r0 + chunk_rows], vectors, temperature, use_reentrant=False)
        cos.append(c)
        best.append(b)
    return torch.cat(cos, 1), torch.cat(best, 1)
