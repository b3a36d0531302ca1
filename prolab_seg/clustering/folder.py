"""Run multi-level clustering over a dataset folder in mmseg layout and score it.

Layout: ``ROOT/img_dir/SPLIT/*.png`` images (RGB) and, optionally, ``ROOT/ann_dir/SPLIT/*.png``
labels of the same names (uint8 class ids, 255 = ignore). Class names come from
``ROOT/meta.json`` (``classes``; written with property-world data) unless given. The split is
read by :class:`~prolab_seg.datasets.PropertyWorldDataset` (without a ``meta.json``: by mmseg's
``BaseSegDataset``, labels as stored).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from mmcv.transforms import LoadImageFromFile
from tqdm import tqdm

from mmseg.datasets import BaseSegDataset
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import MODELS
from prolab_seg.datasets.property_world import PropertyWorldDataset, read_meta

from .multilevel import LEVELS, MultiLevelResult, multilevel_segment


@dataclass
class FolderSplit:
    """Images of one split: names (file stems), N x H x W x 3 uint8 RGB, N x H x W uint8 labels
    (None without ``ann_dir/SPLIT``) and the classes they index (None without ``meta.json``)."""

    names: list[str]
    images: np.ndarray
    labels: np.ndarray | None
    classes: list[str] | None


def load_split(root: str | Path, split: str = 'val', class_subset: str = 'all',
               suffix: str = '.png') -> FolderSplit:
    """Every image (and label map, when ``ann_dir/SPLIT`` exists) of a split, read by
    :class:`~prolab_seg.datasets.PropertyWorldDataset` with ``class_subset`` (``'seen'``:
    labels of the other classes become 255). Without a ``meta.json`` mmseg's ``BaseSegDataset``
    reads it, the labels are as stored and ``class_subset`` must be ``'all'``.

    All images must share one size (stack into one array).
    """
    root = Path(root)
    meta = read_meta(root)
    if meta is None and class_subset != 'all':
        raise FileNotFoundError(f'{root / "meta.json"} not found: class_subset='
                                f'{class_subset!r} needs the seen and unseen classes of '
                                'property-world data (its meta.json lists them)')
    img_dir, with_labels = root / 'img_dir' / split, (root / 'ann_dir' / split).is_dir()
    if not any(img_dir.glob(f'*{suffix}')):
        raise FileNotFoundError(f'no *{suffix} images in {img_dir}')
    options = dict(
        data_root=str(root), data_prefix=dict(img_path=f'img_dir/{split}',
                                              seg_map_path=f'ann_dir/{split}'),
        img_suffix=suffix, seg_map_suffix=suffix,
        pipeline=[LoadImageFromFile(imdecode_backend='pillow')] + (
            [LoadAnnotations()] if with_labels else []))
    dataset = BaseSegDataset(**options) if meta is None else PropertyWorldDataset(
        class_subset=class_subset, test_mode=True, **options)
    samples = [dataset[i] for i in range(len(dataset))]
    images = np.stack([s['img'][..., ::-1] for s in samples])  # BGR -> RGB
    labels = np.stack([s['gt_seg_map'] for s in samples]) if with_labels else None
    return FolderSplit([Path(s['img_path']).stem for s in samples], images, labels,
                       None if meta is None else list(dataset.metainfo['classes']))


@torch.no_grad()
def extract_features(backbone_cfg: dict, images: np.ndarray, batch_size: int = 32,
                     progress: bool = False) -> np.ndarray:
    """Frozen features of N x H x W x 3 uint8 RGB images: N x C x h x w float32.

    The backbone (built from ``backbone_cfg`` with mmseg's ``MODELS``, in eval mode) gets
    float RGB in [0, 255] (B x 3 x H x W) and its last output is used; a backbone that
    expects normalised input must be told the mean/std (``FilterBankBackbone`` takes them).
    """
    backbone = MODELS.build(backbone_cfg).eval()
    batches = range(0, len(images), batch_size)
    feats = []
    for start in tqdm(batches, desc='features', unit='batch', disable=not progress):
        x = torch.from_numpy(images[start:start + batch_size]).permute(0, 3, 1, 2).float()
        feats.append(backbone(x)[-1].float().numpy())
    return np.concatenate(feats)


def score(result: MultiLevelResult, labels: np.ndarray, num_clusters: int, num_classes: int,
          ignore_index: int = 255) -> dict:
    """Hungarian-matched metrics (shared protocol) plus foreground statistics, JSON-ready."""
    from prolab_seg.evaluation import cluster_metrics
    m = cluster_metrics(result.labels, labels, num_clusters, num_classes, ignore_index)
    nan_to_none = lambda a: [None if np.isnan(v) else float(v) for v in a]  # noqa: E731
    return dict(acc=m['acc'], mIoU=m['mIoU'], mAcc=m['mAcc'], IoU=nan_to_none(m['IoU']),
                mapping=m['mapping'].tolist(),
                foreground_fraction=float(result.foreground.mean()),
                level_foreground_fraction=dict(zip(LEVELS, result.level_masks.mean(
                    axis=(1, 2, 3)).astype(float).tolist())))


def segment_folder(root: str | Path, split: str = 'val', num_fg_clusters: int | None = None,
                   num_bg_clusters: int = 1, num_categories: int | None = None,
                   min_votes: int = 2, backbone_cfg: dict | None = None,
                   num_classes: int | None = None, batch_size: int = 32, seed: int = 0,
                   progress: bool = False) -> tuple[FolderSplit, MultiLevelResult, dict | None]:
    """Load a split, extract frozen features, cluster, and score against its labels.

    Args:
        root, split: dataset folder and split.
        num_fg_clusters: foreground clusters (default ``num_classes - num_bg_clusters``).
        num_bg_clusters, num_categories, min_votes, seed: see :func:`multilevel_segment`.
        backbone_cfg: frozen backbone (default ``FilterBankBackbone``, stride 4).
        num_classes: classes of the labels (default: ``meta.json``'s class count).

    Returns:
        the loaded split, the clustering result (labels at image size) and the metrics dict of
        :func:`score` (None when the split has no labels).
    """
    data = load_split(root, split)
    if num_classes is None and data.classes is not None:
        num_classes = len(data.classes)
    if num_fg_clusters is None:
        if num_classes is None:
            raise ValueError('give num_fg_clusters or num_classes (no meta.json)')
        num_fg_clusters = num_classes - num_bg_clusters
    feats = extract_features(backbone_cfg or dict(type='FilterBankBackbone', stride=4),
                             data.images, batch_size, progress)
    result = multilevel_segment(feats, num_fg_clusters, num_bg_clusters, num_categories,
                                min_votes, out_size=data.images.shape[1:3], seed=seed)
    metrics = None
    if data.labels is not None and num_classes is not None:
        metrics = score(result, data.labels, num_bg_clusters + num_fg_clusters, num_classes)
    return data, result, metrics
