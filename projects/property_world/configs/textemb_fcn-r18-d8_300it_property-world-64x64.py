# "Text-embedding label space" comparison: the same PropertyHead-wrapped FCN heads as the ProLab
# config, but the bank is the sentence embedding (all-MiniLM-L6-v2, 384-d) of each category NAME
# (a NameEmbeddingSpace: no centroids, identity projection, no sigmoid); loss 1 - cos(pixel embedding, name embedding),
# prediction = the category whose name embedding is most cosine-similar. Build the banks with
#   python tools/gen_properties.py names \
#     --descriptions projects/property_world/descriptions/property_world.json \
#     --exclude tiger cheetah lemon blueberry "checkered tablecloth" "autumn leaves" \
#     --out data/property_spaces/property_world/names_seen.npz
#   python tools/gen_properties.py names \
#     --descriptions projects/property_world/descriptions/property_world.json \
#     --out data/property_spaces/property_world/names_all.npz
_base_ = ['./prolab_fcn-r18-d8_300it_property-world-64x64.py']
label_space = 'data/property_spaces/property_world/names_seen.npz'
model = dict(
    decode_head=dict(label_space=label_space),
    auxiliary_head=dict(label_space=label_space))
