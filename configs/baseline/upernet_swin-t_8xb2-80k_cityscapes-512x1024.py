# Category-supervised baseline: UPerNet + Swin-T on cityscapes (19 classes), ProLab's AdamW recipe.
# Pair: configs/prolab/prolab_upernet_swin-t_8xb2-80k_cityscapes-512x1024.py (same model, data, schedule; property label space).
_base_ = [
    '../_base_/models/upernet_swin-t.py',
    '../_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/prolab_adamw_80k.py',
]
custom_imports = dict(imports=['prolab_seg'], allow_failed_imports=False)
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19))
# `--resume` continues bit-identically (restores torch's RNG state, used by dropout)
custom_hooks = [dict(type='ResumeRNGHook')]
