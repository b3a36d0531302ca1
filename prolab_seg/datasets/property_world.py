"""mmseg dataset class for property-world data written by ``tools/make_dataset.py``."""
from __future__ import annotations

from typing import Any

import torch
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .spec import spec_metainfo


@DATASETS.register_module()
class PropertyWorldDataset(BaseSegDataset):
    """Property-world images (``img_dir/<split>/*.png``) and labels (``ann_dir/<split>/*.png``).

    ``METAINFO`` holds all categories of the default spec in label order (seen first). Pass
    ``metainfo=dict(classes=SEEN_CLASSES)`` to train on seen categories only: mmseg's label map
    then sends every other category to 255 (ignored). Data written from another spec needs a
    subclass with that spec's classes::

        @DATASETS.register_module()
        class MyWorldDataset(PropertyWorldDataset):
            METAINFO = spec_metainfo('my_spec.json')

    mmseg's ``LoadAnnotations`` passes label values outside the class list through unchanged,
    which later fails deep inside a loss or metric. This class therefore checks each label map
    its pipeline loads: values must be class indices or ``ignore_index``, else a ``ValueError``
    names the file.
    """

    METAINFO = spec_metainfo()

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False, **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

    def prepare_data(self, idx: int) -> Any:
        data = super().prepare_data(idx)
        samples = data.get('data_samples') if isinstance(data, dict) else None
        for sample in samples if isinstance(samples, list) else [samples]:
            if sample is not None and 'gt_sem_seg' in sample:
                self._check_labels(sample.gt_sem_seg.data, idx)
        return data

    def _check_labels(self, label: torch.Tensor, idx: int) -> None:
        num_classes = len(self.metainfo['classes'])
        bad = label[(label >= num_classes) & (label != self.ignore_index)]
        if bad.numel():
            raise ValueError(
                f'{self.get_data_info(idx)["seg_map_path"]}: label values '
                f'{sorted(bad.unique().tolist())} are neither class indices '
                f'0..{num_classes - 1} of {type(self).__name__} nor ignore_index '
                f'{self.ignore_index}; was it written from another spec? (see the class doc)')
