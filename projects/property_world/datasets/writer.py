"""Write a property-world dataset to disk in mmseg's layout.

::

    DIR/img_dir/{split}/NNNNN.png   RGB images
    DIR/ann_dir/{split}/NNNNN.png   uint8 labels (category index in the spec; 255 = ignore)
    DIR/meta.json                   classes, seen, unseen, attributes, palette, seed, spec hash,
                                    scene settings, image and pixel counts per class and split

Splits (see :mod:`.generator`): ``train``, ``val`` (the reported split), ``calib`` (held out
for choosing inference settings) and ``train_all`` (train with unseen categories: upper bound).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from prolab_seg.datasets.property_world import META_FORMAT, read_meta

from .generator import SPLITS, PropertyWorldGenerator
from .spec import load_scene, load_spec, make_palette, spec_hash

OUTPUTS = ('img_dir', 'ann_dir', 'meta.json')

Progress = Callable[[str, int, int], None]


def is_dataset_dir(out: Path) -> bool:
    """Whether ``out`` holds a previous output of :func:`write_property_world` (a meta.json
    that :func:`~prolab_seg.datasets.property_world.read_meta` accepts)."""
    try:
        return read_meta(out) is not None
    except ValueError:
        return False


def _prepare(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(f'{out}: exists and is not a directory')
    if out.is_dir() and any(out.iterdir()):
        if not (overwrite or is_dataset_dir(out)):
            raise FileExistsError(
                f'{out}: directory is not empty and holds no previous property-world output '
                f'(no meta.json with format {META_FORMAT!r}); pass --overwrite to replace '
                f'its {", ".join(OUTPUTS)}')
        for name in OUTPUTS:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def write_property_world(out: str | Path, spec: str | Path | None = None, seed: int = 0,
                         num_train: int = 200, num_val: int = 50, size: int = 64,
                         overwrite: bool = False, progress: Progress | None = None,
                         zero_shot_rules: bool | None = None, num_calib: int | None = None,
                         num_train_all: int | None = None) -> dict:
    """Generate the dataset into ``out``; returns the meta dict also saved as meta.json.

    A previous output in ``out`` is replaced; any other non-empty ``out`` needs ``overwrite``
    (which removes only img_dir/, ann_dir/ and meta.json there). ``zero_shot_rules``: see
    :func:`~.spec.load_spec` (None: the spec's own setting). ``num_calib`` / ``num_train_all``
    default to ``num_val`` / ``num_train``.
    """
    out = Path(out)
    categories = load_spec(spec, zero_shot_rules)
    layout = load_scene(spec)
    generator = PropertyWorldGenerator(categories, size=size, **layout)
    _prepare(out, overwrite)
    counts = dict(train=num_train, val=num_val,
                  calib=num_val if num_calib is None else num_calib,
                  train_all=num_train if num_train_all is None else num_train_all)
    images_per_class, pixels_per_class = {}, {}
    for split in SPLITS:
        img_dir, ann_dir = out / 'img_dir' / split, out / 'ann_dir' / split
        img_dir.mkdir(parents=True, exist_ok=True)
        ann_dir.mkdir(parents=True, exist_ok=True)
        present = np.zeros(len(categories), np.int64)
        pixels = np.zeros(len(categories), np.int64)
        for i in range(counts[split]):
            scene = generator.sample(split, i, seed)
            Image.fromarray(scene.image, 'RGB').save(img_dir / f'{i:05d}.png')
            Image.fromarray(scene.label, 'L').save(ann_dir / f'{i:05d}.png')
            present[np.unique(scene.label)] += 1
            pixels += np.bincount(scene.label.ravel(), minlength=len(categories))
            if progress is not None:
                progress(split, i + 1, counts[split])
        images_per_class[split] = {c.name: int(n) for c, n in zip(categories, present)}
        pixels_per_class[split] = {c.name: int(n) for c, n in zip(categories, pixels)}
    meta = dict(
        format=META_FORMAT,
        classes=[c.name for c in categories],
        seen=[c.name for c in categories if c.seen],
        unseen=[c.name for c in categories if not c.seen],
        attributes={c.name: c.attributes() for c in categories},
        palette=make_palette(categories),
        seed=seed,
        size=size,
        num_train=num_train,
        num_val=num_val,
        num_images=counts,
        scene=layout,
        spec='default' if spec is None else str(spec),
        spec_sha256=spec_hash(categories),
        images_per_class=images_per_class,
        pixels_per_class=pixels_per_class,
    )
    (out / 'meta.json').write_text(json.dumps(meta, indent=1))
    return meta
