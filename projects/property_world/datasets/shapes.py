"""Thing silhouettes: a category's body and parts as boolean masks in the thing's own frame.

Every function takes ``u, v`` (float32 [H, W]: each pixel's coordinates in the thing's rotated
frame, origin at its centre, ``v`` pointing down), the thing's radius ``r`` in pixels and the
scene's random generator, and returns ``{part name: bool [H, W] mask}`` in drawing order (a
later mask is painted over an earlier one). Parts named in ``PART_COLORS`` are painted in that
colour (wheels, windows, stem, leaf); the others carry the category's texture. Every part
pixel belongs to the category's label.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Masks = dict[str, np.ndarray]
#: Fixed colours of the parts not drawn in the category's texture.
PART_COLORS = dict(wheels=(35, 35, 38), windows=(95, 120, 150), stem=(110, 70, 35),
                   leaf=(55, 145, 45))


def _triangle(u: np.ndarray, v: np.ndarray, *corners: tuple[float, float]) -> np.ndarray:
    """Pixels inside the triangle with the given ``(u, v)`` corners (any winding)."""
    sides = []
    for (u0, v0), (u1, v1) in zip(corners, corners[1:] + corners[:1]):
        sides.append((u1 - u0) * (v - v0) - (v1 - v0) * (u - u0))
    return (((sides[0] >= 0) & (sides[1] >= 0) & (sides[2] >= 0))
            | ((sides[0] <= 0) & (sides[1] <= 0) & (sides[2] <= 0)))


def round_body(u: np.ndarray, v: np.ndarray, r: float, rng: np.random.Generator) -> Masks:
    """Ellipse with semi-axes ``r`` x 0.85..1.15."""
    a, b = r * rng.uniform(0.85, 1.15, 2)
    return dict(body=(u / a)**2 + (v / b)**2 <= 1)


def square_body(u: np.ndarray, v: np.ndarray, r: float, rng: np.random.Generator) -> Masks:
    """Square of half side ``0.9 r``."""
    half = 0.9 * r
    return dict(body=(np.abs(u) <= half) & (np.abs(v) <= half))


def legged_body(u: np.ndarray, v: np.ndarray, r: float, rng: np.random.Generator) -> Masks:
    """Animal: long body ellipse, a head at one end and four legs below (the v1/v2 body)."""
    a = r * rng.uniform(1.3, 1.6)
    b = a / rng.uniform(2.2, 2.8)
    side = rng.choice((-1.0, 1.0))
    head = 0.75 * b
    leg_w, leg_bottom = max(0.6, 0.2 * b), 1.9 * b
    legs = np.zeros(u.shape, bool)
    for x in (-0.65, -0.4, 0.4, 0.65):
        legs |= (np.abs(u - x * a) <= leg_w) & (v >= 0) & (v <= leg_bottom)
    return dict(body=(u / a)**2 + (v / b)**2 <= 1,
                head=(u - side * a)**2 + (v + 0.6 * b)**2 <= head**2, legs=legs)


def legless_body(u: np.ndarray, v: np.ndarray, r: float, rng: np.random.Generator) -> Masks:
    """Legless body (snake, eel, banana): long, tapered to both ends, bent and/or wavy."""
    a = r * rng.uniform(1.7, 2.1)
    b = a * rng.uniform(0.16, 0.22)
    bend = rng.uniform(-0.35, 0.35)
    wave = b * rng.uniform(0, 1.2)
    centre = (bend * (u**2 - a**2 / 3) / a
              + wave * np.sin(2 * np.pi * u / (a * rng.uniform(2.2, 3.2))
                              + rng.uniform(0, 2 * np.pi)))
    half = b * np.clip(1 - (u / a)**2, 0, None)**0.6
    return dict(body=(np.abs(u) <= a) & (np.abs(v - centre) <= half))


def fish_body(u: np.ndarray, v: np.ndarray, r: float, rng: np.random.Generator) -> Masks:
    """Fish: oval body, a triangular tail fin at its back end, a dorsal and a belly fin."""
    a = r * rng.uniform(1.0, 1.2)
    b = a * rng.uniform(0.42, 0.55)
    side = rng.choice((-1.0, 1.0))  # the head's end
    u0 = side * 0.25 * a  # body centre: the body and tail together are centred
    joint = u0 - side * 0.85 * a
    tail_len, tail_h = a * rng.uniform(0.5, 0.65), b * rng.uniform(0.8, 1.0)
    end = joint - side * tail_len
    fin_w, fin_h = 0.35 * a, 0.75 * b
    top = u0 - side * 0.05 * a
    belly = u0 - side * 0.3 * a
    fins = _triangle(u, v, (top - fin_w, -0.6 * b), (top + fin_w, -0.6 * b),
                     (top - side * 0.6 * fin_w, -b - fin_h))
    fins |= _triangle(u, v, (belly - 0.6 * fin_w, 0.6 * b), (belly + 0.6 * fin_w, 0.6 * b),
                      (belly - side * 0.5 * fin_w, b + 0.6 * fin_h))
    return dict(body=((u - u0) / a)**2 + (v / b)**2 <= 1,
                tail=_triangle(u, v, (joint, 0.0), (end, -tail_h), (end, tail_h)), fins=fins)


def vehicle_body(u: np.ndarray, v: np.ndarray, r: float, rng: np.random.Generator) -> Masks:
    """Boxy vehicle: a box wider than tall, a cab on top with a window band, two wheels."""
    hw = r * rng.uniform(0.95, 1.1)
    hh = hw * rng.uniform(0.32, 0.42)
    side = rng.choice((-1.0, 1.0))  # the front
    cab_h = hh * rng.uniform(0.8, 1.1)
    back, front = -0.92 * hw, min(0.92, rng.uniform(0.1, 1.1)) * hw
    cab_u = side * u  # the cab starts at the back
    cab = (cab_u >= back) & (cab_u <= front) & (v >= -hh - cab_h) & (v <= -hh)
    windows = ((cab_u >= back + 0.15 * cab_h) & (cab_u <= front - 0.15 * cab_h)
               & (v >= -hh - 0.8 * cab_h) & (v <= -hh - 0.25 * cab_h))
    wheel_r = hh * rng.uniform(0.6, 0.75)
    wheels = np.zeros(u.shape, bool)
    for x in (-1, 1):
        wheels |= (u - x * hw * rng.uniform(0.55, 0.7))**2 + (v - hh)**2 <= wheel_r**2
    box = (np.abs(u) <= hw) & (np.abs(v) <= hh)
    return dict(body=box | cab, windows=windows, wheels=wheels)


def fruit_body(u: np.ndarray, v: np.ndarray, r: float, rng: np.random.Generator) -> Masks:
    """Fruit: a round body (:func:`round_body`) with a short stem and a leaf on top."""
    a, b = r * rng.uniform(0.85, 1.15, 2)
    stem_w, stem_len = max(0.6, 0.09 * r), r * rng.uniform(0.35, 0.5)
    stem = (np.abs(u) <= stem_w) & (v >= -b - stem_len) & (v <= -0.7 * b)
    # the leaf rises from the stem, near its top, to one side
    angle = rng.uniform(0.3, 0.6)
    du, dv = rng.choice((-1.0, 1.0)) * np.cos(angle), -np.sin(angle)
    half_len = 0.42 * r
    pu, pv = u - half_len * du, v + b + 0.8 * stem_len - half_len * dv
    leaf = ((pu * du + pv * dv) / half_len)**2 + ((pv * du - pu * dv) / max(1.0, 0.18 * r))**2 <= 1
    return dict(body=(u / a)**2 + (v / b)**2 <= 1, stem=stem, leaf=leaf)


Silhouette = Callable[[np.ndarray, np.ndarray, float, np.random.Generator], Masks]
#: Silhouette of a (shape, parts); ``parts`` None (a spec without the field) draws as v1/v2.
SILHOUETTES: dict[tuple[str, str | None], Silhouette] = {
    ('round', None): round_body, ('round', 'none'): round_body,
    ('round', 'stem_leaf'): fruit_body,
    ('square', None): square_body, ('square', 'none'): square_body,
    ('square', 'wheels'): vehicle_body,
    ('elongated', None): legged_body, ('elongated', 'legs'): legged_body,
    ('elongated', 'none'): legless_body, ('elongated', 'fins_tail'): fish_body,
}
