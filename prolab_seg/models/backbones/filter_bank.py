"""Frozen, network-free colour + texture feature backbone (CPU stand-in for DINO).

No pretrained weights can be downloaded here, so unsupervised heads are trained on fixed,
hand-designed features: CIE-Lab colour plus the local energy of a Gabor / Laplacian-of-Gaussian
filter bank on the lightness channel. All filters are fixed buffers applied in ONE ``conv2d``
call; the module has no parameters, ignores ``train()`` and never needs gradients.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.registry import MODELS

# sRGB (D65) -> XYZ, and the D65 white point used to normalise XYZ before the Lab transform.
_RGB2XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                         [0.212671, 0.715160, 0.072169],
                         [0.019334, 0.119193, 0.950227]])
_D65_WHITE = torch.tensor([0.950456, 1.0, 1.088754])


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """Convert sRGB in [0, 1] (B×3×H×W) to CIE-Lab (B×3×H×W), L in [0, 100]."""
    lin = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055).pow(2.4), rgb / 12.92)
    xyz = torch.einsum('ij,bjhw->bihw', _RGB2XYZ.to(rgb), lin)
    xyz = xyz / _D65_WHITE.to(rgb).view(1, 3, 1, 1)
    eps = 216 / 24389
    f = torch.where(xyz > eps, xyz.clamp_min(eps).pow(1 / 3), (24389 / 27 * xyz + 16) / 116)
    lightness = 116 * f[:, 1] - 16
    a = 500 * (f[:, 0] - f[:, 1])
    b = 200 * (f[:, 1] - f[:, 2])
    return torch.stack([lightness, a, b], dim=1)


def _normalise(kernel: Tensor) -> Tensor:
    """Zero-mean, unit-L2 kernel so every filter's energy lives on the same scale."""
    kernel = kernel - kernel.mean()
    return kernel / kernel.norm().clamp_min(1e-12)


def make_filter_bank(wavelengths: Sequence[float], num_orientations: int,
                     log_sigmas: Sequence[float]) -> tuple[Tensor, int, int]:
    """Build the stacked filter bank.

    Returns:
        (weight, num_gabor, num_log): ``weight`` is F×1×k×k with F = 2·num_gabor + num_log;
        rows ``[0, num_gabor)`` are even (cosine) Gabor filters, rows ``[num_gabor, 2·num_gabor)``
        the matching odd (sine) ones, the last ``num_log`` rows LoG filters. Every filter is
        centred and zero-padded to the largest support k (odd).
    """
    # Gabor: sigma = 0.5·wavelength (about one octave of bandwidth); LoG: sigma as given.
    sigmas = [0.5 * w for w in wavelengths] + list(log_sigmas)
    half = int(math.ceil(3 * max(sigmas)))
    ys, xs = torch.meshgrid(torch.arange(-half, half + 1, dtype=torch.float64),
                            torch.arange(-half, half + 1, dtype=torch.float64), indexing='ij')
    even, odd, log = [], [], []
    for wavelength in wavelengths:
        sigma = 0.5 * wavelength
        envelope = torch.exp(-(xs**2 + ys**2) / (2 * sigma**2))
        for o in range(num_orientations):
            theta = math.pi * o / num_orientations
            phase = 2 * math.pi * (xs * math.cos(theta) + ys * math.sin(theta)) / wavelength
            even.append(_normalise(envelope * torch.cos(phase)))
            odd.append(_normalise(envelope * torch.sin(phase)))
    for sigma in log_sigmas:
        r2 = (xs**2 + ys**2) / (2 * sigma**2)
        log.append(_normalise((r2 - 1) * torch.exp(-r2)))
    weight = torch.stack(even + odd + log).unsqueeze(1).float()
    return weight, len(even), len(log)


@MODELS.register_module()
class FilterBankBackbone(BaseModule):
    """Fixed colour + filter-bank texture features, shaped like a backbone's last stage.

    Per pixel: Lab colour (L/100, a/100, b/100) and, on the lightness channel, the quadrature
    energy ``sqrt(even² + odd²)`` of Gabor filters (``len(wavelengths)`` scales ×
    ``num_orientations`` orientations) and the rectified LoG response ``|LoG_σ|``; energies are
    ``log1p``-compressed. Everything is then average-pooled over a 2s×2s window with stride s
    (local energy pooling), giving B×C×H/s×W/s, C = 3 + len(wavelengths)·num_orientations +
    len(log_sigmas) (14 by default).

    Args:
        stride: Output stride s (the image size must be divisible by it).
        wavelengths: Gabor wavelengths in pixels.
        num_orientations: Gabor orientations in [0, π).
        log_sigmas: LoG scales in pixels.
        mean, std: The data preprocessor's normalisation, undone here so the backbone sees
            RGB in [0, 255] (use ``bgr_to_rgb=True`` in the preprocessor). Defaults: identity.
        init_cfg: Unused (no parameters); kept for the mmengine ``BaseModule`` interface.
    """

    def __init__(self,
                 stride: int = 4,
                 wavelengths: Sequence[float] = (4.0, 8.0),
                 num_orientations: int = 4,
                 log_sigmas: Sequence[float] = (1.0, 2.0, 4.0),
                 mean: Sequence[float] = (0.0, 0.0, 0.0),
                 std: Sequence[float] = (1.0, 1.0, 1.0),
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.stride = stride
        weight, self.num_gabor, self.num_log = make_filter_bank(wavelengths, num_orientations,
                                                                log_sigmas)
        self.register_buffer('filters', weight, persistent=False)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)
        self.out_channels = 3 + self.num_gabor + self.num_log

    def train(self, mode: bool = True) -> 'FilterBankBackbone':
        """Frozen: always stays in eval mode (there is nothing to train)."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, inputs: Tensor) -> tuple[Tensor]:
        """Compute features.

        Args:
            inputs: B×3×H×W images as produced by the data preprocessor (see ``mean``/``std``).

        Returns:
            One-element tuple with the B×C×(H/s)×(W/s) float32 feature map.
        """
        rgb = (inputs.float() * self.std + self.mean).clamp(0, 255) / 255.0
        lab = rgb_to_lab(rgb) / 100.0
        pad = self.filters.shape[-1] // 2
        lightness = F.pad(lab[:, :1], (pad, pad, pad, pad), mode='reflect')
        resp = F.conv2d(lightness, self.filters)
        g = self.num_gabor
        gabor = (resp[:, :g]**2 + resp[:, g:2 * g]**2).sqrt()
        energy = torch.log1p(torch.cat([gabor, resp[:, 2 * g:].abs()], dim=1))
        feats = torch.cat([lab, energy], dim=1)
        s = self.stride
        if s > 1:
            feats = F.avg_pool2d(feats, kernel_size=2 * s, stride=s, padding=s // 2,
                                 count_include_pad=False)
        return (feats, )
