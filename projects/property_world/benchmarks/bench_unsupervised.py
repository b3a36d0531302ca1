"""Unsupervised segmentation on property-world with one frozen backbone: one table, one seed.

    OMP_NUM_THREADS=1 python -m projects.property_world.benchmarks.bench_unsupervised
        [--data-root data/property_world_v1] [--iters 300] [--seed 0] [--methods NAME ...]
        [--no-throughput] [--backbone filterbank|mobilenet_v2]

The data is property-world v1 (``specs/property_world_v1.json``, 18 seen + 6 unseen), made with
that spec if ``--data-root`` holds none; the class count is its meta.json's ``seen`` list (so any
generated property-world data works, whatever the default spec is).

Everything uses the same frozen backbone features (``--backbone``: ``filterbank`` =
``FilterBankBackbone``, stride 4, 14-d; ``mobilenet_v2`` = torchvision's ImageNet MobileNetV2,
``offline://mobilenet_v2``, dilated to output stride 8, its last layer's 320-d features of the
images upsampled 2x to 128 px) and the same evaluation protocol (``prolab_seg.evaluation.unsupervised``), at feature-map resolution (labels
nearest-downsampled to 16×16), on the seen classes (v1: 18; unseen-class pixels ignored):
  unsup acc/mIoU  k-means (k = #seen classes, cosine) fitted on the val features + Hungarian
                  matching
  LP acc/mIoU     linear probe trained on (a random 20k-pixel subset of) the train features
  bits/loc        nominal storage per feature-map location (float32 features: 32·C; PQ: M·log2 K)
                  and, for PQ, the empirical code entropy (sum over codebooks of the marginal
                  codeword-usage entropy) in parentheses, then the mean over classes of the
                  per-class code entropy (``class_code_entropy`` of the val codes: the paper's
                  analysis; low = a class uses few codewords)
  s/iter          mean wall-clock training time per iteration (batch 8; shared CPU: noisy)
  wall s, peak MB the whole row (training + evaluation) and how far the process's peak RSS rose
                  during it (rows share one process: a later row can reuse memory an earlier
                  one freed, so run rows alone with --methods for clean memory numbers)
Then PQ throughput (pixels/s, forward + backward) vs a plain VQ with M·K codewords.

METHOD INTERFACE — add a row by registering a function::

    @register('my method')
    def my_method(data: BenchData, seed: int) -> dict[str, float | str]:
        ...  # train on data.train_images (no labels!), then e.g.
        return evaluate_features(data, train_feats, val_feats, seed)  # + dict(s_per_iter=...)

``BenchData`` holds uint8-range float RGB images N×3×64×64 and long labels N×64×64 (255 =
ignore) for both splits, ``num_classes``, the frozen ``backbone`` (``data.features(images)``),
the training budget ``iters`` (batch 8) and ``labels_at(labels, hw)``.
``evaluate_features(data, train_feats, val_feats, seed)`` takes N×C×h×w feature maps and returns
``unsup_acc, unsup_mIoU, lp_acc, lp_mIoU`` (fractions). A method may instead return its own
cluster-id maps through ``evaluate_clusters(data, val_ids)``. Recognised keys (others ignored,
missing ones printed as '-'): unsup_acc, unsup_mIoU, lp_acc, lp_mIoU, bits, s_per_iter.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

import prolab_seg  # noqa: F401  (registers modules)
from benchmarks._memory import measure  # the repository's benchmarks/ (run from its root)
from mmseg.registry import MODELS
from prolab_seg.clustering import folder
from prolab_seg.datasets.property_world import read_meta
from prolab_seg.evaluation import (class_code_entropy, cluster_metrics, code_bits_per_pixel,
                                   codeword_histogram, kmeans_cluster_probe, linear_probe)
from prolab_seg.models.equss import ProductQuantizer

from ..datasets import write_property_world
from ..datasets.spec import V1_SPEC

MOBILENET_V2 = dict(
    type='MobileNetV2', strides=(1, 2, 2, 1, 1, 1, 1), dilations=(1, 1, 1, 2, 2, 4, 4),
    out_indices=(6, ), init_cfg=dict(type='Pretrained', checkpoint='offline://mobilenet_v2'))
IMAGENET = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])

PROJECT = Path(__file__).resolve().parents[1]  # projects/property_world
REPO = PROJECT.parents[1]
#: Default data: property-world v1 (the README's table; the configs' data_root too).
DEFAULT_DATA_ROOT = REPO / 'data' / 'property_world_v1'
#: The frozen backbones (``--backbone``): configs taking RGB 0..255 images, and channels.
BACKBONES = dict(
    filterbank=(dict(type='FilterBankBackbone', stride=4), 14),
    mobilenet_v2=(dict(type='InputAdapter', backbone=MOBILENET_V2, scale_factor=2, **IMAGENET),
                  320))
BATCH = 8
LP_PIXELS = 20000


@dataclass
class BenchData:
    """Both splits in memory plus the frozen backbone shared by every method."""
    train_images: torch.Tensor  # N×3×H×W float, RGB in [0, 255]
    train_labels: torch.Tensor  # N×H×W long, 255 = ignore
    val_images: torch.Tensor
    val_labels: torch.Tensor
    num_classes: int
    backbone: torch.nn.Module
    iters: int = 300  # training iterations for methods that train
    root: Path | None = None  # where the data came from
    backbone_name: str = 'filterbank'  # key of BACKBONES

    @property
    def backbone_cfg(self) -> dict:
        return BACKBONES[self.backbone_name][0]

    @property
    def channels(self) -> int:
        return BACKBONES[self.backbone_name][1]

    @staticmethod
    def labels_at(labels: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        """Nearest-downsample N×H×W labels to N×h×w."""
        return F.interpolate(labels[:, None].float(), size=hw, mode='nearest')[:, 0].long()

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Frozen backbone features N×C×h×w, in batches."""
        return torch.cat([self.backbone(images[i:i + 64])[0] for i in range(0, len(images), 64)])


