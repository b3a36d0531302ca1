# Zero-shot test of the ProLab property-world model on the 6 UNSEEN categories only: the
# inference bank is the space written by `gen_properties.py assign` (seen + the new categories,
# mapped onto the trained centroids from their descriptions alone) restricted to the unseen
# categories by `test_classes`; the test set keeps only unseen-category pixels (others -> 255).
#   python tools/gen_properties.py assign --descriptions descriptions/property_world.json \
#     --only tiger cheetah strawberry "checkered tablecloth" lemon blueberry \
#     --space data/property_spaces/property_world/seen.npz \
#     --out data/property_spaces/property_world/all.npz
#   python tools/test.py THIS_CONFIG work_dirs/prolab_.../iter_300.pth
_base_ = ['./prolab_fcn-r18-d8_300it_property-world-64x64.py']
unseen_classes = ('tiger', 'cheetah', 'strawberry', 'checkered tablecloth', 'lemon', 'blueberry')
model = dict(decode_head=dict(
    test_property_space='data/property_spaces/property_world/all.npz',
    test_classes=unseen_classes))
test_dataloader = dict(dataset=dict(metainfo=dict(classes=unseen_classes)))
val_dataloader = test_dataloader
