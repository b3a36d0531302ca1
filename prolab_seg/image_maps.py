"""Per-pixel maps kept at the resolution a segmentor outputs them, brought to the image size a
few channels at a time.

:func:`~prolab_seg.apis.inference.predict` stores a model's maps (category scores, property
activations) as ``PixelData`` at the model's output resolution, with metainfo ``resize``: the
steps mmseg applies to bring them to the image (:func:`resize_plan`). A C-channel map of a
4000x4000 image is 64 MB per channel, so image-size quantities are computed channel group by
channel group (:func:`iter_image_maps`, within ``MAP_BUDGET`` bytes; all channels at once when
they fit, which is then exactly mmseg's post-processing): the label map (:func:`argmax_labels`)
and per-label means (:func:`mean_by_label`). :func:`labels_out_of_range` finds the values of a
label map that are neither class indices nor the ignore index.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import torch
from mmengine.structures import PixelData
from mmseg.models.utils import resize

#: Bytes of image-size float maps computed at once.
MAP_BUDGET = 128 * 2**20


def resize_plan(meta: dict, pre_size: Sequence[int] | None, pre_align: bool,
                align_corners: bool) -> dict:
    """How maps reach the image of data sample ``meta``, as in mmseg: resize to ``pre_size``
    (the decode head's ``predict_by_feat``; None: already there), remove the padding, undo the
    flip, resize to ``ori_shape`` (the segmentor's ``postprocess_result``)."""
    padding = meta.get('img_padding_size', meta.get('padding_size', [0] * 4))
    return dict(pre_size=None if pre_size is None else tuple(pre_size), pre_align=pre_align,
                padding=list(padding), flip=meta.get('flip_direction') if meta.get('flip')
                else None, size=tuple(meta['ori_shape'][:2]), align_corners=align_corners)


def _apply_plan(maps: torch.Tensor, plan: dict, size: Sequence[int]) -> torch.Tensor:
    """``[c, h, w]`` maps -> ``[c, *size]`` through ``plan`` (its last resize to ``size``)."""
    x = maps[None]
    if plan['pre_size'] is not None:
        x = resize(x, size=plan['pre_size'], mode='bilinear', align_corners=plan['pre_align'])
    left, right, top, bottom = plan['padding']
    x = x[:, :, top:x.shape[2] - bottom, left:x.shape[3] - right]
    if plan['flip'] == 'horizontal':
        x = x.flip(dims=(3, ))
    elif plan['flip'] == 'vertical':
        x = x.flip(dims=(2, ))
    return resize(x, size=tuple(size), mode='bilinear', align_corners=plan['align_corners'],
                  warning=False)[0]


def iter_image_maps(maps: PixelData, size: Sequence[int] | None = None
                    ) -> Iterator[tuple[int, torch.Tensor]]:
    """``(first channel, [g, H, W])``: consecutive channel groups of ``maps`` at the image size
    (or ``size``), each within ``MAP_BUDGET`` bytes. Maps without a ``resize`` plan are taken to
    be at the image size already."""
    plan = maps.metainfo.get('resize')
    if plan is None:
        x = maps.data
        if size is not None and tuple(size) != tuple(x.shape[1:]):
            x = resize(x[None], size=tuple(size), mode='bilinear', align_corners=False)[0]
        yield 0, x
        return
    H, W = plan['size'] if size is None else size
    h, w = plan['pre_size'] or maps.data.shape[1:]
    step = max(1, MAP_BUDGET // (4 * (H * W + h * w)))
    for c0 in range(0, maps.data.shape[0], step):
        yield c0, _apply_plan(maps.data[c0:c0 + step], plan, (H, W))


def image_maps(maps: PixelData, size: Sequence[int] | None = None) -> torch.Tensor:
    """All channels of ``maps`` at the image size (or ``size``), ``[c, H, W]``: for small
    images or sizes."""
    return torch.cat([x for _, x in iter_image_maps(maps, size)])


def argmax_labels(maps: PixelData, threshold: float | None = None) -> torch.Tensor:
    """``[1, H, W]`` index of the largest channel at each image pixel (the first maximum wins,
    as ``argmax``), group by group; a one-channel map gives ``sigmoid > threshold`` (float),
    as mmseg's ``postprocess_result``."""
    best = index = None
    for c0, x in iter_image_maps(maps):
        if maps.data.shape[0] == 1:
            return (x.sigmoid() > threshold).to(x)
        for c, channel in enumerate(x, c0):
            if best is None:
                best, index = channel.clone(), torch.zeros_like(channel, dtype=torch.long)
            else:
                better = channel > best
                torch.maximum(best, channel, out=best)
                index.masked_fill_(better, c)
    return index[None]


def mean_by_label(maps: PixelData, labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """``[num_labels, c]``: the mean of each channel of ``maps`` at the image size over the
    pixels of each label (``labels``: ``[H, W]``, any device; values outside
    ``[0, num_labels)`` are left out; NaN for a label without pixels)."""
    flat = labels.reshape(-1).long().to(maps.data.device)
    keep = (flat >= 0) & (flat < num_labels)
    every = bool(keep.all())
    idx = flat if every else flat[keep]
    counts = torch.bincount(idx, minlength=num_labels).double()
    sums = []
    for _, x in iter_image_maps(maps):
        for row in x.reshape(x.shape[0], -1):
            sums.append(torch.bincount(idx, weights=(row if every else row[keep]).double(),
                                       minlength=num_labels))
    return (torch.stack(sums, 1) / counts[:, None]).float()


def labels_out_of_range(labels: torch.Tensor, num_classes: int,
                        ignore_index: int | None = None) -> list[int]:
    """Sorted distinct values of the label map ``labels`` (any shape) that are neither class
    indices ``0..num_classes-1`` nor ``ignore_index`` (if given); empty when all are valid."""
    bad = (labels < 0) | (labels >= num_classes)
    if ignore_index is not None:
        bad &= labels != ignore_index
    return torch.unique(labels[bad]).tolist()
