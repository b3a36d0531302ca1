# Category-supervised baseline: DeepLabV3+ R-101-D8 on ade20k (150 classes), ProLab's AdamW recipe.
# Pair: configs/prolab/prolab_deeplabv3plus_r101-d8_4xb4-160k_ade20k-512x512.py (same model, data, schedule; property label space).
_base_ = [
    '../_base_/models/deeplabv3plus_r101-d8.py',
    '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/prolab_adamw_160k.py',
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
train_dataloader = dict(batch_size=4)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
