# ProLab on property-world at 128x128 with the ImageNet-pretrained MobileNetV2 (offline weights,
# output stride 8), fine-tuned with the backbone at 0.1x the heads' learning rate: the ProLab
# config prolab_fcn-r18-d8_300it_property-world-64x64.py (same PropertyHead-wrapped FCN heads,
# label space, loss and schedule) on the pretrained backbone, with the data drawn at 128 px
# (`python -m projects.property_world.make_dataset --out data/property_world_128 --size 128`).
_base_ = ['./prolab_fcn-r18-d8_300it_property-world-64x64.py',
          '../../../configs/_base_/models/mobilenet-v2-d8_imagenet.py']
data_root = 'data/property_world_128'
model = dict(
    backbone={{_base_.mobilenet_v2_d8}},
    data_preprocessor=dict(size=(128, 128)),
    decode_head=dict(head=dict(in_channels=320)),
    auxiliary_head=dict(head=dict(in_channels=96)))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
