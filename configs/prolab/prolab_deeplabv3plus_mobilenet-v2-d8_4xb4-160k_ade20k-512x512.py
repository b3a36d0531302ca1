# ProLab: DeepLabV3+ on ImageNet-pretrained MobileNetV2 (offline weights) on ade20k, supervised by
# the property space of descriptions/ade20k.json (K=256 properties). Build the space first:
#   python tools/gen_properties.py build --descriptions descriptions/ade20k.json -k 256 --seed 0 \
#     --out data/property_spaces/ade20k
# Inherits its pair configs/baseline/deeplabv3plus_mobilenet-v2-d8_4xb4-160k_ade20k-512x512.py (same model,
# data, schedule; one-hot categories) and wraps both of its heads in PropertyHead.
_base_ = ['../baseline/deeplabv3plus_mobilenet-v2-d8_4xb4-160k_ade20k-512x512.py']
label_space = 'data/property_spaces/ade20k/property_space.npz'
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
