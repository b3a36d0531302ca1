# Small category-supervised FCN for 64x64 property-world images, trained from scratch:
# mmseg's ResNetV1c depth 18 at half width (stem/base channels 32 -> stage widths 32..256),
# dilated (output stride 8), FCNHead on stage 4 + auxiliary FCNHead (weight 0.4) on stage 3.
# BN (not SyncBN): runs on CPU, single process and torchrun/gloo alike.
norm_cfg = dict(type='BN', requires_grad=True)
num_classes = 18
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(64, 64))
# The two heads are module-level variables so that the ProLab variant wraps exactly these.
decode_head = dict(
    type='FCNHead',
    in_channels=256,
    in_index=3,
    channels=128,
    num_convs=2,
    concat_input=True,
    dropout_ratio=0.1,
    num_classes=num_classes,
    norm_cfg=norm_cfg,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
auxiliary_head = dict(
    type='FCNHead',
    in_channels=128,
    in_index=2,
    channels=64,
    num_convs=1,
    concat_input=False,
    dropout_ratio=0.1,
    num_classes=num_classes,
    norm_cfg=norm_cfg,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=32,
        base_channels=32,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=decode_head,
    auxiliary_head=auxiliary_head,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
