# ProLab UPerNet + Swin-T: the same UPerHead / auxiliary FCNHead as upernet_swin-t.py, wrapped in
# PropertyHead (E-channel classifier -> fixed K property centroids -> sigmoid(x / 0.04), cosine
# loss 1.0 / 0.4). Dataset configs set `property_space` on both heads.
_base_ = ['./upernet_swin-t.py']
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
