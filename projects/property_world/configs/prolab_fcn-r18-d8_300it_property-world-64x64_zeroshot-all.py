# Generalised zero-shot test: the inference bank is the `gen_properties.py assign` output (seen
# space + the assigned unseen categories, in the data's class order; see ..._zeroshot-unseen.py),
# evaluated on every property-world category (class_subset='all', from the data's meta.json) by
# ZeroShotIoUMetric: mIoU of the seen and of the unseen classes and their harmonic mean. Seen
# scores can be lowered by model.decode_head.seen_calibration (choose it on the calib split:
# test_dataloader.dataset.data_prefix.img_path=img_dir/calib ...seg_map_path=ann_dir/calib).
_base_ = ['./prolab_fcn-r18-d8_300it_property-world-64x64.py']
model = dict(decode_head=dict(test_label_space='data/property_spaces/property_world/all.npz'))
test_dataloader = dict(dataset=dict(class_subset='all'))
val_dataloader = test_dataloader
test_evaluator = dict(type='ZeroShotIoUMetric')
val_evaluator = test_evaluator
