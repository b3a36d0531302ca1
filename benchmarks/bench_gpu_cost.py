#!/usr/bin/env python
"""Training / inference cost of the shipped baseline (CE) vs ProLab config pairs (issue 12).

    python benchmarks/bench_gpu_cost.py [--pairs NAME ...] [--amp] [--reps 20] [--warmup 3]
        [--infer-reps 20] [--device cuda] [--json FILE]
    OMP_NUM_THREADS=1 python benchmarks/bench_gpu_cost.py --small [--json FILE]   # CPU smoke run

Pairs (shipped configs, batch / crop / K as in the issue):

* ``upernet_ade20k``     -- UPerNet Swin-T, ADE20K, batch 8, 512x512, K=256;
* ``deeplab_ade20k``     -- DeepLabV3+ R-101-D8, ADE20K, batch 8, 512x512, K=256;
* ``upernet_cityscapes`` -- UPerNet Swin-T, Cityscapes, batch 4, 512x1024, K=32.

Variants of each pair: ``ce`` (the baseline config), ``prolab_label`` (the ProLab config as
shipped, ``loss_resolution='label'``), ``prolab_chunked`` (the same loss computed in chunks of
``--chunk-rows`` label rows, recomputed in backward: ``PropertyHead(loss_chunk_rows=...)`` on
both heads) and ``prolab_feature`` (the ProLab config with ``loss_resolution='feature'`` on
both heads). The ProLab configs read a synthetic property space
(the dataset's class names, random multi-hot C x K vectors, random unit K x 384 centroids,
seed 0) written to a temp dir. Models are built from the configs (random init, SyncBN reverted
to BN as in a single-process mmengine run); the optimizer is the config's ``optim_wrapper``
(``--amp``: an ``AmpOptimWrapper`` in bfloat16, CUDA only).

Every variant sees the same synthetic batch (fixed seed; blocky labels with some 255 pixels)
through ``model.train_step``; inference is ``model.test_step`` on one image (eval, no_grad).
Variants are interleaved (rep 0: ce, prolab_label, prolab_chunked, prolab_feature; rep 1:
...), warm-up reps are discarded and the median seconds are reported. On CUDA timings are
bracketed by ``torch.cuda.synchronize()``. Peak memory (CUDA only) is that of one variant as if
it ran alone: the bytes of its parameters, buffers and optimizer state plus the largest growth
of ``max_memory_allocated()`` over ``memory_allocated()`` during one of its train steps (the
other variants' models stay resident, so the raw allocator peak is reported beside it in the
JSON as ``peak_gib_raw``).

``--small`` runs the same code path on CPU in seconds: shrunk models (Swin depths 1, 16-d;
ResNet-18 at 16 base channels; the shrinking of tests/test_prolab_configs.py), 64x64 crops
(Cityscapes 64x128), batch 2, 1 warm-up and 2 timed reps.

Out of scope here: the EQUSS GPU timing of issue 12 (DINO ViT-S/8 with / without product
quantization).
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
os.chdir(REPO)  # the configs' relative paths

import prolab_seg  # noqa: E402,F401
import torch  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.model import revert_sync_batchnorm  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.structures import PixelData  # noqa: E402
from mmseg.registry import DATASETS, MODELS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402

from prolab_seg import apis  # noqa: E402
from prolab_seg.properties import PropertySpace  # noqa: E402

# name -> (baseline config, prolab config, batch, (H, W), K)
PAIRS = dict(
    upernet_ade20k=('configs/baseline/upernet_swin-t_8xb2-160k_ade20k-512x512.py',
                    'configs/prolab/prolab_upernet_swin-t_8xb2-160k_ade20k-512x512.py',
                    8, (512, 512), 256),
    deeplab_ade20k=('configs/baseline/deeplabv3plus_r101-d8_4xb4-160k_ade20k-512x512.py',
                    'configs/prolab/prolab_deeplabv3plus_r101-d8_4xb4-160k_ade20k-512x512.py',
                    8, (512, 512), 256),
    upernet_cityscapes=('configs/baseline/upernet_swin-t_8xb2-80k_cityscapes-512x1024.py',
                        'configs/prolab/prolab_upernet_swin-t_8xb2-80k_cityscapes-512x1024.py',
                        4, (512, 1024), 32),
)
VARIANTS = ('ce', 'prolab_label', 'prolab_chunked', 'prolab_feature')
EMBED_DIM = 384
GIB = 2 ** 30


def synthetic_space(classes, k, path, seed=0) -> str:
    """Random multi-hot C x K vectors (every row with a 1) and unit K x 384 centroids."""
    rng = np.random.default_rng(seed)
    vec = (rng.random((len(classes), k)) < 0.1).astype(np.float32)
    vec[np.arange(len(classes)), rng.integers(0, k, len(classes))] = 1.0
    cent = rng.normal(size=(k, EMBED_DIM)).astype(np.float32)
    cent /= np.linalg.norm(cent, axis=1, keepdims=True)
    meta = {'embedding_model': 'synthetic (bench_gpu_cost.py)'}
    return str(PropertySpace(list(classes), vec, cent, meta).save(path))


def shrink_options(backbone: str, prolab: bool, crop) -> dict:
    """cfg options of ``--small``: tiny backbone and heads (tests/test_prolab_configs.py)."""
    dec = 'model.decode_head.head.' if prolab else 'model.decode_head.'
    aux = 'model.auxiliary_head.head.' if prolab else 'model.auxiliary_head.'
    if backbone == 'SwinTransformer':
        opts = {'model.backbone.embed_dims': 16, 'model.backbone.depths': [1, 1, 1, 1],
                'model.backbone.num_heads': [1, 2, 2, 4],
                dec + 'in_channels': [16, 32, 64, 128], dec + 'channels': 16}
    else:  # ResNetV1c (DeepLabV3+)
        opts = {'model.backbone.depth': 18, 'model.backbone.stem_channels': 16,
                'model.backbone.base_channels': 16, dec + 'in_channels': 128,
                dec + 'channels': 16, dec + 'c1_in_channels': 16, dec + 'c1_channels': 8}
    opts.update({aux + 'in_channels': 64, aux + 'channels': 8,
                 'model.data_preprocessor.size': tuple(crop)})
    return opts


def variant_options(name, space, args, crop) -> list[tuple[str, str, dict]]:
    """(variant, config path, cfg options) for the variants of pair ``name``."""
    base, prolab, *_ = PAIRS[name]
    heads = ('model.decode_head.', 'model.auxiliary_head.')
    space_opts = {h + 'label_space': space for h in heads}
    chunked = {h + 'loss_chunk_rows': args.chunk_rows for h in heads}
    feature = {h + 'loss_resolution': 'feature' for h in heads}
    out = [('ce', base, {}), ('prolab_label', prolab, dict(space_opts)),
           ('prolab_chunked', prolab, dict(space_opts, **chunked)),
           ('prolab_feature', prolab, dict(space_opts, **feature))]
    if args.small:
        backbone = 'SwinTransformer' if 'swin' in base else 'ResNetV1c'
        for v, cfg, opts in out:
            opts.update(shrink_options(backbone, v != 'ce', crop))
    return out


def build(config, opts, device, amp):
    """Model (random init, SyncBN -> BN) and the config's optim wrapper (bf16 AMP optional)."""
    cfg = apis.load_config(config, opts)
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    model = model.to(device)
    optim_cfg = cfg.optim_wrapper.copy()
    if amp:
        optim_cfg.update(type='AmpOptimWrapper', dtype='bfloat16')
    return model, build_optim_wrapper(model, optim_cfg)