METHODS: dict[str, Callable[[BenchData, int], dict]] = {}


def register(name: str):
    """Decorator adding a method (a row of the table) under ``name``."""
    def deco(fn: Callable[[BenchData, int], dict]) -> Callable[[BenchData, int], dict]:
        METHODS[name] = fn
        return fn
    return deco


def load_split(root: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images N×3×H×W (RGB, 0..255) and labels N×H×W of the seen classes
    (``PropertyWorldDataset``'s ``class_subset='seen'``: unseen-class pixels -> 255)."""
    data = folder.load_split(root, split, class_subset='seen')
    return (torch.from_numpy(data.images).permute(0, 3, 1, 2).float(),
            torch.from_numpy(data.labels.astype(np.int64)))


def _pixels(feats: torch.Tensor) -> np.ndarray:
    """N×C×h×w -> (N·h·w)×C numpy."""
    return feats.permute(0, 2, 3, 1).reshape(-1, feats.shape[1]).numpy()


def evaluate_clusters(data: BenchData, val_ids: torch.Tensor) -> dict[str, float]:
    """Hungarian-matched acc/mIoU of N×h×w cluster ids (k = num_classes) on the val split."""
    gt = data.labels_at(data.val_labels, tuple(val_ids.shape[1:]))
    m = cluster_metrics(val_ids.numpy(), gt.numpy(), data.num_classes, data.num_classes)
    return dict(unsup_acc=m['acc'], unsup_mIoU=m['mIoU'])


def evaluate_features(data: BenchData, train_feats: torch.Tensor, val_feats: torch.Tensor,
                      seed: int) -> dict[str, float]:
    """The shared protocol on N×C×h×w features: k-means cluster probe + linear probe."""
    hw = tuple(val_feats.shape[2:])
    ids = kmeans_cluster_probe(_pixels(val_feats), data.num_classes, random_state=seed)
    out = evaluate_clusters(data, torch.from_numpy(ids).view(len(val_feats), *hw))
    x, y = _pixels(train_feats), data.labels_at(data.train_labels, hw).reshape(-1).numpy()
    keep = np.random.default_rng(seed).permutation(len(x))[:LP_PIXELS]
    lp = linear_probe(x[keep], y[keep], _pixels(val_feats),
                      data.labels_at(data.val_labels, hw).reshape(-1).numpy(),
                      data.num_classes, seed=seed)
    return dict(out, lp_acc=lp['acc'], lp_mIoU=lp['mIoU'])


def train_equss(data: BenchData, seed: int, channels: int,
                quantizer: dict | None) -> tuple[torch.nn.Module, float]:
    """Train an ``EQUSSSegmentor`` head (no labels) with AdamW; returns (model, s/iter)."""
    torch.manual_seed(seed)
    model = MODELS.build(dict(
        type='EQUSSSegmentor', backbone=data.backbone_cfg,
        head=dict(type='ExpansionHead', in_channels=data.channels, channels=channels),
        quantizer=quantizer,
        corr_loss=dict(type='STEGOCorrelationLoss', center_feats=True),
        feature_bank=dict(type='FeatureBank', size=256, num_neighbors=7),
        cluster_probe=dict(type='ClusterProbe', channels=channels, num_clusters=data.num_classes),
        probe_on='quantized' if quantizer else 'code'))
    model.backbone.init_weights()  # pretrained weights, if any
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-4,
                            weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    start = time.perf_counter()
    for _ in range(data.iters):
        idx = torch.randint(len(data.train_images), (BATCH, ), generator=gen)
        loss = sum(model.loss(data.train_images[idx], None).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), (time.perf_counter() - start) / data.iters


@torch.no_grad()
def encode(model: torch.nn.Module, images: torch.Tensor, key: str) -> torch.Tensor:
    """``model.encode(...)[key]`` over all images, in batches."""
    return torch.cat([model.encode(images[i:i + 64])[key] for i in range(0, len(images), 64)])


def _pq_row(data: BenchData, seed: int, channels: int, num_codebooks: int,
            num_codewords: int, reinit_interval: int = 0) -> dict:
    pq = dict(type='ProductQuantizer', dim=channels, num_codebooks=num_codebooks,
              num_codewords=num_codewords, reinit_interval=reinit_interval)
    model, s_iter = train_equss(data, seed, channels, pq)
    out = evaluate_features(data, encode(model, data.train_images, 'quantized'),
                            encode(model, data.val_images, 'quantized'), seed)
    codes = encode(model, data.val_images, 'codes')
    empirical = code_bits_per_pixel(_pixels(codes), num_codewords)
    nominal = num_codebooks * np.log2(num_codewords)
    labels = data.labels_at(data.val_labels, tuple(codes.shape[2:])).reshape(-1).numpy()
    per_class = class_code_entropy(codeword_histogram(_pixels(codes), labels, num_codewords,
                                                      data.num_classes))
    return dict(out, bits=f'{nominal:.0f} ({empirical:.1f}; class {np.nanmean(per_class):.1f})',
                s_per_iter=s_iter)


@register('raw features + k-means')
def raw_kmeans(data: BenchData, seed: int) -> dict:
    tr, va = data.features(data.train_images), data.features(data.val_images)
    return dict(evaluate_features(data, tr, va, seed), bits=str(32 * tr.shape[1]))


@register('expand D=1024, no PQ')
def expand_no_pq(data: BenchData, seed: int) -> dict:
    model, s_iter = train_equss(data, seed, 1024, None)
    out = evaluate_features(data, encode(model, data.train_images, 'code'),
                            encode(model, data.val_images, 'code'), seed)
    return dict(out, bits=str(32 * 1024), s_per_iter=s_iter)


@register('reduce D=8 + PQ (M=2, K=32)')
def reduce_pq(data: BenchData, seed: int) -> dict:
    return _pq_row(data, seed, channels=8, num_codebooks=2, num_codewords=32)


@register('EQUSS: expand D=1024 + PQ (M=32, K=32)')
def equss(data: BenchData, seed: int) -> dict:
    return _pq_row(data, seed, channels=1024, num_codebooks=32, num_codewords=32)


@register('EQUSS + dead-codeword re-init every 20 it')
def equss_reinit(data: BenchData, seed: int) -> dict:
    return _pq_row(data, seed, channels=1024, num_codebooks=32, num_codewords=32,
                   reinit_interval=20)


# -- IIC and multi-level clustering rows (issue 6) -------------------------------------------
IIC_CONFIG = PROJECT / 'configs' / 'iic' / 'iic_resnet18-tiny_property-world_2k.py'


def iic_inputs(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """RGB 0..255 images normalised with the model's data preprocessor mean/std."""
    return (images - model.data_preprocessor.mean) / model.data_preprocessor.std


def iic_config(data_root: str | Path | None = None):
    """The project's ``configs/iic`` config, its dataloaders pointed at ``data_root`` (when
    given)."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(IIC_CONFIG))
    if data_root is not None:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key].dataset.data_root = str(data_root)
    return cfg


def train_iic(data: BenchData, seed: int,
              frozen_backbone: bool = False) -> tuple[torch.nn.Module, float]:
    """Train the ``configs/iic`` IICSegmentor (no labels) with the config's Adam: from scratch,
    or (``frozen_backbone``) only its head, on the frozen pretrained ``data`` backbone (fed the
    config's normalised images); returns (model in eval mode, s/iter)."""
    cfg = iic_config(data.root)
    if cfg.num_clusters != data.num_classes:
        print(f'warning: {IIC_CONFIG.name} has {cfg.num_clusters} main clusters (v1\'s seen '
              f'classes) but {data.root} has {data.num_classes}', file=sys.stderr, flush=True)
    if frozen_backbone:
        adapter = {k: v for k, v in data.backbone_cfg.items() if k not in ('mean', 'std')}
        cfg.model.backbone = dict(adapter, backbone=dict(adapter['backbone'], frozen_stages=6,
                                                         norm_eval=True))
        cfg.model.decode_head.in_channels = data.channels
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    if frozen_backbone:
        model.backbone.init_weights()
        model.backbone.requires_grad_(False)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad],
                           lr=cfg.optim_wrapper.optimizer.lr)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    start = time.perf_counter()
    for _ in range(data.iters):
        idx = torch.randint(len(data.train_images), (BATCH, ), generator=gen)
        loss = sum(model.loss(iic_inputs(model, data.train_images[idx]), None).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), (time.perf_counter() - start) / data.iters


@torch.no_grad()
def iic_encode(model: torch.nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IIC head features N×C×h×w and main-head cluster ids N×h×w of RGB 0..255 images."""
    feats = torch.cat([model.decode_head.features(model.extract_feat(iic_inputs(model, x)))
                       for x in images.split(64)])
    return feats, model.decode_head.conv_seg(feats).argmax(1)


def iic_row(data: BenchData, seed: int, frozen_backbone: bool) -> dict:
    model, s_iter = train_iic(data, seed, frozen_backbone)
    val_feats, val_ids = iic_encode(model, data.val_images)
    probes = evaluate_features(data, iic_encode(model, data.train_images)[0], val_feats, seed)
    return dict(evaluate_clusters(data, val_ids), lp_acc=probes['lp_acc'],
                lp_mIoU=probes['lp_mIoU'], bits=str(32 * val_feats.shape[1]), s_per_iter=s_iter)


@register('IIC (from scratch, main head)')
def iic(data: BenchData, seed: int) -> dict:
    return iic_row(data, seed, frozen_backbone=False)


@register('IIC head on the frozen backbone (main head)')
def iic_frozen(data: BenchData, seed: int) -> dict:
    return iic_row(data, seed, frozen_backbone=True)


#: Rows that only make sense on one kind of backbone (the filter bank has nothing to freeze
#: under an IIC head; IIC from scratch ignores a pretrained backbone).
ONLY_ON = {'IIC (from scratch, main head)': 'filterbank',
           'IIC head on the frozen backbone (main head)': 'mobilenet_v2'}


def multilevel_row(data: BenchData, seed: int, num_bg_clusters: int) -> dict:
    """Multi-level clustering of the frozen val features (no training, no linear probe: the
    features are the raw ones); ``num_classes`` clusters, ``num_bg_clusters`` of background."""
    from prolab_seg.clustering import multilevel_segment

    feats = data.features(data.val_images).numpy()
    res = multilevel_segment(feats, data.num_classes - num_bg_clusters, num_bg_clusters,
                             seed=seed)
    return evaluate_clusters(data, torch.from_numpy(res.labels))


@register('multi-level clustering (1 bg cluster, paper)')
def multilevel_paper(data: BenchData, seed: int) -> dict:
    return multilevel_row(data, seed, num_bg_clusters=1)


@register('multi-level clustering (4 bg clusters)')
def multilevel_4bg(data: BenchData, seed: int) -> dict:
    return multilevel_row(data, seed, num_bg_clusters=4)


def pq_throughput(pixels: int = 4096, dim: int = 1024, m: int = 32, k: int = 32,
                  repeats: int = 5) -> list[tuple[str, float]]:
    """Pixels/s (forward + backward) of PQ (M codebooks × K) vs plain VQ (1 codebook × M·K)."""
    rows = []
    for name, books, words in ((f'PQ M={m} K={k}', m, k), (f'plain VQ K={m * k}', 1, m * k)):
        torch.manual_seed(0)
        q = ProductQuantizer(dim=dim, num_codebooks=books, num_codewords=words)
        z = torch.randn(1, dim, 1, pixels, requires_grad=True)
        times = []
        for _ in range(repeats + 1):  # first run = warm-up
            start = time.perf_counter()
            z_q, _, loss = q(z)
            (z_q.sum() + loss).backward()
            times.append(time.perf_counter() - start)
        rows.append((name, pixels / float(np.median(times[1:]))))
    return rows


def fmt(v: float | str | None) -> str:
    """Table cell: strings as is, '-' for missing, 3 decimals below 10."""
    if isinstance(v, str):
        return v
    return '-' if v is None else f'{v:.3f}' if v < 10 else f'{v:.0f}'


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """Aligned markdown table."""
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    lines = ['| ' + ' | '.join(c.ljust(w) for c, w in zip(r, widths)) + ' |'
             for r in [header] + rows]
    lines.insert(1, '|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    return '\n'.join(lines)


def seen_class_count(root: Path) -> int:
    """Number of seen classes of generated property-world data (its meta.json ``seen``)."""
    meta = read_meta(root)
    if meta is None:
        raise FileNotFoundError(f'{root / "meta.json"} not found: property-world data made by '
                                'projects.property_world.make_dataset (or this benchmark) '
                                'has one')
    return len(meta['seen'])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default=str(DEFAULT_DATA_ROOT),
                   help='property-world data (made with the v1 spec if it holds none)')
    p.add_argument('--num-train', type=int, default=200, help='when the data must be made')
    p.add_argument('--num-val', type=int, default=50, help='when the data must be made')
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--methods', nargs='+', help=f'subset of: {list(METHODS)}')
    p.add_argument('--no-throughput', action='store_true')
    p.add_argument('--backbone', choices=list(BACKBONES), default='filterbank',
                   help='frozen features of every row (mobilenet_v2: ImageNet weights, offline)')
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    init_default_scope('mmseg')
    root = Path(args.data_root)
    if not (root / 'img_dir').is_dir():
        print(f'making property-world v1 at {root}', flush=True)
        write_property_world(root, spec=V1_SPEC, seed=args.seed, num_train=args.num_train,
                             num_val=args.num_val, size=64)
    num_classes = seen_class_count(root)
    tr_x, tr_y = load_split(root, 'train')
    va_x, va_y = load_split(root, 'val')
    backbone = MODELS.build(BACKBONES[args.backbone][0])
    backbone.init_weights()  # pretrained weights, if any
    data = BenchData(tr_x, tr_y, va_x, va_y, num_classes, backbone.eval(), args.iters, root,
                     args.backbone)
    print(f'property-world {root}: {len(tr_x)} train / {len(va_x)} val, {num_classes} classes, '
          f'{args.iters} iters, seed {args.seed}, frozen backbone {args.backbone}', flush=True)
    keys = ['unsup_acc', 'unsup_mIoU', 'lp_acc', 'lp_mIoU', 'bits', 's_per_iter', 'wall_s',
            'peak_mb']
    header = ['method', 'unsup acc', 'unsup mIoU', 'LP acc', 'LP mIoU', 'bits/loc', 's/iter',
              'wall s', 'peak MB']
    rows = []
    methods = args.methods or [m for m in METHODS if ONLY_ON.get(m, args.backbone) == args.backbone]
    for name in methods:
        with measure({}) as m:  # the row's wall time and peak-RSS rise
            res = METHODS[name](data, args.seed)
        res = dict(res, wall_s=m['time_s'], peak_mb=max(0.0, m['delta_mib']))
        rows.append([name] + [fmt(res.get(k)) for k in keys])
        print(f'  {name}: done in {res["wall_s"]:.0f}s', file=sys.stderr, flush=True)
    print(markdown_table(header, rows))
    if not args.no_throughput:
        print('\n| quantizer (D=1024, 4096 px) | pixels/s fwd+bwd |\n|---|---|')
        for name, pps in pq_throughput():
            print(f'| {name} | {pps:,.0f} |')


if __name__ == '__main__':
    main()
