# ProLab DeepLabV3+ R-101: the DepthwiseSeparableASPPHead / auxiliary FCNHead of
# deeplabv3plus_r101-d8.py wrapped in PropertyHead. Dataset configs set `property_space`.
_base_ = ['./deeplabv3plus_r101-d8.py']
model = dict(
    decode_head=dict(
        _delete_=True,
        type='PropertyHead',
        head={{_base_.model.decode_head}},
        property_space=None,
        temperature=0.04,
        normalize_embedding=False,
        loss_decode=dict(type='CosineSimilarityLoss', loss_weight=1.0)),
    auxiliary_head=dict(
        _delete_=True,
        type='PropertyHead',
        head={{_base_.model.auxiliary_head}},
        property_space=None,
        temperature=0.04,
        normalize_embedding=False,
        loss_decode=dict(type='CosineSimilarityLoss', loss_weight=0.4)))
