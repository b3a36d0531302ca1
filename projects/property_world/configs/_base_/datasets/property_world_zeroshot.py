# Property-world generalised zero-shot evaluation: trains on the seen categories (as
# property_world.py) but validates/tests on all (seen + unseen), so the model must name the
# unseen ones too.
_base_ = ['./property_world.py']
val_dataloader = dict(dataset=dict(class_subset='all'))
test_dataloader = val_dataloader
