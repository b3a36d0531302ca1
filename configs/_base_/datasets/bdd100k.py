# BDD100K semantic segmentation (19 classes) in its real on-disk layout,
# through mmseg's own `BDD100KDataset` and pipelines
# (mmseg::_base_/datasets/bdd100k.py). Expected under data_root (data/bdd100k):
#   images/10k/{train,val}/*.jpg, labels/sem_seg/masks/{train,val}/*.png
# Point at your copy (the base resolves data_root into each dataloader) with, e.g.:
#   --cfg-options train_dataloader.dataset.data_root=D val_dataloader.dataset.data_root=D \
#   test_dataloader.dataset.data_root=D
_base_ = ['mmseg::_base_/datasets/bdd100k.py']
