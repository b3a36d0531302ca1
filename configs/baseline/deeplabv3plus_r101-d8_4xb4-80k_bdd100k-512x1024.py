# Category-supervised baseline: DeepLabV3+ R-101-D8 on bdd100k (19 classes), ProLab's AdamW recipe.
# Pair: configs/prolab/prolab_deeplabv3plus_r101-d8_4xb4-80k_bdd100k-512x1024.py (same model, data, schedule; property label space).
_base_ = [
    '../_base_/models/deeplabv3plus_r101-d8.py',
    '../_base_/datasets/bdd100k.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/prolab_adamw_80k.py',
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
train_dataloader = dict(batch_size=4)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19))
