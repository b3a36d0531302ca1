# ADE20K (ADEChallengeData2016, 150 classes) in its real on-disk layout,
# through mmseg's own `ADE20KDataset` and pipelines
# (mmseg::_base_/datasets/ade20k.py). Expected under data_root (data/ade/ADEChallengeData2016):
#   images/{training,validation}/*.jpg, annotations/{training,validation}/*.png (0 = other)
# Point at your copy (the base resolves data_root into each dataloader) with, e.g.:
#   --cfg-options train_dataloader.dataset.data_root=D val_dataloader.dataset.data_root=D \
#   test_dataloader.dataset.data_root=D
_base_ = ['mmseg::_base_/datasets/ade20k.py']
