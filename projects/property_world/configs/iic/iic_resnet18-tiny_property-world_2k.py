# IIC (Invariant Information Clustering, Ji et al. ICCV 2019), segmentation variant, trained
# from scratch without labels on property-world v1 data (64x64, data/property_world_v1, see
# ../_base_/datasets/property_world_v1.py): a slim ResNetV1c-18 (2 stages, output stride 4 ->
# 16x16 maps) + IICHead (18 main clusters = v1's seen classes, 54 over-clusters).
# Evaluated with the shared unsupervised protocol (Hungarian-matched acc / mIoU).
#   python -m projects.property_world.make_dataset \
#       --spec projects/property_world/datasets/specs/property_world_v1.json \
#       --out data/property_world_v1
#   PYTHONPATH=. python tools/train.py \
#       projects/property_world/configs/iic/iic_resnet18-tiny_property-world_2k.py
_base_ = ['../_base_/datasets/property_world_v1.py', 'mmseg::_base_/default_runtime.py']

num_clusters = 18  # = the seen classes of v1 (meta.json 'seen' of data/property_world_v1)
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(64, 64))
model = dict(
    type='IICSegmentor',
    data_preprocessor=data_preprocessor,
    views=dict(type='IICViews', flip_prob=0.5, max_shift=0.1, scale_range=(1.0, 1.25),
               brightness=0.1, contrast=0.1, color=0.05),
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        num_stages=2,
        stem_channels=32,
        base_channels=32,
        strides=(1, 1),
        dilations=(1, 2),
        out_indices=(1, ),
        norm_cfg=norm_cfg,
        contract_dilation=True),
    decode_head=dict(
        type='IICHead',
        in_channels=64,
        channels=64,
        num_convs=1,
        num_classes=num_clusters,
        num_overclusters=3 * num_clusters,
        dropout_ratio=0.0,
        norm_cfg=norm_cfg,
        loss_decode=dict(type='IICLoss', displacement=1, lamb=1.0, loss_name='loss_iic'),
        loss_over=dict(type='IICLoss', displacement=1, lamb=1.0, loss_name='loss_iic_over')),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.0))
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2000, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
val_evaluator = dict(type='UnsupervisedSegMetric', num_clusters=num_clusters)
test_evaluator = val_evaluator
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
randomness = dict(seed=0)
