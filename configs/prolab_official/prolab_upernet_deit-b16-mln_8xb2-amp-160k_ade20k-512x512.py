# ProLab's official ADE20K recipe (lambert-x/ProLab configs/ADE20K/
# upernet_deit_adapter_base_512_320k_ade20k_bge_base.py) wherever mmseg 1.2.2 has the parts;
# README "ProLab's recipe: our configs vs the official ones" lists what still differs.
# * Model: ViT-Adapter-B needs compiled deformable attention (not available): mmseg's DeiT-B/16
#   + MultiLevelNeck stands in (configs/_base_/models/prolab_upernet_deit-b16_mln.py).
# * Both heads: property loss weight 1.0 (the official 0.4 on the auxiliary head is never
#   applied), temperature 0.04, embeddings not normalised.
# * 8 GPUs x 2 images (16 a step), 512 x 512 crops, AdamW 6e-5 + layer decay 0.95, 160k
#   iterations: what the released file trains (its 160k schedule base; its name and ProLab's
#   model zoo say 320k: --cfg-options train_cfg.max_iters=320000 param_scheduler.1.end=320000).
# * fp16: mmengine's AmpOptimWrapper, initial loss scale 512 (official fp16 loss_scale).
# * Test: sliding window 512 / stride 341 on images resized to short side 512, then to
#   multiples of 32 (ResizeToMultiple), as official.
# Label space (official K=256), e.g.:
#   python tools/gen_properties.py build --descriptions descriptions/ade20k.json -k 256 \
#     --seed 0 --out data/property_spaces/ade20k
_base_ = [
    '../_base_/models/prolab_upernet_deit-b16_mln.py',
    '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/prolab_official_adamw_layer-decay_160k.py',
]
crop_size = (512, 512)
label_space = 'data/property_spaces/ade20k/property_space.npz'
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(img_size=crop_size),
    decode_head=dict(label_space=label_space),
    auxiliary_head=dict(label_space=label_space),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))
train_dataloader = dict(batch_size=2)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale=dict(init_scale=512))
# fail before the first iteration if the space does not match the dataset classes
custom_hooks = [dict(type='PropertySpaceCheckHook'), dict(type='ResumeRNGHook')]
