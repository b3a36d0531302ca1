# DeepLabV3+ with a dilated ResNet-101 (V1c), mmseg's deeplabv3plus_r50-d8.py at depth 101.
# Random init by default; ImageNet weights from a local file with
#   --cfg-options model.pretrained=PATH   (mmseg's resnet101_v1c checkpoint)
_base_ = ['mmseg::_base_/models/deeplabv3plus_r50-d8.py']
model = dict(pretrained=None, backbone=dict(depth=101))