def synthetic_batch(batch, hw, num_classes, seed=0) -> dict:
    """``batch`` random uint8 images with blocky labels in [0, C) and ~5 % ignore (255) pixels."""
    g = torch.Generator().manual_seed(seed)
    h, w = hw
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g))
        coarse = torch.randint(0, num_classes, (1, h // 16 + 1, w // 16 + 1), generator=g)
        label = coarse.repeat_interleave(16, 1).repeat_interleave(16, 2)[:, :h, :w].clone()
        label[torch.rand(label.shape, generator=g) < 0.05] = 255
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w),
                                             ori_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=label.long())
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def static_bytes(model, optim_wrapper) -> int:
    """Bytes of the parameters, buffers and optimizer state of one variant."""
    tensors = list(model.parameters()) + list(model.buffers()) + [
        t for state in optim_wrapper.optimizer.state.values() for t in state.values()
        if torch.is_tensor(t)]
    return sum(t.numel() * t.element_size() for t in tensors)


def time_variants(models, batch, args, cuda) -> dict:
    """Interleaved train / inference timings; variant -> lists of seconds and peak bytes."""
    def sync():
        if cuda:
            torch.cuda.synchronize()
    one = dict(inputs=batch['inputs'][:1], data_samples=batch['data_samples'][:1])
    res = {v: dict(train=[], infer=[], step_peak=0, raw_peak=0) for v in models}
    for rep in range(args.warmup + args.reps):
        for v, (model, optim_wrapper) in models.items():
            model.train()
            sync()
            if cuda:
                torch.cuda.reset_peak_memory_stats()
                before = torch.cuda.memory_allocated()
            t0 = time.perf_counter()
            model.train_step(batch, optim_wrapper)
            sync()
            if rep >= args.warmup:
                res[v]['train'].append(time.perf_counter() - t0)
                if cuda:
                    peak = torch.cuda.max_memory_allocated()
                    res[v]['step_peak'] = max(res[v]['step_peak'], peak - before)
                    res[v]['raw_peak'] = max(res[v]['raw_peak'], peak)
    with torch.no_grad():
        for rep in range(args.warmup + args.infer_reps):
            for v, (model, _) in models.items():
                model.eval()
                sync()
                t0 = time.perf_counter()
                model.test_step(one)
                sync()
                if rep >= args.warmup:
                    res[v]['infer'].append(time.perf_counter() - t0)
    return res


