# COCO-Stuff-164k (171 classes) in its real on-disk layout,
# through mmseg's own `COCOStuffDataset` and pipelines
# (mmseg::_base_/datasets/coco-stuff164k.py). Expected under data_root (data/coco_stuff164k):
#   images/{train2017,val2017}/*.jpg, annotations/{train2017,val2017}/*_labelTrainIds.png
#   (made by mmseg tools/dataset_converters/coco_stuff164k.py)
# Point at your copy (the base resolves data_root into each dataloader) with, e.g.:
#   --cfg-options train_dataloader.dataset.data_root=D val_dataloader.dataset.data_root=D \
#   test_dataloader.dataset.data_root=D
_base_ = ['mmseg::_base_/datasets/coco-stuff164k.py']
