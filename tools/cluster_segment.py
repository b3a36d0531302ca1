"""Network-free multi-level clustering segmentation of a dataset folder (no training).

    python tools/cluster_segment.py DATA_ROOT --out OUT [--split val] [--num-fg-clusters K]
        [--num-bg-clusters 1] [--num-categories C] [--min-votes 2] [--seed 0]
        [--backbone type=FilterBankBackbone stride=4]

DATA_ROOT is in mmseg layout (img_dir/SPLIT, optional ann_dir/SPLIT, meta.json). Writes
OUT/masks/NAME.png (uint8 cluster ids: background clusters first) and OUT/metrics.json
(Hungarian-matched acc / mIoU of the shared unsupervised protocol, wall time, settings).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from mmengine.config import DictAction
from PIL import Image
from tqdm import tqdm

import prolab_seg  # noqa: F401  (patches the stack, registers the backbones)
from prolab_seg import cli
from prolab_seg.clustering.folder import segment_folder


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data_root', help='dataset folder in mmseg layout')
    p.add_argument('--out', required=True, help='output folder (masks/ and metrics.json)')
    p.add_argument('--split', default='val')
    p.add_argument('--num-fg-clusters', type=int,
                   help='foreground clusters (default: number of classes - background clusters)')
    p.add_argument('--num-bg-clusters', type=int, default=1)
    p.add_argument('--num-categories', type=int,
                   help='image groups of the category level (default: foreground clusters)')
    p.add_argument('--min-votes', type=int, default=2, choices=(1, 2, 3),
                   help='levels that must call a patch foreground')
    p.add_argument('--num-classes', type=int,
                   help='score classes [0, N) only, other labels ignored (default: all classes '
                   'of meta.json; for property-world\'s seen classes only, which come first, give '
                   'the length of meta.json\'s "seen" list: 18 for v1, data/property_world_v1)')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--backbone', nargs='+', action=DictAction, default=None,
                   help='frozen backbone config as key=value pairs '
                   '(default: type=FilterBankBackbone stride=4)')
    cli.add_debug_flag(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    data, result, metrics = segment_folder(
        args.data_root, args.split, args.num_fg_clusters, args.num_bg_clusters,
        args.num_categories, args.min_votes, args.backbone, args.num_classes,
        args.batch_size, args.seed, progress=True)
    seconds = time.perf_counter() - start
    out = Path(args.out)
    (out / 'masks').mkdir(parents=True, exist_ok=True)
    for name, mask in tqdm(list(zip(data.names, result.labels)), desc='masks', unit='img'):
        Image.fromarray(mask.astype(np.uint8)).save(out / 'masks' / f'{name}.png')
    report = dict(method='multilevel_clustering', data_root=str(args.data_root),
                  split=args.split, num_images=len(data.names), wall_time_s=seconds,
                  settings={k: v for k, v in vars(args).items() if k not in ('out', 'data_root')},
                  metrics=metrics)
    (out / 'metrics.json').write_text(json.dumps(report, indent=1))
    summary = ('no labels: metrics skipped' if metrics is None else
               f'acc {100 * metrics["acc"]:.2f}  mIoU {100 * metrics["mIoU"]:.2f}  '
               f'foreground {100 * metrics["foreground_fraction"]:.1f}%')
    print(f'{len(data.names)} images in {seconds:.1f}s: {summary}; wrote {out}/masks, '
          f'{out}/metrics.json')
    return report


if __name__ == '__main__':
    sys.exit(cli.run(main, None, ValueError))
