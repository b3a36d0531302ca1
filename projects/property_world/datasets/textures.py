"""Procedural textures for property-world categories.

Each texture colours a set of pixels given their coordinates ``u, v`` (1-D float arrays, in
pixels, in the object's own rotated frame) so patterns follow the object they cover. ``scale`` is
``image_size / 64``: patterns keep the same look at every image size. Colours and pattern
parameters are jittered per instance so that no category is one exact colour.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

from .spec import Category

Pixels = np.ndarray  # float32 [N, 3] in 0..255
Color = np.ndarray  # float32 [3]


def jitter_color(color: tuple[int, int, int], rng: np.random.Generator) -> Color:
    """Base colour with random brightness (x0.85..1.15) and per-channel offsets (sigma 8)."""
    c = np.asarray(color, np.float32) * rng.uniform(0.85, 1.15) + rng.normal(0, 8, 3)
    return np.clip(c, 0, 255).astype(np.float32)


def _mix(c1: Color, c2: Color, t: np.ndarray) -> Pixels:
    return c1[None] * (1 - t[:, None]) + c2[None] * t[:, None]


def _noise(n: int, rng: np.random.Generator, sigma: float) -> Pixels:
    return rng.normal(0, sigma, (n, 3)).astype(np.float32)


def _smooth(u: np.ndarray, v: np.ndarray, c1: Color, c2: Color,
            rng: np.random.Generator, scale: float) -> Pixels:
    angle = rng.uniform(0, 2 * np.pi)
    shade = 1 + rng.uniform(-0.15, 0.15) * (u * np.cos(angle) + v * np.sin(angle)) / (32 * scale)
    return c1[None] * shade[:, None] + _noise(len(u), rng, 3)


def _grainy(u: np.ndarray, v: np.ndarray, c1: Color, c2: Color,
            rng: np.random.Generator, scale: float) -> Pixels:
    luminance = 1 + rng.normal(0, 0.12, len(u))
    return c1[None] * luminance[:, None] + _noise(len(u), rng, 6)


def _wavy(u: np.ndarray, v: np.ndarray, c1: Color, c2: Color,
          rng: np.random.Generator, scale: float) -> Pixels:
    period, wobble = rng.uniform(7, 11) * scale, rng.uniform(1.5, 3) * scale
    wobble_period = rng.uniform(14, 24) * scale
    phase = v + wobble * np.sin(2 * np.pi * u / wobble_period + rng.uniform(0, 2 * np.pi))
    t = 0.5 + 0.5 * np.sin(2 * np.pi * phase / period + rng.uniform(0, 2 * np.pi))
    return _mix(c1, c2, t) + _noise(len(u), rng, 4)


def _striped(u: np.ndarray, v: np.ndarray, c1: Color, c2: Color,
             rng: np.random.Generator, scale: float) -> Pixels:
    period, duty = rng.uniform(5, 8) * scale, rng.uniform(0.4, 0.6)
    angle = rng.uniform(-0.35, 0.35)
    across = u * np.cos(angle) + v * np.sin(angle)
    along = -u * np.sin(angle) + v * np.cos(angle)
    across = across + rng.uniform(0.3, 1.0) * scale * np.sin(
        2 * np.pi * along / (rng.uniform(10, 20) * scale))
    t = (np.mod(across + rng.uniform(0, period), period) < duty * period).astype(np.float32)
    return _mix(c1, c2, t) + _noise(len(u), rng, 4)


def _dotted(u: np.ndarray, v: np.ndarray, c1: Color, c2: Color,
            rng: np.random.Generator, scale: float) -> Pixels:
    cell = rng.uniform(4.5, 6.5) * scale
    iu, iv = np.floor(u / cell).astype(int), np.floor(v / cell).astype(int)
    iu, iv = iu - iu.min(), iv - iv.min()
    shape = (iu.max() + 1, iv.max() + 1)
    radius = cell * rng.uniform(0.2, 0.32, shape)
    cu = rng.uniform(radius, cell - radius)
    cv = rng.uniform(radius, cell - radius)
    du = np.mod(u, cell) - cu[iu, iv]
    dv = np.mod(v, cell) - cv[iu, iv]
    t = (du**2 + dv**2 <= radius[iu, iv]**2).astype(np.float32)
    return _mix(c1, c2, t) + _noise(len(u), rng, 4)


def _checkered(u: np.ndarray, v: np.ndarray, c1: Color, c2: Color,
               rng: np.random.Generator, scale: float) -> Pixels:
    cell = rng.uniform(4, 6) * scale
    ou, ov = rng.uniform(0, cell, 2)
    t = np.mod(np.floor((u + ou) / cell) + np.floor((v + ov) / cell), 2).astype(np.float32)
    return _mix(c1, c2, t) + _noise(len(u), rng, 3)


@lru_cache(maxsize=None)
def _photo(name: str, scale: float) -> np.ndarray:
    """scikit-image's bundled grey photo, zoomed to ``scale / 4`` and standardised."""
    import skimage.data
    from skimage.transform import rescale

    photo = getattr(skimage.data, name)().astype(np.float32)
    photo = rescale(photo, scale / 4, anti_aliasing=scale < 4, preserve_range=True)
    return ((photo - photo.mean()) / photo.std()).astype(np.float32)


def _reflect(x: np.ndarray, n: int) -> np.ndarray:
    x = np.mod(x, 2 * n)
    return np.where(x < n, x, 2 * n - 1 - x)


def _photo_texture(name: str, contrast: float) -> Callable[..., Pixels]:
    def texture(u: np.ndarray, v: np.ndarray, c1: Color, c2: Color,
                rng: np.random.Generator, scale: float) -> Pixels:
        photo = _photo(name, scale)
        h, w = photo.shape
        rows = _reflect(np.round(v + rng.uniform(0, h)).astype(int), h)
        cols = _reflect(np.round(u + rng.uniform(0, w)).astype(int), w)
        g = photo[rows, cols] * contrast
        return c1[None] * (1 + g[:, None]) + _noise(len(u), rng, 2)
    return texture


_TEXTURES = dict(
    smooth=_smooth,
    grainy=_grainy,
    wavy=_wavy,
    striped=_striped,
    dotted=_dotted,
    checkered=_checkered,
    brick=_photo_texture('brick', 0.35),
    gravel=_photo_texture('gravel', 0.3),
    grass=_photo_texture('grass', 0.3),
)


def render_texture(category: Category, u: np.ndarray, v: np.ndarray,
                   rng: np.random.Generator, scale: float) -> np.ndarray:
    """Colour the pixels at ``u, v`` with ``category``'s texture; returns uint8 [N, 3]."""
    c1 = jitter_color(category.color, rng)
    c2 = c1 if category.secondary_color is None else jitter_color(category.secondary_color, rng)
    pixels = _TEXTURES[category.texture](u, v, c1, c2, rng, scale)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def render_solid(color: tuple[int, int, int], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` pixels of ``color`` at a random brightness (x0.85..1.15, hue kept) with a little
    noise: a part drawn in a fixed colour, e.g. a wheel; returns uint8 [N, 3]."""
    pixels = np.asarray(color, np.float32)[None] * rng.uniform(0.85, 1.15) + _noise(n, rng, 4)
    return np.clip(pixels, 0, 255).astype(np.uint8)
