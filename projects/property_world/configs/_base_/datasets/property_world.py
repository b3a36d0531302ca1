# Property-world dataset (64x64 PNGs from
# `python -m projects.property_world.make_dataset --out data/property_world`).
# The classes come from the data's meta.json. Trains and evaluates on the seen categories
# (class_subset='seen': the dataset's label map sends the unseen ones to 255, ignored);
# class_subset='unseen' / 'all' test zero-shot / generalised zero-shot.
custom_imports = dict(imports=['prolab_seg', 'projects.property_world'],
                      allow_failed_imports=False)
dataset_type = 'PropertyWorldDataset'
data_root = 'data/property_world'
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
        class_subset='seen',
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
        class_subset='seen',
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
