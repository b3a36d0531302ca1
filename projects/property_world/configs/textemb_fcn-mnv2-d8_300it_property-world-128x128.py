# Text-embedding comparison on the ImageNet-pretrained MobileNetV2 at 128x128: the bank of
# textemb_fcn-r18-d8_300it_property-world-64x64.py (each category NAME's all-MiniLM-L6-v2
# embedding) on the backbone, heads and schedule of prolab_fcn-mnv2-d8_300it_property-world-128x128.py
# (backbone fine-tuned at 0.1x the heads' learning rate).
_base_ = ['./prolab_fcn-mnv2-d8_300it_property-world-128x128.py']
label_space = 'data/property_spaces/property_world/names_seen.npz'
model = dict(
    decode_head=dict(label_space=label_space),
    auxiliary_head=dict(label_space=label_space))
