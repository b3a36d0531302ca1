# Small category-supervised FCN for 64x64 property-world images, trained from scratch:
# mmseg's ResNetV1c depth 18 at half width (stem/base channels 32 -> stage widths 32..256),
# dilated (output stride 8), FCNHead on stage 4 + auxiliary FCNHead (weight 0.4) on stage 3.
# BN (not SyncBN): runs on CPU, single process and torchrun/gloo alike.
norm_cfg = dict(type='BN', requires_grad=True)
num_classes = 23  # seen categories of the default property-world (v2) data
# Class-balanced losses: small objects cover a few % of the pixels, backgrounds the rest. Per seen
# class, frequency ** -0.5 over the train split's pixels, normalised to a pixel-weighted mean of
# 1: projects.property_world.experiments.class_weights(data_info('data/property_world')) for the default data
# (checked by tests/test_datasets.py; the demo and the benchmark compute them from the data).
class_weight = [
    0.4707, 0.7957, 0.7561, 0.7594, 0.8805, 0.8014, 1.8348, 3.0779, 3.019, 3.1897, 1.7834, 2.9376,
    1.7237, 1.8097, 1.9336, 1.8851, 3.051, 3.171, 2.7028, 2.0048, 2.6025, 1.8597, 2.0132]
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
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                     class_weight=class_weight))
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
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4,
                     class_weight=class_weight))
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
