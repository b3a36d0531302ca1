# ProLab's official COCO-Stuff-164k recipe (lambert-x/ProLab configs/COCO_Stuff/
# upernet_deit_adapter_base_512_160k_coco_stuff_bge_base.py) wherever mmseg 1.2.2 has the parts;
# README "ProLab's recipe: our configs vs the official ones" lists what still differs.
# * Model: ViT-Adapter-B needs compiled deformable attention (not available): mmseg's DeiT-B/16
#   + MultiLevelNeck stands in (configs/_base_/models/prolab_upernet_deit-b16_mln.py).
# * Both heads: property loss weight 1.0 (the official 0.4 on the auxiliary head is never
#   applied); temperature 0.01 with L2-normalised pixel embeddings (COCO-Stuff only).
# * 8 GPUs x 2 images (16 a step), 512 x 512 crops, AdamW 6e-5 + layer decay 0.95, 160k
#   iterations; fp16 via mmengine's AmpOptimWrapper, initial loss scale 512.
# * Test: sliding window 512 / stride 341 on images resized to short side 512, then to
#   multiples of 32 (ResizeToMultiple), as official.
# Label space, e.g. (the official K is not in its config: the bank is read from a .pth file):
#   python tools/gen_properties.py build --descriptions descriptions/coco_stuff.json -k 256 \
#     --seed 0 --out data/property_spaces/coco_stuff164k
_base_ = [
    '../_base_/models/prolab_upernet_deit-b16_mln.py',
    '../_base_/datasets/coco_stuff164k.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/prolab_official_adamw_layer-decay_160k.py',
]
crop_size = (512, 512)
label_space = 'data/property_spaces/coco_stuff164k/property_space.npz'
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(img_size=crop_size),
    decode_head=dict(label_space=label_space, temperature=0.01, normalize_embedding=True),
    auxiliary_head=dict(label_space=label_space, temperature=0.01, normalize_embedding=True),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))
train_dataloader = dict(batch_size=2)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale=dict(init_scale=512))
# fail before the first iteration if the space does not match the dataset classes
custom_hooks = [dict(type='PropertySpaceCheckHook'), dict(type='ResumeRNGHook')]
