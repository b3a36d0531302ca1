# ProLab: UPerNet + Swin-T on bdd100k, supervised by the property space of descriptions/cityscapes.json (BDD100K has the same 19 classes)
# (K=32 properties). Build the space first:
#   python tools/gen_properties.py build --descriptions descriptions/cityscapes.json -k 32 --seed 0 \
#     --out data/property_spaces/bdd100k
# Pair: configs/baseline/upernet_swin-t_8xb2-80k_bdd100k-512x1024.py (same model, data, schedule; one-hot categories).
_base_ = [
    '../_base_/models/prolab_upernet_swin-t.py',
    '../_base_/datasets/bdd100k.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/prolab_adamw_80k.py',
]
custom_imports = dict(imports=['prolab_seg'], allow_failed_imports=False)
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
property_space = 'data/property_spaces/bdd100k/property_space.npz'
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(property_space=property_space),
    auxiliary_head=dict(property_space=property_space))
# fail before the first iteration if the space does not match the dataset classes
custom_hooks = [dict(type='PropertySpaceCheckHook'), dict(type='ResumeRNGHook')]
