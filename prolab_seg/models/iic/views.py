"""Second views for IIC: photometric jitter plus a known affine transform, and its inverse.

Geometric transforms are affine maps of normalised coordinates (``F.affine_grid`` convention,
``align_corners=False``), so one ``theta`` applies to the image and to any lower-resolution
output map. View 2 is ``x2(u) = x(A u + t)``; an output of view 2 is brought back onto view 1's
grid by sampling it at ``A^-1 (v - t)``, valid only where that point lies inside view 2.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


def warp(x: Tensor, theta: Tensor, padding_mode: str = 'zeros') -> Tensor:
    """Sample B x C x H x W ``x`` at ``theta`` (B x 2 x 3) applied to the output grid."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode='bilinear', padding_mode=padding_mode,
                         align_corners=False)


def invert_affine(theta: Tensor) -> Tensor:
    """Inverse of B x 2 x 3 affine maps ``u -> A u + t``: ``v -> A^-1 v - A^-1 t``."""
    a_inv = torch.linalg.inv(theta[:, :, :2])
    return torch.cat([a_inv, -a_inv @ theta[:, :, 2:]], dim=2)


def align_to_first_view(outputs: Tensor, theta: Tensor) -> tuple[Tensor, Tensor]:
    """Map outputs of view 2 (B x C x h x w) back onto view 1's grid.

    Args:
        outputs: maps computed on view 2 = ``warp(x, theta)``.
        theta: B x 2 x 3 transform that made view 2.

    Returns:
        aligned B x C x h x w maps and a B x h x w float mask, 1 where the pixel of view 1 was
        fully inside view 2 (0 elsewhere, e.g. the strip uncovered by a shift).
    """
    inv = invert_affine(theta)
    ones = outputs.new_ones(outputs.shape[0], 1, *outputs.shape[2:])
    mask = (warp(ones, inv) > 1 - 1e-3).to(outputs.dtype)[:, 0]
    return warp(outputs, inv), mask


@MODELS.register_module()
class IICViews(nn.Module):
    """Random second view of a normalised batch: photometric jitter + flip/shift/scale.

    Args:
        flip_prob: probability of a horizontal flip.
        max_shift: largest translation, as a fraction of the image side.
        scale_range: (min, max) zoom factor; > 1 crops and enlarges (crop-scale).
        brightness: largest additive shift (in normalised units, per image).
        contrast: largest relative contrast change (per image).
        color: largest per-channel gain change (per image and channel).
    """

    def __init__(self, flip_prob: float = 0.5, max_shift: float = 0.1,
                 scale_range: tuple[float, float] = (1.0, 1.25), brightness: float = 0.1,
                 contrast: float = 0.1, color: float = 0.05) -> None:
        super().__init__()
        self.flip_prob = flip_prob
        self.max_shift = max_shift
        self.scale_range = tuple(scale_range)
        self.brightness = brightness
        self.contrast = contrast
        self.color = color

    def sample_theta(self, batch: int, device: torch.device) -> Tensor:
        """B x 2 x 3 random maps: zoom ``s``, flip sign ``f``, shift ``t`` (normalised units)."""
        lo, hi = self.scale_range
        scale = lo + (hi - lo) * torch.rand(batch, device=device)
        flip = torch.where(torch.rand(batch, device=device) < self.flip_prob, -1.0, 1.0)
        shift = (2 * torch.rand(batch, 2, device=device) - 1) * 2 * self.max_shift
        theta = torch.zeros(batch, 2, 3, device=device)
        theta[:, 0, 0] = flip / scale
        theta[:, 1, 1] = 1 / scale
        theta[:, :, 2] = shift
        return theta

    def jitter(self, x: Tensor) -> Tensor:
        """Photometric jitter of B x C x H x W normalised images (contrast, brightness, colour)."""
        b, c = x.shape[:2]
        rand = lambda *shape: 2 * torch.rand(*shape, 1, 1, device=x.device) - 1  # noqa: E731
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        gain = (1 + self.contrast * rand(b, 1)) * (1 + self.color * rand(b, c))
        return (x - mean) * gain + mean + self.brightness * rand(b, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Second view (B x C x H x W) of ``x`` and the B x 2 x 3 ``theta`` that made it."""
        theta = self.sample_theta(x.shape[0], x.device)
        return warp(self.jitter(x), theta, padding_mode='border'), theta
