"""Shared fixtures: a tiny property-world dataset and tiny fake copies of real datasets; the
tools (``tools/*.py``) importable by name (``import gen_properties``).

* ``property_world_root``: 8 train + 4 val 64x64 property-world images (seed 0).
* ``property_world_v1_root``: the same from the v1 spec (18 seen + 6 unseen), the data of the
  unsupervised configs (projects/property_world/configs/{equss,iic}: 18 clusters).
* ``fake_dataset_root(name)``: a tiny copy of ``name`` (one of ``REAL_LAYOUTS``) in its real
  on-disk layout (2 train + 2 val images of random pixels and labels).
* ``fake_dataset_cfg(name)``: ``configs/_base_/datasets/<name>.py`` (mmseg's own dataset
  class and pipelines) with every dataloader pointed at that copy and ``num_workers=0``.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))
DATASET_CONFIGS = REPO / 'configs' / '_base_' / 'datasets'


@dataclass(frozen=True)
class FakeLayout:
    """Where a real dataset keeps split ``split``'s image and label for file stem ``stem``."""
    image: str  # format string with {split} and {stem}
    label: str
    splits: tuple[str, str]  # on-disk names of the train and val splits
    stem: str  # format string with {split} and {i}
    label_values: tuple[int, ...]  # values written into fake label maps
    image_hw: tuple[int, int] = (24, 32)
    list_file: str | None = None  # split list (one stem a line), format string with {split}


REAL_LAYOUTS: dict[str, FakeLayout] = dict(
    ade20k=FakeLayout(
        image='images/{split}/{stem}.jpg', label='annotations/{split}/{stem}.png',
        splits=('training', 'validation'), stem='ADE_{split}_{i:08d}',
        label_values=tuple(range(151))),
    coco_stuff164k=FakeLayout(
        image='images/{split}/{stem}.jpg', label='annotations/{split}/{stem}_labelTrainIds.png',
        splits=('train2017', 'val2017'), stem='{i:012d}',
        label_values=tuple(range(171)) + (255, )),
    pascal_context59=FakeLayout(
        image='JPEGImages/{stem}.jpg', label='SegmentationClassContext/{stem}.png',
        splits=('train', 'val'), stem='2008_{split}_{i:06d}', label_values=tuple(range(60)),
        list_file='ImageSets/SegmentationContext/{split}.txt'),
    cityscapes=FakeLayout(
        image='leftImg8bit/{split}/aachen/{stem}_leftImg8bit.png',
        label='gtFine/{split}/aachen/{stem}_gtFine_labelTrainIds.png',
        splits=('train', 'val'), stem='aachen_{i:06d}_000019',
        label_values=tuple(range(19)) + (255, ), image_hw=(16, 32)),
    bdd100k=FakeLayout(
        image='images/10k/{split}/{stem}.jpg', label='labels/sem_seg/masks/{split}/{stem}.png',
        splits=('train', 'val'), stem='{split}-{i:04d}',
        label_values=tuple(range(19)) + (255, ), image_hw=(18, 32)),
)


def write_fake_layout(name: str, root: Path, num_images: int = 2, seed: int = 0) -> Path:
    """Write a tiny copy of real dataset ``name`` under ``root``; returns ``root``."""
    layout = REAL_LAYOUTS[name]
    rng = np.random.default_rng(seed)
    h, w = layout.image_hw
    for split in layout.splits:
        stems = [layout.stem.format(split=split, i=i) for i in range(num_images)]
        for stem in stems:
            for pattern, array in (
                    (layout.image, rng.integers(0, 256, (h, w, 3), dtype=np.uint8)),
                    (layout.label, rng.choice(np.array(layout.label_values, np.uint8), (h, w)))):
                path = root / pattern.format(split=split, stem=stem)
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(array).save(path)
        if layout.list_file:
            path = root / layout.list_file.format(split=split)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(''.join(f'{stem}\n' for stem in stems))
    return root


@pytest.fixture(scope='session')
def property_world_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny property-world dataset (8 train + 4 val 64x64 images, seed 0)."""
    from projects.property_world.datasets import write_property_world

    root = tmp_path_factory.mktemp('property_world')
    write_property_world(root, seed=0, num_train=8, num_val=4, size=64)
    return root


@pytest.fixture(scope='session')
def property_world_v1_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny property-world v1 dataset (8 train + 4 val 64x64 images, seed 0)."""
    from projects.property_world.datasets import write_property_world
    from projects.property_world.datasets.spec import V1_SPEC

    root = tmp_path_factory.mktemp('property_world_v1')
    write_property_world(root, spec=V1_SPEC, seed=0, num_train=8, num_val=4, size=64)
    return root


@pytest.fixture(scope='session')
def fake_dataset_root(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Factory: ``fake_dataset_root('cityscapes')`` -> root of a tiny fake copy (cached)."""
    roots: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in REAL_LAYOUTS:
            raise KeyError(f'unknown layout {name!r}; known: {sorted(REAL_LAYOUTS)}')
        if name not in roots:
            roots[name] = write_fake_layout(name, tmp_path_factory.mktemp(f'fake_{name}'))
        return roots[name]

    return make


@pytest.fixture(scope='session')
def fake_dataset_cfg(fake_dataset_root: Callable[[str], Path]):
    """Factory: ``fake_dataset_cfg('ade20k')`` -> that base config on its fake copy."""
    from mmengine.config import Config

    def make(name: str) -> Config:
        cfg = Config.fromfile(str(DATASET_CONFIGS / f'{name}.py'))
        root = str(fake_dataset_root(name))
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key].dataset.data_root = root
            cfg[key].num_workers = 0
            cfg[key].persistent_workers = False
        return cfg

    return make
