# Category-supervised baseline: UPerNet + Swin-T on cityscapes (19 classes), ProLab's AdamW recipe.
# Pair: configs/prolab/prolab_upernet_swin-t_8xb2-80k_cityscapes-512x1024.py (same model, data, schedule; property label space).
_base_ = [
    '../_base_/models/upernet_swin-t.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/prolab_adamw_80k.py',
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
train_dataloader = dict(batch_size=2)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19))
