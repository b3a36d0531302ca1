# Cityscapes (19 classes) in its real on-disk layout,
# through mmseg's own `CityscapesDataset` and pipelines
# (mmseg::_base_/datasets/cityscapes.py). Expected under data_root (data/cityscapes):
#   leftImg8bit/{train,val}/<city>/*_leftImg8bit.png,
#   gtFine/{train,val}/<city>/*_gtFine_labelTrainIds.png
#   (made by mmseg tools/dataset_converters/cityscapes.py)
# Point at your copy (the base resolves data_root into each dataloader) with, e.g.:
#   --cfg-options train_dataloader.dataset.data_root=D val_dataloader.dataset.data_root=D \
#   test_dataloader.dataset.data_root=D
_base_ = ['mmseg::_base_/datasets/cityscapes.py']