def run_pair(name, args, tmp) -> dict:
    """Build the variants of pair ``name`` and time them; returns the pair's numbers."""
    base, _, batch, crop, k = PAIRS[name]
    if args.small:
        batch, crop = 2, (64, 128 if crop[1] > crop[0] else 64)
    classes = DATASETS.get(apis.load_config(base).test_dataloader.dataset.type).METAINFO[
        'classes']
    space = synthetic_space(classes, k, os.path.join(tmp, name, 'property_space.npz'))
    cuda = args.device.startswith('cuda')
    models, options = {}, {}
    for v, config, opts in variant_options(name, space, args, crop):
        models[v] = build(config, opts, args.device, args.amp)
        options[v] = dict(config=config, cfg_options=opts)
    res = time_variants(models, synthetic_batch(batch, crop, len(classes)), args, cuda)
    out = dict(batch=batch, crop=list(crop), num_properties=k, num_classes=len(classes),
               variants={})
    for v, r in res.items():
        train, infer = statistics.median(r['train']), statistics.median(r['infer'])
        peak = (static_bytes(*models[v]) + r['step_peak']) / GIB if cuda else None
        out['variants'][v] = dict(
            train_s=train, infer_s=infer, train_times=r['train'], infer_times=r['infer'],
            peak_gib=peak, peak_gib_raw=r['raw_peak'] / GIB if cuda else None, **options[v])
    ce = out['variants']['ce']
    for r in out['variants'].values():
        r['train_ratio'] = r['train_s'] / ce['train_s']
        r['infer_ratio'] = r['infer_s'] / ce['infer_s']
    del models
    if cuda:
        torch.cuda.empty_cache()
    return out


def table(name, pair) -> list[str]:
    h, w = pair['crop']
    lines = [f"### {name}: batch {pair['batch']}, {h}x{w}, K={pair['num_properties']}, "
             f"C={pair['num_classes']}", '',
             '| variant | train s/iter | ratio to ce | infer s/img | ratio | peak GiB |',
             '|---|---|---|---|---|---|']
    for v, r in pair['variants'].items():
        peak = 'n/a' if r['peak_gib'] is None else f"{r['peak_gib']:.2f}"
        lines.append(f"| {v} | {r['train_s']:.4f} | x{r['train_ratio']:.3f} | "
                     f"{r['infer_s']:.4f} | x{r['infer_ratio']:.3f} | {peak} |")
    return lines


def environment(args) -> dict:
    import mmengine
    import mmseg
    if args.device.startswith('cuda'):
        device = torch.cuda.get_device_name(torch.device(args.device))
    else:
        device = f'CPU {platform.processor() or platform.machine()}, ' \
                 f'{torch.get_num_threads()} threads'
    return dict(device=device, torch=torch.__version__, mmseg=mmseg.__version__,
                mmengine=mmengine.__version__, amp='bfloat16' if args.amp else None,
                small=args.small, warmup=args.warmup, reps=args.reps,
                infer_reps=args.infer_reps, pairs=args.pairs)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--pairs', nargs='+', default=list(PAIRS), choices=list(PAIRS))
    p.add_argument('--small', action='store_true',
                   help='shrunk models, 64x64 crops, batch 2, 1 warm-up + 2 reps (CPU smoke run)')
    p.add_argument('--amp', action='store_true', help='AmpOptimWrapper in bfloat16 (CUDA only)')
    p.add_argument('--device', help='default: cuda when available (cpu with --small)')
    p.add_argument('--warmup', type=int, help='discarded reps (default 3; --small 1)')
    p.add_argument('--reps', type=int, help='timed train steps per variant (default 20; '
                   '--small 2)')
    p.add_argument('--infer-reps', type=int, help='timed inferences per variant (default 20; '
                   '--small 2)')
    p.add_argument('--chunk-rows', type=int, default=64,
                   help='label rows per chunk of the prolab_chunked variant (default 64)')
    p.add_argument('--json', help='write the numbers to this file')
    args = p.parse_args(argv)
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() and not args.small else 'cpu'
    if args.amp and not args.device.startswith('cuda'):
        p.error(f'--amp needs a CUDA device (bfloat16 AmpOptimWrapper); device is {args.device}')
    for key, full, small in (('warmup', 3, 1), ('reps', 20, 2), ('infer_reps', 20, 2)):
        if getattr(args, key) is None:
            setattr(args, key, small if args.small else full)
    init_default_scope('mmseg')
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # init / paramwise logs
    env = environment(args)
    results = dict(environment=env, pairs={})
    with tempfile.TemporaryDirectory(prefix='bench_gpu_cost_') as tmp:
        for name in args.pairs:
            print(f'{name}: building and timing {", ".join(VARIANTS)} ...', flush=True)
            results['pairs'][name] = run_pair(name, args, tmp)
    print()
    for key, value in env.items():
        print(f'- {key}: {value}')
    for name, pair in results['pairs'].items():
        print('\n' + '\n'.join(table(name, pair)))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1))
        print(f'\nwrote {args.json}')
    bad = [t for pair in results['pairs'].values() for r in pair['variants'].values()
           for t in (r['train_s'], r['infer_s']) if not math.isfinite(t)]
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
