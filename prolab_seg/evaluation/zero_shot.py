"""Registered mmengine metric for generalised zero-shot segmentation (seen / unseen / hIoU).

The model predicts over *all* classes (seen and unseen); per-class IoU comes from the
confusion matrix summed over the split, and is averaged separately over the seen and the unseen
classes. The harmonic mean hIoU of the two is the usual GZSL summary (ZS3Net, SPNet, ZegFormer).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from prettytable import PrettyTable

from mmseg.registry import METRICS

from .unsupervised import confusion_matrix


def out_of_range(labels: np.ndarray, num_classes: int,
                 ignore_index: int | None = None) -> np.ndarray:
    """Sorted distinct values of ``labels`` (any shape) outside ``0..num_classes-1``.

    ``ignore_index`` (if given) counts as in range. Returns a 1-D array, empty if all are valid.
    """
    values = np.unique(np.asarray(labels))
    bad = (values < 0) | (values >= num_classes)
    if ignore_index is not None:
        bad &= values != ignore_index
    return values[bad]


def iou_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Per-class IoU = TP / (TP + FP + FN) of a C×C confusion matrix (rows gt, columns pred).

    Returns a float64 array of shape (C,); NaN for classes with neither gt pixels nor
    predictions (as mmseg's ``IoUMetric``).
    """
    conf = np.asarray(conf, dtype=np.float64)
    tp = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(union > 0, tp / union, np.nan)


