"""Render property-world scenes: an RGB image and its label map, deterministic under a seed.

A scene is one or two "stuff" regions (a top and a bottom one split by a wavy horizon, placed
per each category's ``position``) and then a few "things" (round, square or elongated bodies
with the category's ``parts``, see :mod:`.shapes`; sized per ``size``) that may occlude each
other. Unseen categories are drawn only in the held-out splits (``UNSEEN_SPLITS``): a fixed
share of their images (``unseen_ratio``) gets one, cycling through them. ``calib`` is a second held-out split for choosing inference settings
(never the reported ``val``); ``train_all`` is ``train`` with unseen categories too, only for a
supervised upper bound.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .shapes import PART_COLORS, SILHOUETTES
from .spec import Category
from .textures import render_solid, render_texture

SPLITS = ('train', 'val', 'calib', 'train_all')
#: Splits whose images may hold an unseen category.
UNSEEN_SPLITS = ('val', 'calib', 'train_all')
#: Thing radius range per ``size``, as a fraction of the image side (no v1/v2 thing is large).
SIZE_RANGES = dict(small=(0.07, 0.10), medium=(0.11, 0.16), large=(0.17, 0.21))
#: Vertical range of a thing's centre per ``position``, as a fraction of the image side.
POSITION_RANGES = dict(top=(0.12, 0.4), bottom=(0.6, 0.88), any=(0.15, 0.85))
#: Rotation range of a thing (radians) per ``parts``, else per ``shape``: fruit stand upright,
#: vehicles on their wheels.
ANGLE_RANGES = dict(round=(0, np.pi), square=(-0.26, 0.26), elongated=(-0.5, 0.5),
                    stem_leaf=(-0.3, 0.3), wheels=(-0.12, 0.12))


@dataclass(frozen=True)
class Scene:
    """A rendered scene: ``image`` uint8 [H, W, 3] RGB, ``label`` uint8 [H, W] category ids."""
    image: np.ndarray
    label: np.ndarray


class PropertyWorldGenerator:
    """Draws scenes from a validated category list (see :func:`~.spec.load_spec`).

    Args:
        categories: Spec categories; a category's label id is its index here.
        size: Image height and width in pixels.
        num_things: Inclusive range of seen thing blobs per image.
        two_stuff_prob: Probability of a top + bottom stuff layout (else one stuff region).
        unseen_ratio: Share of held-out images that contain one unseen category.
        thing_scale: Multiplies every thing's radius (``SIZE_RANGES``).
    """

    def __init__(self, categories: list[Category], size: int = 64,
                 num_things: tuple[int, int] = (1, 3), two_stuff_prob: float = 0.7,
                 unseen_ratio: float = 0.5, thing_scale: float = 1.0) -> None:
        if size < 16:
            raise ValueError(f'size must be at least 16 pixels, got {size}')
        if not 0 <= num_things[0] <= num_things[1]:
            raise ValueError(f'num_things must be an increasing (min, max) pair, got {num_things}')
        if not 0 <= unseen_ratio <= 1:
            raise ValueError(f'unseen_ratio must be in [0, 1], got {unseen_ratio}')
        self.categories = list(categories)
        self.size = size
        self.scale = size / 64
        self.num_things = num_things
        self.two_stuff_prob = two_stuff_prob
        self.unseen_ratio = unseen_ratio
        self.thing_scale = thing_scale
        seen = [i for i, c in enumerate(self.categories) if c.seen]
        self.seen_stuff = [i for i in seen if self.categories[i].is_stuff]
        self.seen_things = [i for i in seen if not self.categories[i].is_stuff]
        self.unseen = [i for i, c in enumerate(self.categories) if not c.seen]
        self._yy, self._xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5

    def unseen_for(self, index: int) -> int | None:
        """The unseen category id drawn into val image ``index``, or None."""
        r = self.unseen_ratio
        if not self.unseen or int((index + 1) * r) == int(index * r):
            return None
        return self.unseen[int(index * r) % len(self.unseen)]

    def sample(self, split: str, index: int, seed: int = 0) -> Scene:
        """Scene ``index`` of ``split``; depends only on (seed, split, index)."""
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        rng = np.random.default_rng([seed, SPLITS.index(split), index])
        return self.render(rng, self.unseen_for(index) if split in UNSEEN_SPLITS else None)

    def render(self, rng: np.random.Generator, extra: int | None = None) -> Scene:
        """Draw a scene of seen categories, plus category ``extra`` (any id) if given."""
        image = np.zeros((self.size, self.size, 3), np.uint8)
        label = np.zeros((self.size, self.size), np.uint8)
        forced_stuff = extra if extra is not None and self.categories[extra].is_stuff else None
        for cat_id, mask in self._stuff_layers(rng, forced_stuff):
            u, v = self._local(self.size / 2, self.size / 2, rng.uniform(-0.3, 0.3))
            self._paint(image, label, mask, cat_id, rng, u, v)
        lo, hi = self.num_things
        count = min(int(rng.integers(lo, hi + 1)), len(self.seen_things))
        things = list(rng.choice(self.seen_things, count, replace=False)) if count else []
        if extra is not None and forced_stuff is None:
            things.append(extra)  # drawn last: an unseen object is never fully hidden
        for cat_id in things:
            self._draw_thing(image, label, int(cat_id), rng)
        return Scene(image, label)

    def _stuff_layers(self, rng: np.random.Generator,
                      forced: int | None) -> list[tuple[int, np.ndarray]]:
        cats = self.categories
        full = np.ones((self.size, self.size), bool)
        if rng.random() >= self.two_stuff_prob:
            return [(forced if forced is not None else int(rng.choice(self.seen_stuff)), full)]
        top_pool = [i for i in self.seen_stuff if cats[i].position != 'bottom']
        bottom_pool = [i for i in self.seen_stuff if cats[i].position != 'top']
        if forced is not None:
            at_top = cats[forced].position == 'top' or (
                cats[forced].position == 'any' and rng.random() < 0.5)
            top_pool, bottom_pool = ([forced], bottom_pool) if at_top else (top_pool, [forced])
        top = int(rng.choice(top_pool)) if top_pool else None
        bottom_pool = [i for i in bottom_pool if i != top]
        bottom = int(rng.choice(bottom_pool)) if bottom_pool else None
        if top is None or bottom is None:
            return [(top if bottom is None else bottom, full)]
        return [(bottom, full), (top, self._yy < self._horizon(rng)[None, :])]

    def _horizon(self, rng: np.random.Generator) -> np.ndarray:
        """Wavy boundary height per column: a slow swell plus a faster ripple."""
        s, x = self.size, self._xx[0]
        y = np.full(s, s * rng.uniform(0.3, 0.6), np.float32)
        for amp, wavelength in (((0.02, 0.07), (0.5, 1.2)), ((0.005, 0.02), (0.1, 0.25))):
            y += s * rng.uniform(*amp) * np.sin(
                2 * np.pi * x / (s * rng.uniform(*wavelength)) + rng.uniform(0, 2 * np.pi))
        return y

    def _draw_thing(self, image: np.ndarray, label: np.ndarray, cat_id: int,
                    rng: np.random.Generator) -> None:
        cat = self.categories[cat_id]
        s = self.size
        r = s * self.thing_scale * rng.uniform(*SIZE_RANGES[cat.size])
        cx = s * rng.uniform(0.12, 0.88)
        cy = s * rng.uniform(*POSITION_RANGES[cat.position])
        angle = rng.uniform(*ANGLE_RANGES.get(cat.parts, ANGLE_RANGES[cat.shape]))
        u, v = self._local(cx, cy, angle)
        masks = SILHOUETTES[cat.shape, cat.parts](u, v, r, rng)
        textured = np.zeros(u.shape, bool)
        for name, mask in masks.items():
            if name not in PART_COLORS:
                textured |= mask
        self._paint(image, label, textured, cat_id, rng, u, v)
        for name, mask in masks.items():
            if name in PART_COLORS and mask.any():
                image[mask] = render_solid(PART_COLORS[name], int(mask.sum()), rng)
                label[mask] = cat_id

    def _local(self, cx: float, cy: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = self._xx - cx, self._yy - cy
        c, s = np.cos(angle), np.sin(angle)
        return dx * c + dy * s, -dx * s + dy * c

    def _paint(self, image: np.ndarray, label: np.ndarray, mask: np.ndarray, cat_id: int,
               rng: np.random.Generator, u: np.ndarray, v: np.ndarray) -> None:
        """Texture the ``mask`` pixels (``u, v``: their coordinates in the layer's frame)."""
        if not mask.any():
            return
        image[mask] = render_texture(self.categories[cat_id], u[mask], v[mask], rng, self.scale)
        label[mask] = cat_id
