"""Feed an mmseg backbone inputs prepared differently from what it was trained on."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.registry import MODELS


@MODELS.register_module()
class InputAdapter(BaseModule):
    """Any mmseg backbone behind an input resize and, optionally, a normalisation.

    ``B×3×H×W`` inputs are normalised ``(x - mean) / std`` (when ``mean`` is given: e.g. RGB
    0..255 images, as :class:`FilterBankBackbone` takes them, for an ImageNet network), then
    resized by ``scale_factor`` (bilinear; e.g. 64 px images to the 128 px an ImageNet backbone
    needs), then passed to ``backbone``. Returns the backbone's outputs as a tuple (mmseg's
    ``MobileNetV2`` returns a bare tensor for one output index). ``init_weights`` initialises
    the backbone (its ``init_cfg``, e.g. ``offline://mobilenet_v2``).

    Args:
        backbone: Config of the wrapped backbone.
        scale_factor: Input resize factor (1: none).
        mean, std: Per-channel normalisation; None: inputs are passed as they are.
    """

    def __init__(self, backbone: dict, scale_factor: float = 1.0,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg)
        if (mean is None) != (std is None):
            raise ValueError('InputAdapter: give both mean and std, or neither')
        self.backbone = MODELS.build(backbone)
        self.scale_factor = scale_factor
        self.normalise = mean is not None
        if self.normalise:
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1),
                                 persistent=False)
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1),
                                 persistent=False)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        if self.normalise:
            x = (x - self.mean) / self.std
        if self.scale_factor != 1:
            x = F.interpolate(x, scale_factor=self.scale_factor, mode='bilinear',
                              align_corners=False)
        out = self.backbone(x)
        return tuple(out) if isinstance(out, (tuple, list)) else (out, )