def nan_mean(values: np.ndarray) -> float:
    """Mean of the non-NaN entries of ``values`` (any shape); NaN (no warning) if there are none."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float('nan')


def harmonic_iou(seen: float, unseen: float) -> float:
    """Harmonic mean 2·s·u / (s + u) of the seen and unseen mIoU; 0 if both are 0, NaN if either
    is NaN."""
    if seen + unseen == 0:
        return 0.0
    return float(2 * seen * unseen / (seen + unseen))


def unseen_mask(classes: Sequence[str], unseen: Sequence[str]) -> np.ndarray:
    """Boolean array of shape (len(classes),), True for the classes named in ``unseen``.

    Raises:
        ValueError: if a name in ``unseen`` is not in ``classes``.
    """
    classes = list(classes)
    unknown = [name for name in unseen if name not in classes]
    if unknown:
        raise ValueError(f'unseen classes {unknown} are not among the dataset classes {classes}')
    unseen = set(unseen)
    return np.array([name in unseen for name in classes], dtype=bool)


@METRICS.register_module()
class ZeroShotIoUMetric(BaseMetric):
    """Generalised zero-shot IoU: mIoU over all, the seen and the unseen classes, and hIoU.

    Reads ``pred_sem_seg`` / ``gt_sem_seg`` like mmseg's ``IoUMetric`` (predictions are class
    indices over all ``dataset_meta['classes']``). Each sample adds its C×C confusion matrix
    (rows gt, columns prediction; gt pixels equal to ``ignore_index`` are skipped);
    :meth:`compute_metrics` sums them and returns, in percent rounded to 2 decimals, ``aAcc``,
    ``mIoU`` (all classes, the same value as ``IoUMetric``), ``mIoU_seen``, ``mIoU_unseen``,
    ``hIoU`` and, with ``per_class``, ``IoU.<class name>`` for every class. Classes with neither
    gt pixels nor predictions have NaN IoU and are left out of the means. The seen classes are
    all classes not named unseen.

    Args:
        unseen_classes: Names of the unseen classes; by default ``dataset_meta['unseen']``
            (``PropertyWorldDataset`` puts it there).
        ignore_index: Label ignored in the ground truth.
        per_class: Also return ``IoU.<class name>`` for every class.
        collect_device, prefix: See mmengine ``BaseMetric``.

    Raises:
        ValueError: (in ``process``) on predictions, or gt values other than ``ignore_index``,
            outside ``0..C-1``, on prediction / gt shape mismatch, on unseen names that are not
            dataset classes, or when no unseen classes are given and ``dataset_meta`` has no
            ``'unseen'`` key.
    """

    def __init__(self, unseen_classes: Sequence[str] | None = None, ignore_index: int = 255,
                 collect_device: str = 'cpu', prefix: str | None = None,
                 per_class: bool = True, **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if isinstance(unseen_classes, str):
            raise TypeError(f'unseen_classes must be a list of class names, got the string '
                            f'{unseen_classes!r} (write [{unseen_classes!r}])')
        self.unseen_classes = None if unseen_classes is None else list(unseen_classes)
        self.ignore_index = ignore_index
        self.per_class = per_class

    def _classes(self) -> list[str]:
        meta = self.dataset_meta or {}
        if 'classes' not in meta:
            raise ValueError('ZeroShotIoUMetric needs dataset_meta[\'classes\']; '
                             f'dataset_meta keys: {sorted(meta)}')
        return list(meta['classes'])

    def _unseen_mask(self) -> np.ndarray:
        """True for the unseen classes, shape (C,) (explicit names, else dataset_meta's)."""
        classes = self._classes()
        unseen = self.unseen_classes
        if unseen is None:
            meta = self.dataset_meta or {}
            if 'unseen' not in meta:
                raise ValueError(
                    'ZeroShotIoUMetric: no unseen_classes given and dataset_meta has no '
                    f'\'unseen\' key (keys: {sorted(meta)}); pass unseen_classes=[...] or use '
                    'a dataset whose metainfo lists them')
            unseen = meta['unseen']
        return unseen_mask(classes, unseen)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Append the gt×pred confusion matrix (C×C int64) of every sample to ``self.results``."""
        num_classes = len(self._classes())
        self._unseen_mask()  # fail on the first batch, not after the whole split
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze().cpu().numpy()
            gt = sample['gt_sem_seg']['data'].squeeze().cpu().numpy()
            if pred.shape != gt.shape:
                raise ValueError(f'pred_sem_seg shape {pred.shape} != gt_sem_seg shape '
                                 f'{gt.shape} ({sample.get("img_path", "?")})')
            for name, labels, ignore in (('predictions', pred, None),
                                         ('gt labels', gt, self.ignore_index)):
                bad = out_of_range(labels, num_classes, ignore)
                if bad.size:
                    raise ValueError(
                        f'{name} {bad[:10].tolist()} are outside 0..{num_classes - 1} '
                        f'({num_classes} classes; ignore_index={self.ignore_index}) '
                        f'in {sample.get("img_path", "a sample")}')
            # confusion_matrix counts (pred, gt); transpose to gt x pred.
            self.results.append(
                confusion_matrix(pred, gt, num_classes, num_classes, self.ignore_index).T)

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Seen / unseen / harmonic mIoU from the summed confusion matrix; log a class table."""
        logger: MMLogger = MMLogger.get_current_instance()
        classes = self._classes()
        unseen = self._unseen_mask()
        conf = np.sum(results, axis=0)
        iou = iou_from_confusion(conf)
        total = conf.sum()
        acc = float(np.trace(conf) / total) if total > 0 else float('nan')
        seen_miou, unseen_miou = nan_mean(iou[~unseen]), nan_mean(iou[unseen])

        def pct(value: float) -> float:  # fraction -> percent, rounded like IoUMetric
            return round(float(value) * 100, 2)

        table = PrettyTable()
        table.add_column('Class', classes)
        table.add_column('Split', ['unseen' if u else 'seen' for u in unseen])
        table.add_column('IoU', [pct(v) for v in iou])
        print_log('per class results (generalised zero-shot):\n' + table.get_string(),
                  logger=logger)

        metrics = OrderedDict(
            aAcc=pct(acc), mIoU=pct(nan_mean(iou)), mIoU_seen=pct(seen_miou),
            mIoU_unseen=pct(unseen_miou), hIoU=pct(harmonic_iou(seen_miou, unseen_miou)))
        if self.per_class:
            metrics.update((f'IoU.{name}', pct(v)) for name, v in zip(classes, iou))
        return metrics
