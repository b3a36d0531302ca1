"""Generate the procedural property-world dataset in mmseg's on-disk layout.

    python -m projects.property_world.make_dataset --out data/property_world [--spec FILE]
        [--seed 0] [--num-train 200] [--num-val 50] [--size 64] [--overwrite] [--no-zero-shot-rules]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from prolab_seg import cli

from .datasets import write_property_world


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--spec', help='category spec (JSON/YAML); default: the shipped spec')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--num-calib', type=int, help='held-out calibration images '
                        '(default: --num-val)')
    parser.add_argument('--num-train-all', type=int, help='training images that also hold '
                        'unseen categories, for a supervised upper bound (default: --num-train)')
    parser.add_argument('--size', type=int, default=64, help='image height and width')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace img_dir/, ann_dir/, meta.json in a non-empty --out that '
                        'holds no previous output')
    parser.add_argument('--no-zero-shot-rules', dest='zero_shot_rules', action='store_false',
                        default=None, help='accept a spec that is not a compositional '
                        'zero-shot design (see projects.property_world.datasets.spec.'
                        'zero_shot_violations)')
    cli.add_debug_flag(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()

    def progress(split: str, done: int, total: int) -> None:
        if done == total or done % 100 == 0:
            print(f'  {split}: {done}/{total} images', flush=True)

    print(f'writing property-world ({args.size}x{args.size}, seed {args.seed}) to {args.out}')
    meta = write_property_world(args.out, spec=args.spec, seed=args.seed,
                                num_train=args.num_train, num_val=args.num_val, size=args.size,
                                overwrite=args.overwrite, progress=progress,
                                zero_shot_rules=args.zero_shot_rules,
                                num_calib=args.num_calib, num_train_all=args.num_train_all)
    total = sum(meta['num_images'].values())
    seconds = time.perf_counter() - start
    print(f'done: {total} images in {seconds:.1f}s ({total / seconds:.0f} images/s); '
          f'{len(meta["seen"])} seen + {len(meta["unseen"])} unseen classes; '
          f'{Path(args.out) / "meta.json"}')


if __name__ == '__main__':
    sys.exit(cli.run(main, None, ValueError))
