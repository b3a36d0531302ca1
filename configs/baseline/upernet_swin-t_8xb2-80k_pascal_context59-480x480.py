# Category-supervised baseline: UPerNet + Swin-T on pascal_context59 (59 classes), ProLab's AdamW recipe.
# Pair: configs/prolab/prolab_upernet_swin-t_8xb2-80k_pascal_context59-480x480.py (same model, data, schedule; property label space).
_base_ = [
    '../_base_/models/upernet_swin-t.py',
    '../_base_/datasets/pascal_context59.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/prolab_adamw_80k.py',
]
custom_imports = dict(imports=['prolab_seg'], allow_failed_imports=False)
crop_size = (480, 480)
data_preprocessor = dict(size=crop_size)
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
model = dict(
    data_preprocessor=data_preprocessor,
    test_cfg=dict(mode='slide', crop_size=(480, 480), stride=(320, 320)),
    decode_head=dict(num_classes=59),
    auxiliary_head=dict(num_classes=59))
# `--resume` continues bit-identically (restores torch's RNG state, used by dropout)
custom_hooks = [dict(type='ResumeRNGHook')]
