"""Registered mmengine metric for unsupervised segmentation (cluster ids -> Hungarian -> IoU)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from prettytable import PrettyTable

from mmseg.registry import METRICS

from .unsupervised import confusion_matrix, metrics_from_confusion


@METRICS.register_module()
class UnsupervisedSegMetric(BaseMetric):
    """Unsupervised segmentation accuracy / mIoU with Hungarian matching over the whole split.

    ``pred_sem_seg`` holds *cluster ids* (e.g. from ``EQUSSSegmentor``'s cluster probe). Each
    batch adds its cluster×class confusion matrix; :meth:`compute_metrics` sums them, matches
    clusters to classes with the Hungarian algorithm (maximising matched pixels) and reports
    ``aAcc``, ``mIoU``, ``mAcc`` in percent, like mmseg's ``IoUMetric``.

    Args:
        num_clusters: Number of cluster ids the model predicts; defaults to the number of
            classes in ``dataset_meta``. Extra (unmatched) clusters count as wrong.
        ignore_index: Label ignored in the ground truth.
        collect_device, prefix: See mmengine ``BaseMetric``.
    """

    def __init__(self, num_clusters: int | None = None, ignore_index: int = 255,
                 collect_device: str = 'cpu', prefix: str | None = None, **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_clusters = num_clusters
        self.ignore_index = ignore_index

    def _sizes(self) -> tuple[int, int]:
        num_classes = len(self.dataset_meta['classes'])
        return self.num_clusters or num_classes, num_classes

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Append the cluster×class confusion matrix of every sample to ``self.results``."""
        num_clusters, num_classes = self._sizes()
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze().cpu().numpy()
            gt = sample['gt_sem_seg']['data'].squeeze().cpu().numpy()
            self.results.append(
                confusion_matrix(pred, gt, num_clusters, num_classes, self.ignore_index))

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Hungarian-match the summed confusion matrix; log a per-class table."""
        logger: MMLogger = MMLogger.get_current_instance()
        m = metrics_from_confusion(np.sum(results, axis=0))
        table = PrettyTable()
        table.add_column('Class', list(self.dataset_meta['classes']))
        table.add_column('IoU', np.round(m['IoU'] * 100, 2).tolist())
        table.add_column('Acc', np.round(m['class_acc'] * 100, 2).tolist())
        print_log('per class results (Hungarian-matched clusters):\n' + table.get_string(),
                  logger=logger)
        return OrderedDict(aAcc=round(m['acc'] * 100, 2), mIoU=round(m['mIoU'] * 100, 2),
                           mAcc=round(m['mAcc'] * 100, 2))
