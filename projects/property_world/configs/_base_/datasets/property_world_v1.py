# Property-world v1 data (18 seen + 6 unseen categories, `specs/property_world_v1.json`), for the
# unsupervised configs (the project's configs/equss, configs/iic) and their README numbers.
# Generate it with
#   python -m projects.property_world.make_dataset \
#       --spec projects/property_world/datasets/specs/property_world_v1.json \
#       --out data/property_world_v1
# Same pipelines and class_subset='seen' as property_world.py; only the data root differs (the
# classes come from that data's meta.json, so they are v1's whatever the default spec is).
# Each dataloader's dataset gets the root: a child's `data_root = ...` alone would not reach the
# dicts the base file already built from its own `data_root`.
_base_ = ['./property_world.py']
data_root = 'data/property_world_v1'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
