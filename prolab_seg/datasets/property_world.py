"""mmseg dataset class for property-world data (written by
``python -m projects.property_world.make_dataset``), and the reader of its ``meta.json``."""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Any, Sequence

import torch
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from prolab_seg.image_maps import labels_out_of_range

#: ``format`` of a ``meta.json`` written with property-world data
#: (``projects.property_world.datasets.write_property_world``).
META_FORMAT = 'prolab-seg/property-world@1'
CLASS_SUBSETS = ('all', 'seen', 'unseen')


def read_meta(data_root: str | os.PathLike | None) -> dict | None:
    """``data_root/meta.json`` of a generated dataset (None if absent); ``ValueError`` naming
    the file and field if it is malformed."""
    if not data_root:
        return None
    path = osp.join(data_root, 'meta.json')
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as fh:
            meta = json.load(fh)
    except (OSError, ValueError) as err:
        raise ValueError(f'{path}: not a readable JSON file: {err}') from err
    if not isinstance(meta, dict) or meta.get('format') != META_FORMAT:
        raise ValueError(f'{path}: expected "format": {META_FORMAT!r}')
    for key in ('classes', 'seen', 'unseen', 'palette'):
        if not isinstance(meta.get(key), list):
            raise ValueError(f'{path}: field {key!r} must be a list')
    if meta['classes'] != meta['seen'] + meta['unseen']:
        raise ValueError(f'{path}: "classes" must be "seen" followed by "unseen"')
    return meta


@DATASETS.register_module()
class PropertyWorldDataset(BaseSegDataset):
    """Property-world images (``img_dir/<split>/*.png``) and labels (``ann_dir/<split>/*.png``).

    The categories come from the data itself: ``data_root/meta.json`` (written with the data)
    lists all classes in label order and which are seen and unseen, so data generated from any
    spec loads without code; a ``data_root`` without one is a ``FileNotFoundError``.

    Args:
        class_subset: ``'all'`` classes, only the ``'seen'`` ones (for training; other labels
            become 255, ignored) or only the ``'unseen'`` ones (zero-shot test). An explicit
            ``metainfo=dict(classes=...)`` (a subset of the data's classes) may be given instead.

    ``metainfo`` also carries ``seen`` and ``unseen`` (the subset's classes in each group), which
    :class:`~prolab_seg.evaluation.ZeroShotIoUMetric` reads. mmseg's ``LoadAnnotations`` passes
    label values outside the class list through unchanged, which later fails deep inside a loss
    or metric; this class checks each label map its pipeline loads: values must be class indices
    or ``ignore_index``, else a ``ValueError`` names the file.
    """

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False, class_subset: str = 'all',
                 **kwargs) -> None:
        if class_subset not in CLASS_SUBSETS:
            raise ValueError(f'class_subset must be one of {CLASS_SUBSETS}, got {class_subset!r}')
        if class_subset != 'all' and (kwargs.get('metainfo') or {}).get('classes'):
            raise ValueError('give either class_subset or metainfo=dict(classes=...), not both')
        self.class_subset = class_subset
        self._data_meta = read_meta(kwargs.get('data_root'))
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

    def _all_metainfo(self) -> dict:
        meta = self._data_meta
        if meta is None:
            raise FileNotFoundError(
                f'{osp.join(self.data_root or "", "meta.json")} not found: {type(self).__name__} '
                'reads the classes from the meta.json written with the data (python -m '
                'projects.property_world.make_dataset --out DATA_ROOT)')
        return dict(classes=tuple(meta['classes']), palette=meta['palette'],
                    seen=list(meta['seen']), unseen=list(meta['unseen']))

    def _load_metainfo(self, metainfo: dict | None = None) -> dict:
        """All classes of the data, narrowed to ``class_subset`` or ``metainfo['classes']``
        (an instance method: the classes depend on ``data_root``, not on the class)."""
        info = self._all_metainfo()
        metainfo = dict(metainfo or {})
        classes = metainfo.pop('classes', None)
        if classes is None and self.class_subset != 'all':
            classes = info[self.class_subset]
        if classes is not None:
            unknown = [c for c in classes if c not in info['classes']]
            if unknown:
                raise ValueError(f'classes {unknown} are not in the data\'s classes '
                                 f'{list(info["classes"])} (meta.json of the data root)')
            info['palette'] = [info['palette'][info['classes'].index(c)] for c in classes]
            info['classes'] = tuple(classes)
        info['seen'] = [c for c in info['classes'] if c in info['seen']]
        info['unseen'] = [c for c in info['classes'] if c in info['unseen']]
        info.update(metainfo)
        return info

    def get_label_map(self, new_classes: Sequence[str] | None = None) -> dict | None:
        """Data label id -> id in ``new_classes`` (255 for the others); None if unchanged."""
        old = list(self._all_metainfo()['classes'])
        if new_classes is None or list(new_classes) == old:
            return None
        return {i: list(new_classes).index(c) if c in new_classes else 255
                for i, c in enumerate(old)}

    def _update_palette(self) -> list:
        return self._metainfo['palette']

    def prepare_data(self, idx: int) -> Any:
        data = super().prepare_data(idx)
        samples = data.get('data_samples') if isinstance(data, dict) else None
        for sample in samples if isinstance(samples, list) else [samples]:
            if sample is not None and 'gt_sem_seg' in sample:
                self._check_labels(sample.gt_sem_seg.data, idx)
        return data

    def _check_labels(self, label: torch.Tensor, idx: int) -> None:
        num_classes = len(self.metainfo['classes'])
        bad = labels_out_of_range(label, num_classes, self.ignore_index)
        if bad:
            raise ValueError(
                f'{self.get_data_info(idx)["seg_map_path"]}: label values '
                f'{bad} are neither class indices '
                f'0..{num_classes - 1} of {type(self).__name__} nor ignore_index '
                f'{self.ignore_index}; was it written from another spec? (see the class doc)')
