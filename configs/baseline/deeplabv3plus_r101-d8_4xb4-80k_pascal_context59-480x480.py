# Category-supervised baseline: DeepLabV3+ R-101-D8 on pascal_context59 (59 classes), ProLab's AdamW recipe.
# Pair: configs/prolab/prolab_deeplabv3plus_r101-d8_4xb4-80k_pascal_context59-480x480.py (same model, data, schedule; property label space).
_base_ = [
    '../_base_/models/deeplabv3plus_r101-d8.py',
    '../_base_/datasets/pascal_context59.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/prolab_adamw_80k.py',
]
crop_size = (480, 480)
data_preprocessor = dict(size=crop_size)
train_dataloader = dict(batch_size=4)
model = dict(
    data_preprocessor=data_preprocessor,
    test_cfg=dict(mode='slide', crop_size=(480, 480), stride=(320, 320)),
    decode_head=dict(num_classes=59),
    auxiliary_head=dict(num_classes=59))
