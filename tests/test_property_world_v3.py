"""Property-world v3: the parts drawn where the spec says (pixel checks on rendered images),
v1/v2 rendering unchanged, the two v3 splits and their descriptions key (the ``parts`` field's
errors and zero-shot rules: tests/test_datasets.py)."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from prolab_seg.properties import load_descriptions
from prolab_seg.properties.descriptions import DescriptionsError, dataset_class_names
from projects.property_world.datasets import PropertyWorldGenerator, load_spec, shapes
from projects.property_world.datasets.spec import (ALL_CLASSES, V1_SPEC, V2_SPEC, V3_SPEC,
                                                   V3_SPLIT2_SPEC, load_scene, spec_hash)

V3 = load_spec(V3_SPEC)
IDS = {c.name: i for i, c in enumerate(V3)}


# --- v1/v2 unchanged ---------------------------------------------------------------------------

#: sha256 (first 16 hex digits) of image + label bytes, computed with the generator as it was
#: before ``parts`` existed (commit 2df853a).
V2_PINS = [(V2_SPEC, 64, 'val', 0, 0, '2928bb4f1168e31e'),
           (V2_SPEC, 64, 'val', 1, 0, 'cc59fb6ef741b692'),  # holds an unseen category
           (V2_SPEC, 64, 'train', 5, 0, '92b524092615041c'),
           (V2_SPEC, 64, 'calib', 3, 2, '1e0034fddcac9f81'),
           (V2_SPEC, 128, 'val', 4, 1, 'bc6c64a74957c825'),
           (V1_SPEC, 64, 'val', 1, 0, '311fd80cd208b321')]


@pytest.mark.parametrize('spec,size,split,index,seed,digest', V2_PINS)
def test_v1_v2_scenes_render_as_before_parts(spec, size, split, index, seed, digest):
    gen = PropertyWorldGenerator(load_spec(spec), size=size, **load_scene(spec))
    scene = gen.sample(split, index, seed)
    assert hashlib.sha256(scene.image.tobytes() + scene.label.tobytes()).hexdigest()[:16] == digest


def test_specs_without_parts_keep_their_attributes_and_hash():
    v2 = load_spec(V2_SPEC)
    assert all(c.parts is None and 'parts' not in c.attributes() for c in v2)
    assert spec_hash(v2) == '559d25f6f0edf6a15517fd0c0244ba20e82d69ba424a5b5d522a7162a5562f2a'
    assert ALL_CLASSES == tuple(c.name for c in v2)  # the default stays v2


# --- the v3 specs (the parts field and its rules: tests/test_datasets.py) ----------------------

def test_v3_splits_load_with_the_same_categories_and_disjoint_unseen_sets():
    split2 = load_spec(V3_SPLIT2_SPEC)
    assert len(V3) == len(split2) == 41
    assert {c.name: c.attributes() for c in V3} == {c.name: c.attributes() for c in split2}
    unseen1 = [c for c in V3 if not c.seen]
    unseen2 = [c for c in split2 if not c.seen]
    assert len(unseen1) == len(unseen2) == 6
    assert not {c.name for c in unseen1} & {c.name for c in unseen2}
    for unseen in (unseen1, unseen2):  # one of each body kind and one stuff
        assert sorted(c.attributes().get('parts', 'stuff') for c in unseen) == [
            'fins_tail', 'legs', 'none', 'stem_leaf', 'stuff', 'wheels']
    things = [c for c in V3 if not c.is_stuff]
    assert all(c.parts is not None for c in things)
    assert load_scene(V3_SPEC) == load_scene(V3_SPLIT2_SPEC)


def test_property_world_v3_descriptions_key(tmp_path):
    assert set(dataset_class_names('property_world_v3')) == {c.name for c in V3}

    def write(names):
        path = tmp_path / 'desc.json'
        path.write_text(json.dumps({
            'format': 'prolab-seg/descriptions@1', 'dataset': 'property_world_v3',
            'model': 'hand-written', 'prompt_version': 'test',
            'categories': {n: [f'Sentence {k} of category {i}.' for k in range(8)]
                           for i, n in enumerate(names)}}))
        return path

    split2_order = [c.name for c in load_spec(V3_SPLIT2_SPEC)]
    assert set(load_descriptions(write(split2_order)).categories) == set(split2_order)
    with pytest.raises(DescriptionsError, match=r"its \"dataset\" is 'property_world_v3'.*"
                                                r"set \"dataset\" to 'property_world', whose"):
        load_descriptions(write(ALL_CLASSES))


# --- parts drawn where the spec says -----------------------------------------------------------

def _alone(name: str, size: int, seeds: int = 40) -> list[tuple[np.ndarray, np.ndarray]]:
    """(image, mask of ``name``'s pixels) of scenes holding only ``name`` on a stuff background,
    skipping those where it touches the border."""
    gen = PropertyWorldGenerator(V3, size=size, num_things=(0, 0), thing_scale=1.3)
    out = []
    for seed in range(seeds):
        scene = gen.render(np.random.default_rng(seed), IDS[name])
        mask = scene.label == IDS[name]
        if not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()):
            out.append((scene.image.astype(int), mask))
    assert len(out) >= 10
    return out


def _without(monkeypatch, shape: str, parts: str, part: str) -> None:
    """Draw (shape, parts) things without ``part``: the checks below must then fail."""
    draw = shapes.SILHOUETTES[shape, parts]
    monkeypatch.setitem(shapes.SILHOUETTES, (shape, parts),
                        lambda *args: {k: m for k, m in draw(*args).items() if k != part})


def _along(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per 1-px step along the mask's principal axis: lowest and highest offset across it
    (across points down the image)."""
    y, x = np.nonzero(mask)
    pts = np.stack([x, y], 1).astype(float)
    pts -= pts.mean(0)
    axis = np.linalg.eigh(pts.T @ pts)[1][:, 1]
    across = np.array([-axis[1], axis[0]]) * (1 if axis[0] >= 0 else -1)
    step = np.round(pts @ axis).astype(int)
    step -= step.min()
    lo, hi = np.full(step.max() + 1, np.inf), np.full(step.max() + 1, -np.inf)
    np.minimum.at(lo, step, pts @ across)
    np.maximum.at(hi, step, pts @ across)
    seen = np.isfinite(lo)
    return lo[seen], hi[seen]


def _wheels_below(image: np.ndarray, mask: np.ndarray) -> tuple[int, bool]:
    """(dark pixels of the thing, whether they are its lowest pixels and below its body)."""
    dark = mask & (image.max(-1) < 90)
    rows = np.nonzero(mask)[0]
    bottom = mask & (np.arange(mask.shape[0])[:, None] >= rows.max() - 1)
    below = (dark.sum() > 0 and dark[bottom].mean() > 0.8
             and np.nonzero(dark)[0].mean() > np.nonzero(mask & ~dark)[0].mean())
    return int(dark.sum()), bool(below)


@pytest.mark.parametrize('size,least', [(64, 10), (128, 40)])
def test_wheels_are_dark_and_below_a_vehicle(monkeypatch, size, least):
    for name in ('taxi', 'ambulance', 'police car'):
        for image, mask in _alone(name, size):
            count, below = _wheels_below(image, mask)
            assert count >= least and below, name
    _without(monkeypatch, 'square', 'wheels', 'wheels')
    image, mask = _alone('taxi', size)[0]
    assert _wheels_below(image, mask) == (0, False)


def _stem_leaf(image: np.ndarray, mask: np.ndarray) -> tuple[int, int, bool]:
    """(brown stem pixels, green leaf pixels, whether both are above the red body's centre) of a
    red fruit."""
    r, g, b = np.moveaxis(image, -1, 0)
    red = mask & (r > 140) & (g < 100)
    leaf = mask & (g > r + 30) & (g > b + 30)
    stem = mask & (r > g + 10) & (g > b + 10) & (r < 2.2 * g)
    rows = np.nonzero(leaf | stem)[0]
    above = rows.size > 0 and rows.max() < np.nonzero(red)[0].mean()
    return int(stem.sum()), int(leaf.sum()), bool(above)


@pytest.mark.parametrize('size,least', [(64, 2), (128, 6)])
def test_stem_and_leaf_are_on_top_of_a_fruit(monkeypatch, size, least):
    for name in ('tomato', 'cherry'):
        for image, mask in _alone(name, size):
            stem, leaf, above = _stem_leaf(image, mask)
            assert stem >= least and leaf >= 2 * least and above, name
    _without(monkeypatch, 'round', 'stem_leaf', 'leaf')
    assert all(_stem_leaf(image, mask)[1] == 0 for image, mask in _alone('tomato', size))


def _tail_flare(mask: np.ndarray) -> float:
    """How much the thing widens again towards one of its ends (a tail fin), relative to its
    widest point: 0 for a body that only narrows towards its ends."""
    lo, hi = _along(mask)
    width = hi - lo
    k = max(3, round(0.35 * len(width)))
    return max((np.maximum.accumulate(end[:k]) - end[:k]).max()
               for end in (width, width[::-1])) / width.max()


def test_fish_tail_fans_out_beyond_the_body(monkeypatch):
    for name in ('goldfish', 'koi', 'shark'):
        assert min(_tail_flare(mask) for _, mask in _alone(name, 128)) > 0.3, name
    for name in ('banana', 'lemon'):  # bodies without a tail
        assert max(_tail_flare(mask) for _, mask in _alone(name, 128)) < 0.3, name
    _without(monkeypatch, 'elongated', 'fins_tail', 'tail')
    assert max(_tail_flare(mask) for _, mask in _alone('goldfish', 128)) < 0.2


def _leg_step(mask: np.ndarray) -> float:
    """Largest step of the thing's lower outline between neighbouring positions along its
    middle 80 %: legs stick out below a body, a legless body's outline is smooth."""
    hi = _along(mask)[1]
    middle = hi[int(0.1 * len(hi)):int(0.9 * len(hi))]
    return float(np.abs(np.diff(middle)).max())


def test_legless_bodies_have_no_legs_and_legged_ones_do():
    for name in ('snake', 'banana', 'cucumber'):
        assert max(_leg_step(mask) for _, mask in _alone(name, 128)) <= 3, name
    for name in ('dalmatian', 'fox', 'bee'):
        assert min(_leg_step(mask) for _, mask in _alone(name, 128)) >= 5, name


def test_every_v3_category_renders():
    gen = PropertyWorldGenerator(V3, size=64, **load_scene(V3_SPEC))
    for cat_id, cat in enumerate(V3):
        scene = gen.render(np.random.default_rng(cat_id), cat_id)
        assert (scene.label == cat_id).sum() >= 20, cat.name
        assert scene.label.max() < len(V3)
