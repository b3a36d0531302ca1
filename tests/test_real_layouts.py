"""Real-dataset configs load tiny fake copies (real on-disk layouts) through mmseg's pipelines."""
from __future__ import annotations

import pytest

import prolab_seg  # noqa: F401  (compat first: mmseg with mmcv-lite)
from mmengine.registry import init_default_scope  # noqa: E402
from mmseg.registry import DATASETS  # noqa: E402

# name -> (mmseg dataset class, number of classes, whether label 0 is dropped (reduce_zero_label))
EXPECTED = dict(
    ade20k=('ADE20KDataset', 150, True),
    coco_stuff164k=('COCOStuffDataset', 171, False),
    pascal_context59=('PascalContextDataset59', 59, True),
    cityscapes=('CityscapesDataset', 19, False),
    bdd100k=('BDD100KDataset', 19, False),
)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_real_layout_loads_through_mmseg_pipeline(name, fake_dataset_cfg):
    cls_name, num_classes, reduce_zero = EXPECTED[name]
    cfg = fake_dataset_cfg(name)
    init_default_scope('mmseg')
    for key, crop in (('train_dataloader', cfg.crop_size), ('val_dataloader', None)):
        dataset = DATASETS.build(cfg[key].dataset)
        assert type(dataset).__name__ == cls_name and len(dataset) == 2
        assert len(dataset.metainfo['classes']) == num_classes
        assert dataset.reduce_zero_label == reduce_zero
        sample = dataset[0]
        labels = sample['data_samples'].gt_sem_seg.data
        if crop is not None:  # resized, then cropped (no padding: may be below crop_size)
            assert all(s <= c for s, c in zip(sample['inputs'].shape[1:], crop))
            assert sample['inputs'].shape[1:] == labels.shape[1:]
        assert set(labels.unique().tolist()) <= set(range(num_classes)) | {255}
