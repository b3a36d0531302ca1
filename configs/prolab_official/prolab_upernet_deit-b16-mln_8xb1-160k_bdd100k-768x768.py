# ProLab's official BDD100K recipe (lambert-x/ProLab configs/bdd100k/
#   upernet_deit_adapter_base_768_160k_bdd100k_bge_base_gpt3.5_cluster_32_*.py)
# wherever mmseg 1.2.2 has the parts; README "ProLab's recipe: our configs vs the official ones"
# lists what still differs.
# * Model: ViT-Adapter-B needs compiled deformable attention (not available): mmseg's DeiT-B/16
#   + MultiLevelNeck stands in (configs/_base_/models/prolab_upernet_deit-b16_mln.py).
# * Both heads: property loss weight 1.0 (the official 0.4 on the auxiliary head is never
#   applied), temperature 0.04, embeddings not normalised.
# * 8 GPUs x 1 image (8 a step); images resized to (2048, 1024) x 0.5-2.0 and cropped to
#   768 x 768; AdamW 6e-5 + layer decay 0.95, 160k iterations; fp32 (no fp16 officially).
# * Test: sliding window 768 / stride 512 on images resized to fit (2048, 1024), then to
#   multiples of 32 (ResizeToMultiple), as official.
# Label space (official K=32, built from descriptions/cityscapes.json (same 19 classes)), e.g.:
#   python tools/gen_properties.py build --descriptions descriptions/cityscapes.json -k 32 \
#     --seed 0 --out data/property_spaces/bdd100k
_base_ = [
    '../_base_/models/prolab_upernet_deit-b16_mln.py',
    '../_base_/datasets/bdd100k.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/prolab_official_adamw_layer-decay_160k.py',
]
crop_size = (768, 768)
label_space = 'data/property_spaces/bdd100k/property_space.npz'
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(img_size=crop_size),
    decode_head=dict(label_space=label_space),
    auxiliary_head=dict(label_space=label_space),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(512, 512)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# fail before the first iteration if the space does not match the dataset classes
custom_hooks = [dict(type='PropertySpaceCheckHook'), dict(type='ResumeRNGHook')]
