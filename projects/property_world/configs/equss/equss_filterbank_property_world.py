# EQUSS (expand + PQ) on property-world v1 data (data/property_world_v1, see
# ../_base_/datasets/property_world_v1.py) with the frozen filter-bank backbone, 18 seen classes.
#   python -m projects.property_world.make_dataset \
#       --spec projects/property_world/datasets/specs/property_world_v1.json \
#       --out data/property_world_v1
#   PYTHONPATH=. python tools/train.py \
#       projects/property_world/configs/equss/equss_filterbank_property_world.py
#   PYTHONPATH=. python tools/test.py \
#       projects/property_world/configs/equss/equss_filterbank_property_world.py \
#       work_dirs/.../iter_N.pth
# Labels are never used for training; the metric Hungarian-matches cluster ids to classes.
_base_ = [
    '../../../../configs/_base_/models/equss_filterbank.py',
    '../_base_/datasets/property_world_v1.py', 'mmseg::_base_/default_runtime.py'
]
# K = 32 codewords per codebook (the paper's small-dataset/Cityscapes choice: 18 classes, 200
# images); re-initialising dead codewords every 20 iterations raised unsupervised mIoU from 0.270
# to 0.312 in the project's benchmarks/bench_unsupervised.py (the official code has no re-init).
# num_clusters = the 18 seen classes of v1 (meta.json 'seen' of data/property_world_v1)
model = dict(cluster_probe=dict(num_clusters=18), quantizer=dict(reinit_interval=20))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.0),
    # the probe's online k-means moves its centroids faster (STEGO: 5e-3 vs 5e-4)
    paramwise_cfg=dict(custom_keys={'cluster_probe': dict(lr_mult=10.0)}))
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
val_evaluator = dict(type='UnsupervisedSegMetric')
test_evaluator = val_evaluator
randomness = dict(seed=0)
