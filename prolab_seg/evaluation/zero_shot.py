"""Registered mmengine metric for generalised zero-shot segmentation (seen / unseen / hIoU).

The model predicts over *all* classes (seen and unseen); :class:`ZeroShotIoUMetric` is mmseg's
``IoUMetric`` (per-class IoU from the areas summed over the split) that also averages the IoU
separately over the seen and the unseen classes. The harmonic mean hIoU of the two is the usual
GZSL summary (ZS3Net, SPNet, ZegFormer).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch
from mmengine.logging import MMLogger, print_log
from prettytable import PrettyTable

from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from prolab_seg.image_maps import labels_out_of_range


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
class ZeroShotIoUMetric(IoUMetric):
    """Generalised zero-shot IoU: mIoU over all, the seen and the unseen classes, and hIoU.

    mmseg's ``IoUMetric`` (predictions are class indices over all ``dataset_meta['classes']``;
    each sample adds its areas from ``intersect_and_union``, gt pixels equal to
    ``ignore_index`` skipped; per-class IoU from ``total_area_to_metrics``) with the areas
    summed in float64, so that pixel counts stay exact on large splits. :meth:`compute_metrics`
    returns, in percent rounded to 2 decimals, ``aAcc``, ``mIoU`` (all classes, the value of
    ``IoUMetric``), ``mIoU_seen``, ``mIoU_unseen``, ``hIoU`` and, with ``per_class``,
    ``IoU.<class name>`` for every class. Classes with neither gt pixels nor predictions have
    NaN IoU and are left out of the means. The seen classes are all classes not named unseen.

    Args:
        unseen_classes: Names of the unseen classes; by default ``dataset_meta['unseen']``
            (``PropertyWorldDataset`` puts it there).
        ignore_index: Label ignored in the ground truth.
        per_class: Also return ``IoU.<class name>`` for every class.
        collect_device, prefix, **kwargs: See mmseg's ``IoUMetric`` (e.g. ``output_dir``,
            ``nan_to_num``).

    Raises:
        ValueError: (in ``process``) on predictions, or gt values other than ``ignore_index``,
            outside ``0..C-1``, on prediction / gt shape mismatch, on unseen names that are not
            dataset classes, or when no unseen classes are given and ``dataset_meta`` has no
            ``'unseen'`` key.
    """

    def __init__(self, unseen_classes: Sequence[str] | None = None, ignore_index: int = 255,
                 collect_device: str = 'cpu', prefix: str | None = None,
                 per_class: bool = True, **kwargs) -> None:
        super().__init__(ignore_index=ignore_index, collect_device=collect_device,
                         prefix=prefix, **kwargs)
        if isinstance(unseen_classes, str):
            raise TypeError(f'unseen_classes must be a list of class names, got the string '
                            f'{unseen_classes!r} (write [{unseen_classes!r}])')
        self.unseen_classes = None if unseen_classes is None else list(unseen_classes)
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
        """Check every sample's prediction and gt, then add its areas (``IoUMetric``)."""
        num_classes = len(self._classes())
        self._unseen_mask()  # fail on the first batch, not after the whole split
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze()
            gt = sample['gt_sem_seg']['data'].squeeze()
            if pred.shape != gt.shape:
                raise ValueError(f'pred_sem_seg shape {tuple(pred.shape)} != gt_sem_seg shape '
                                 f'{tuple(gt.shape)} ({sample.get("img_path", "?")})')
            for name, labels, ignore in (('predictions', pred, None),
                                         ('gt labels', gt, self.ignore_index)):
                bad = labels_out_of_range(labels, num_classes, ignore)
                if bad:
                    raise ValueError(
                        f'{name} {bad[:10]} are outside 0..{num_classes - 1} '
                        f'({num_classes} classes; ignore_index={self.ignore_index}) '
                        f'in {sample.get("img_path", "a sample")}')
        super().process(data_batch, data_samples)

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Seen / unseen / harmonic mIoU from the summed areas; log a class table."""
        logger: MMLogger = MMLogger.get_current_instance()
        classes = self._classes()
        unseen = self._unseen_mask()
        areas = [torch.stack(area).double().sum(0) for area in zip(*results)]
        per_class = self.total_area_to_metrics(*areas, ['mIoU'], self.nan_to_num)
        iou = per_class['IoU']
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
            aAcc=pct(per_class['aAcc']), mIoU=pct(nan_mean(iou)), mIoU_seen=pct(seen_miou),
            mIoU_unseen=pct(unseen_miou), hIoU=pct(harmonic_iou(seen_miou, unseen_miou)))
        if self.per_class:
            metrics.update((f'IoU.{name}', pct(v)) for name, v in zip(classes, iou))
        return metrics
