# Zero-shot test of the text-embedding model on the unseen categories (their name embeddings;
# test_classes='new': the bank's categories not in the training bank).
_base_ = ['./textemb_fcn-r18-d8_300it_property-world-64x64.py']
model = dict(decode_head=dict(
    test_label_space='data/property_spaces/property_world/names_all.npz', test_classes='new'))
test_dataloader = dict(dataset=dict(class_subset='unseen'))
val_dataloader = test_dataloader
