"""Segment images with a trained model, optionally with another category set, and show why.

    python tools/segment.py CONFIG CHECKPOINT IMAGE|FOLDER [...] [--categories FILE]
        [--classes NAME ...] [--ann-dir DIR] [--out-dir DIR] [--top-k 6] [--device cpu]
        [--tile-size 1024] [--cfg-options k=v ...] [--debug]

The checkpoint must fit the config (a checkpoint of another model, e.g. the baseline's with a
ProLab config, is refused naming the keys that differ). A folder stands for the image files in
it. For each image writes into ``--out-dir`` (default ``work_dirs/segment``), under its file
stem (images with the same stem get their path relative to the images' common folder,
``a/x.png`` -> ``a__x``):

* ``<stem>_mask.png``        colour-coded prediction (one colour per category);
* ``<stem>_labels.png``      raw label map (uint8 category index);
* ``<stem>_properties.png``  (ProLab models) the interpretability picture drawn by
  ``PropertySegLocalVisualizer``: input, ground truth (with ``--ann-dir``) and prediction,
  a legend of their categories beside them, and below, on one colour scale, the activation
  maps of ``--top-k`` properties, those most distinctive of each predicted category's region
  (each named by its most representative description);
* ``<stem>.json``            categories present (pixel share) and, per category, the properties
  that fired most strongly on its pixels.

``--categories FILE`` swaps the inference category bank of a ProLab model: any property-space
file sharing the training centroids, e.g. one written by ``tools/gen_properties.py assign`` for
categories never trained; ``--classes`` keeps only some of its categories. Without it the
config's inference bank (``test_label_space`` or the training space) is used.
``--ann-dir DIR`` draws ground truth: ``DIR/<stem>.png`` per image, the index of a category of
the inference bank per pixel (255: ignored). Category-supervised models only get masks. Memory
stays bounded on large images (see ``prolab_seg.apis.inference``: maps are brought to the image
a few channels at a time; in ``whole`` mode images larger than ``--tile-size`` pixels a side run
in tiles).
"""
from __future__ import annotations

import argparse
import sys

import prolab_seg  # noqa: F401  (patches the stack, registers modules; before mmseg)
from mmengine.config import DictAction

from prolab_seg import cli
from prolab_seg.apis import TILE_MARGIN, TILE_SIZE, load_segmentor, segment_images


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('images', nargs='+', help='image files or folders of images')
    p.add_argument('--categories', help='property-space file for the inference category bank')
    p.add_argument('--classes', nargs='+', help='keep only these categories of --categories')
    p.add_argument('--ann-dir', help='ground-truth label maps <stem>.png (category indices)')
    p.add_argument('--out-dir', default='work_dirs/segment')
    p.add_argument('--top-k', type=int, default=6, help='property activation maps to draw')
    p.add_argument('--device', default='cpu')
    p.add_argument('--tile-size', type=int, default=TILE_SIZE,
                   help="'whole' mode: images larger than this (pixels a side) run in tiles; "
                   '0: never (a multiple of 32)')
    p.add_argument('--tile-margin', type=int, default=TILE_MARGIN,
                   help='context around each tile, pixels (a multiple of 32)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    cli.add_debug_flag(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model = load_segmentor(args.config, args.checkpoint, args.categories, args.classes,
                           args.device, args.cfg_options)
    summaries = segment_images(model, args.images, args.out_dir, args.top_k,
                               [args.config, args.checkpoint, args.categories],
                               args.tile_size, args.tile_margin, args.ann_dir)
    for s in summaries:
        shares = ', '.join(f'{k} {v["pixel_share"]:.0%}' for k, v in s['categories'].items())
        print(f"{s['image']} -> {s['name']}: {shares}")
    print(f'results in {args.out_dir}')


if __name__ == '__main__':
    sys.exit(cli.run(main, None, ValueError))
