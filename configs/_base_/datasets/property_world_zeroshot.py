# Property-world zero-shot evaluation: trains on the 18 seen categories (as property_world.py)
# but validates/tests on all 24 (seen + unseen), so the model must name the 6 unseen ones.
_base_ = ['./property_world.py']
val_dataloader = dict(dataset=dict(metainfo=None))
test_dataloader = val_dataloader
