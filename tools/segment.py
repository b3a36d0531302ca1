"""Segment images with a trained model, optionally with another category set, and show why.

    python tools/segment.py CONFIG CHECKPOINT IMAGE [IMAGE ...] [--categories FILE]
        [--classes NAME ...] [--ann-dir DIR] [--out-dir DIR] [--top-k 6] [--device cpu]
        [--cfg-options k=v ...]

For each image writes into ``--out-dir`` (default ``work_dirs/segment``):

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
config's inference bank (``test_property_space`` or the training space) is used.
``--ann-dir DIR`` draws ground truth: ``DIR/<stem>.png`` per image, the index of a category of
the inference bank per pixel (255: ignored). Category-supervised models only get masks.
"""
from __future__ import annotations

import argparse

import prolab_seg  # noqa: F401  (patches the stack, registers modules; before mmseg)
from mmengine.config import DictAction

from prolab_seg.segment import load_segmentor, segment_images


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('images', nargs='+', help='image files')
    p.add_argument('--categories', help='property-space file for the inference category bank')
    p.add_argument('--classes', nargs='+', help='keep only these categories of --categories')
    p.add_argument('--ann-dir', help='ground-truth label maps <stem>.png (category indices)')
    p.add_argument('--out-dir', default='work_dirs/segment')
    p.add_argument('--top-k', type=int, default=6, help='property activation maps to draw')
    p.add_argument('--device', default='cpu')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        model = load_segmentor(args.config, args.checkpoint, args.categories, args.classes,
                               args.device, args.cfg_options)
        summaries = segment_images(model, args.images, args.out_dir, args.top_k,
                                   args.ann_dir)
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f'segment.py: {e}')
    for s in summaries:
        shares = ', '.join(f'{k} {v["pixel_share"]:.0%}' for k, v in s['categories'].items())
        print(f"{s['image']}: {shares}")
    print(f'results in {args.out_dir}')


if __name__ == '__main__':
    main()
