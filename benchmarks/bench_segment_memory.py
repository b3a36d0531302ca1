#!/usr/bin/env python
"""Peak memory of ``tools/segment.py`` on one large image (not a test; ``tests/test_segment.py``
runs it and checks the bound).

A randomly initialised ProLab model (ResNetV1c-18 at 1/8 width + FCN, ``whole`` mode, no
resize in the test pipeline, so the network and the maps run at the image size) with C
categories and K properties segments one SIZE x SIZE image through
``prolab_seg.apis.inference.load_segmentor`` + ``segment_images`` (the tool's path: prediction,
summary, mask / labels / properties pictures written). Prints the process's peak resident set
size before and after, and the wall time.

    OMP_NUM_THREADS=1 python benchmarks/bench_segment_memory.py [--size 4000] [--classes 29]
        [--properties 32]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _memory import status_mib  # benchmarks/ is the script's folder


def write_model(folder: Path, num_classes: int, num_properties: int, embed_dim: int = 16,
                seed: int = 0) -> tuple[str, str]:
    """A random ProLab model as ``config.py`` + ``model.pth`` in ``folder``."""
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS

    from prolab_seg.properties import PropertySpace
    rng = np.random.default_rng(seed)
    centroids = rng.normal(size=(num_properties, embed_dim)).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    vectors = (rng.random((num_classes, num_properties)) > 0.6).astype(np.float32)
    vectors[np.arange(num_classes), np.arange(num_classes) % num_properties] = 1
    space = PropertySpace([f'category {i}' for i in range(num_classes)], vectors, centroids)
    space_path = str(space.save(folder / 'space.npz'))
    head = dict(type='FCNHead', in_channels=64, channels=8, num_convs=1, concat_input=False,
                dropout_ratio=0.0, norm_cfg=None)
    cfg = Config(dict(
        default_scope='mmseg',
        model=dict(
            type='EncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor', mean=[100, 110, 120],
                                   std=[50, 50, 50]),
            backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                          out_indices=(3, ), norm_cfg=dict(type='BN')),
            decode_head=dict(type='PropertyHead', head=head, label_space=space_path),
            test_cfg=dict(mode='whole')),
        test_pipeline=[dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]))
    cfg.dump(str(folder / 'config.py'))
    torch.manual_seed(seed)
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict(), meta=dict()),
               folder / 'model.pth')
    return str(folder / 'config.py'), str(folder / 'model.pth')


def write_image(path: Path, size: int) -> str:
    """A smooth ``size`` x ``size`` RGB picture (compresses well, so it writes fast)."""
    from PIL import Image
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    rgb = np.stack([ramp[:, None] + 0 * ramp[None], ramp[None] + 0 * ramp[:, None],
                    (ramp[:, None] + ramp[None]) / 2], -1)
    Image.fromarray(rgb.astype(np.uint8)).save(path)
    return str(path)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--size', type=int, default=4000)
    p.add_argument('--classes', type=int, default=29)
    p.add_argument('--properties', type=int, default=32)
    args = p.parse_args(argv)
    import prolab_seg  # noqa: F401  (before mmseg)
    from mmengine.registry import init_default_scope

    from prolab_seg.apis import load_segmentor, segment_images
    init_default_scope('mmseg')
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config, checkpoint = write_model(folder, args.classes, args.properties)
        image = write_image(folder / 'large.png', args.size)
        model = load_segmentor(config, checkpoint)
        before = status_mib('VmRSS')
        t0 = time.perf_counter()
        segment_images(model, [image], str(folder / 'out'))
        seconds = time.perf_counter() - t0
        written = sorted(f.name for f in (folder / 'out').iterdir())
    row = dict(size=args.size, classes=args.classes, properties=args.properties,
               rss_before_mib=round(before), peak_mib=round(status_mib('VmHWM')),
               seconds=round(seconds), written=written)
    print(f'{args.size}x{args.size} image, C={args.classes}, K={args.properties}: peak RSS '
          f'{row["peak_mib"]} MiB (RSS before segmenting {row["rss_before_mib"]} MiB), '
          f'{seconds:.0f} s; wrote {", ".join(written)}')
    return row


if __name__ == '__main__':
    main()
