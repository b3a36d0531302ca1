# ProLab: DeepLabV3+ on ImageNet-pretrained MobileNetV2 (offline weights) on cityscapes, supervised by
# the property space of descriptions/cityscapes.json (K=32 properties). Build the space first:
#   python tools/gen_properties.py build --descriptions descriptions/cityscapes.json -k 32 --seed 0 \
#     --out data/property_spaces/cityscapes
# Inherits its pair configs/baseline/deeplabv3plus_mobilenet-v2-d8_4xb4-80k_cityscapes-512x1024.py (same model,
# data, schedule; one-hot categories) and wraps both of its heads in PropertyHead.
_base_ = ['../baseline/deeplabv3plus_mobilenet-v2-d8_4xb4-80k_cityscapes-512x1024.py']
label_space = 'data/property_spaces/cityscapes/property_space.npz'
model = dict(
    decode_head=dict(
        _delete_=True, type='PropertyHead', head={{_base_.model.decode_head}},
        label_space=label_space, temperature=0.04, normalize_embedding=False,
        loss_decode=dict(type='CosineSimilarityLoss', loss_weight=1.0)),
    auxiliary_head=dict(
        _delete_=True, type='PropertyHead', head={{_base_.model.auxiliary_head}},
        label_space=label_space, temperature=0.04, normalize_embedding=False,
        loss_decode=dict(type='CosineSimilarityLoss', loss_weight=0.4)))
# fail before the first iteration if the space does not match the dataset classes
custom_hooks = [dict(type='PropertySpaceCheckHook'), dict(type='ResumeRNGHook')]
