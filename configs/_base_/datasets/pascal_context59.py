# Pascal Context 59 in its real on-disk layout,
# through mmseg's own `PascalContextDataset59` and pipelines
# (mmseg::_base_/datasets/pascal_context_59.py). Expected under data_root (data/VOCdevkit/VOC2010):
#   JPEGImages/*.jpg, SegmentationClassContext/*.png (0 = background),
#   ImageSets/SegmentationContext/{train,val}.txt
#   (made by mmseg tools/dataset_converters/pascal_context.py)
# Point at your copy (the base resolves data_root into each dataloader) with, e.g.:
#   --cfg-options train_dataloader.dataset.data_root=D val_dataloader.dataset.data_root=D \
#   test_dataloader.dataset.data_root=D
_base_ = ['mmseg::_base_/datasets/pascal_context_59.py']
