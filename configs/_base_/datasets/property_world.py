# Property-world dataset (64x64 PNGs from `tools/make_dataset.py --out data/property_world`).
# Trains and evaluates on the 18 seen categories: mmseg's label map sends the unseen ones to 255
# (ignored). `property_world_zeroshot.py` evaluates all 24 categories instead.
custom_imports = dict(imports=['prolab_seg'], allow_failed_imports=False)
dataset_type = 'PropertyWorldDataset'
data_root = 'data/property_world'
# == prolab_seg.datasets.SEEN_CLASSES (checked by tests/test_datasets.py)
seen_classes = ('sky', 'cloud', 'grass', 'road', 'sand', 'sea', 'brick wall', 'gravel', 'snow',
                'lavender field', 'zebra', 'orange', 'tomato', 'lime', 'chessboard', 'ladybug',
                'dalmatian', 'tennis ball')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=dict(classes=seen_classes),
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=dict(classes=seen_classes),
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
