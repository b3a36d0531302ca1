# Generalised zero-shot test: the inference bank is the `gen_properties.py assign` output (seen
# space + the 6 assigned unseen categories = 24, spec order; see ..._zeroshot-unseen.py),
# evaluated on all 24 property-world categories (as configs/_base_/datasets/
# property_world_zeroshot.py: metainfo=None -> the dataset's 24 classes).
_base_ = ['./prolab_fcn-r18-d8_300it_property-world-64x64.py']
model = dict(decode_head=dict(test_property_space='data/property_spaces/property_world/all.npz'))
val_dataloader = dict(dataset=dict(metainfo=None))
test_dataloader = val_dataloader
