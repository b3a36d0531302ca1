# Category-supervised baseline: UPerNet + Swin-T on coco_stuff164k (171 classes), ProLab's AdamW recipe.
# Pair: configs/prolab/prolab_upernet_swin-t_8xb2-160k_coco_stuff164k-512x512.py (same model, data, schedule; property label space).
_base_ = [
    '../_base_/models/upernet_swin-t.py',
    '../_base_/datasets/coco_stuff164k.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/prolab_adamw_160k.py',
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
train_dataloader = dict(batch_size=2)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=171),
    auxiliary_head=dict(num_classes=171))
