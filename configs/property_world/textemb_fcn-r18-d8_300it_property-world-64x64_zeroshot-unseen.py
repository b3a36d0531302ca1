# Zero-shot test of the text-embedding model on the 6 unseen categories (their name embeddings).
_base_ = ['./textemb_fcn-r18-d8_300it_property-world-64x64.py']
unseen_classes = ('tiger', 'cheetah', 'strawberry', 'checkered tablecloth', 'lemon', 'blueberry')
model = dict(decode_head=dict(
    test_property_space='data/property_spaces/property_world/names_all.npz',
    test_classes=unseen_classes))
test_dataloader = dict(dataset=dict(metainfo=dict(classes=unseen_classes)))
val_dataloader = test_dataloader
