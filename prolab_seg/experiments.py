"""The property-world ProLab experiment, in pieces shared by ``tools/demo.py`` (the main job)
and ``benchmarks/bench_prolab.py``: build the property spaces, train a config for N iterations,
evaluate on the seen classes and zero-shot on the unseen ones.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Sequence

import numpy as np

from prolab_seg import apis
from prolab_seg.datasets import SEEN_CLASSES, UNSEEN_CLASSES

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DESCRIPTIONS = osp.join(REPO, 'descriptions', 'property_world.json')
PW_CONFIGS = osp.join(REPO, 'configs', 'property_world')
CONFIGS = dict(
    baseline=osp.join(PW_CONFIGS, 'baseline_fcn-r18-d8_300it_property-world-64x64.py'),
    prolab=osp.join(PW_CONFIGS, 'prolab_fcn-r18-d8_300it_property-world-64x64.py'),
    textemb=osp.join(PW_CONFIGS, 'textemb_fcn-r18-d8_300it_property-world-64x64.py'),
)


def build_property_world_spaces(out: str, num_properties: int = 32, seed: int = 0,
                                model=None) -> dict[str, str]:
    """Space of the seen categories (``seen.npz``) and the same plus the unseen categories
    mapped onto its centroids by ``assign`` (``all.npz``); returns their paths."""
    from prolab_seg.properties import assign_categories, build_property_space, load_descriptions
    os.makedirs(out, exist_ok=True)
    desc = load_descriptions(DESCRIPTIONS).categories
    seen = build_property_space({c: desc[c] for c in SEEN_CLASSES}, num_properties, seed=seed,
                                model=model)
    seen.save(osp.join(out, 'seen.npz'))
    new = assign_categories(seen, {c: desc[c] for c in UNSEEN_CLASSES}, model=model)
    seen.extend(new).save(osp.join(out, 'all.npz'))
    return dict(seen=osp.join(out, 'seen.npz'), all=osp.join(out, 'all.npz'))


def schedule_options(data_root: str, iters: int, seed: int = 0) -> dict:
    """``--cfg-options`` for a property-world run of ``iters`` iterations on ``data_root``:
    warm-up over the first 10 %, then poly decay; one validation + checkpoint at the end."""
    warmup = max(1, iters // 10)
    opts = {f'{k}.dataset.data_root': data_root
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    opts.update({
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'default_hooks.checkpoint.interval': iters,
        'default_hooks.logger.interval': max(1, iters // 6),
        'param_scheduler': [
            dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup),
            dict(type='PolyLR', eta_min=0.0, power=1.0, begin=warmup, end=iters,
                 by_epoch=False)],
        'randomness.seed': seed,
    })
    return opts


def space_options(space: str) -> dict:
    """Train a ``PropertyHead`` config (main + auxiliary head) on ``space``."""
    return {'model.decode_head.property_space': space,
            'model.auxiliary_head.property_space': space}


def zero_shot_options(bank: str, classes: Sequence[str] | None) -> dict:
    """Test with inference bank ``bank``, restricted to ``classes`` (test set: only their pixels)."""
    return {'model.decode_head.test_property_space': bank,
            'model.decode_head.test_classes': list(classes) if classes else None,
            'test_dataloader.dataset.metainfo': dict(classes=tuple(classes)) if classes else None}


def train(config: str, options: dict, work_dir: str, quiet: bool = True) -> str:
    """Train ``config`` with ``options``; returns the final checkpoint path."""
    cfg = apis.load_config(config, options, work_dir)
    if quiet:
        cfg.log_level = 'WARNING'
    apis.train(cfg)
    return osp.join(work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')


def evaluate(config: str, checkpoint: str, options: dict, work_dir: str,
             quiet: bool = True) -> dict:
    """``tools/test.py`` on ``checkpoint``; returns mmseg's metrics (aAcc, mIoU, mAcc)."""
    cfg = apis.load_config(config, options, work_dir)
    if quiet:
        cfg.log_level = 'WARNING'
    return apis.test(cfg, checkpoint)


def chance_unseen_miou(data_root: str, seed: int = 0) -> float:
    """mIoU (%) of a uniform-random guess among the unseen classes, on unseen-class pixels."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    n, first = len(UNSEEN_CLASSES), len(SEEN_CLASSES)
    inter, union = np.zeros(n), np.zeros(n)
    ann = osp.join(data_root, 'ann_dir', 'val')
    for f in sorted(os.listdir(ann)):
        lab = np.asarray(Image.open(osp.join(ann, f))).astype(int) - first
        lab = lab[(lab >= 0) & (lab < n)]
        pred = rng.integers(0, n, lab.shape)
        for c in range(n):
            inter[c] += np.sum((lab == c) & (pred == c))
            union[c] += np.sum((lab == c) | (pred == c))
    with np.errstate(invalid='ignore'):
        return float(np.nanmean(inter / union) * 100)


def images_with_unseen(data_root: str) -> list[tuple[str, str]]:
    """``(image path, unseen category)`` for each val image holding an unseen category."""
    from PIL import Image
    out = []
    ann = osp.join(data_root, 'ann_dir', 'val')
    for f in sorted(os.listdir(ann)):
        ids = np.unique(np.asarray(Image.open(osp.join(ann, f))))
        unseen = [UNSEEN_CLASSES[i - len(SEEN_CLASSES)] for i in ids
                  if len(SEEN_CLASSES) <= i < len(SEEN_CLASSES) + len(UNSEEN_CLASSES)]
        if unseen:
            out.append((osp.join(data_root, 'img_dir', 'val', f), unseen[0]))
    return out
