# Category-supervised baseline: DeepLabV3+ R-101-D8 on coco_stuff164k (171 classes), ProLab's AdamW recipe.
# Pair: configs/prolab/prolab_deeplabv3plus_r101-d8_4xb4-160k_coco_stuff164k-512x512.py (same model, data, schedule; property label space).
_base_ = [
    '../_base_/models/deeplabv3plus_r101-d8.py',
    '../_base_/datasets/coco_stuff164k.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/prolab_adamw_160k.py',
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
train_dataloader = dict(batch_size=4)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=171),
    auxiliary_head=dict(num_classes=171))
