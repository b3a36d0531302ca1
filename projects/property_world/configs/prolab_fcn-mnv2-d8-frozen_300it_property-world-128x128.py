# ProLab on the FROZEN ImageNet MobileNetV2: only the PropertyHead-wrapped FCN heads are trained
# (backbone learning rate and weight decay 0, BN statistics kept: norm_eval; layers 1-6 also
# without gradients). What ImageNet features alone carry about the categories' properties.
_base_ = ['./prolab_fcn-mnv2-d8_300it_property-world-128x128.py']
model = dict(backbone=dict(frozen_stages=6, norm_eval=True))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.0, decay_mult=0.0)}))
