# Zero-shot test of the ProLab property-world model on the UNSEEN categories only: the inference
# bank is the space written by `gen_properties.py assign` (seen + the new categories, mapped onto
# the trained centroids from their descriptions alone) restricted to the new categories
# (test_classes='new'); the test set keeps only unseen-category pixels (class_subset='unseen',
# read from the data's meta.json: others -> 255). No category name is written here, so data from
# any spec works as long as the bank's new categories are its unseen ones, in meta.json order
# (checked by PropertySpaceCheckHook before testing).
#   python tools/gen_properties.py assign \
#     --descriptions projects/property_world/descriptions/property_world.json \
#     --only tiger cheetah lemon blueberry "checkered tablecloth" "autumn leaves" \
#     --space data/property_spaces/property_world/seen.npz \
#     --out data/property_spaces/property_world/all.npz
#   PYTHONPATH=. python tools/test.py THIS_CONFIG work_dirs/prolab_.../iter_300.pth
_base_ = ['./prolab_fcn-r18-d8_300it_property-world-64x64.py']
model = dict(decode_head=dict(
    test_label_space='data/property_spaces/property_world/all.npz', test_classes='new'))
test_dataloader = dict(dataset=dict(class_subset='unseen'))
val_dataloader = test_dataloader
