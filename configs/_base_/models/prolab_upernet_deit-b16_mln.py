# ProLab's official model as near as mmseg 1.2.2 gets without compiled operators, both heads
# property-supervised (PropertyHead) with the official settings.
#
# Official: ViT-Adapter-B (DeiT-B/16 + spatial-prior / interaction modules, drop path 0.3) ->
# UPerHead (512 channels) + auxiliary FCNHead (256 channels, on the 1/16 level). ViT-Adapter
# needs multi-scale deformable attention (MSDeformAttn), a compiled CUDA operator that is not in
# mmcv-lite or mmseg 1.2.2, so it is NOT reproduced here. The nearest mmseg backbone stands in:
# mmseg's own VisionTransformer DeiT-B/16 with a MultiLevelNeck (scales 4, 2, 1, 0.5 -> the same
# 1/4 ... 1/32 levels), as in mmseg's configs/vit/vit_deit-b16_mln_upernet_*; drop path 0.3 as
# ProLab's. Heads as official: UPerHead 512 channels, FCN 256 channels on level 2 (1/16).
#
# Losses: CosineSimilarityLoss on both heads with weight 1.0. The official auxiliary head is
# configured with loss_weight=0.4, but ProLab's CosineSimilarityLoss never multiplies by its
# loss_weight, so its auxiliary loss trains with weight 1.0; this is what is reproduced here.
# Temperature 0.04 on un-normalised embeddings (COCO-Stuff: 0.01, normalised; set there).
#
# label_space: set by each config (both heads). Pretrained DeiT-B/16 (as official): convert the
# timm/DeiT checkpoint deit_base_patch16_224-b5f2ef4d.pth to mmseg key names with
#   python tools/convert_dino.py deit_base_patch16_224-b5f2ef4d.pth \
#     checkpoints/deit_base_patch16_224_mmseg.pth --key model
# (same timm-style key names as DINO's; the classifier head.* is dropped). Without the file,
# tools/train.py stops before training naming the path; train from scratch with
# --cfg-options model.pretrained=None.
_base_ = ['mmseg::_base_/models/upernet_vit-b16_ln_mln.py']
model = dict(
    pretrained='checkpoints/deit_base_patch16_224_mmseg.pth',
    backbone=dict(drop_path_rate=0.3),
    decode_head=dict(
        _delete_=True, type='PropertyHead', label_space=None, temperature=0.04,
        normalize_embedding=False,
        head={{_base_.model.decode_head}},
        loss_decode=dict(type='CosineSimilarityLoss', loss_weight=1.0)),
    auxiliary_head=dict(
        _delete_=True, type='PropertyHead', label_space=None, temperature=0.04,
        normalize_embedding=False,
        head=dict(
            type='FCNHead', in_channels=768, in_index=2, channels=256, num_convs=1,
            concat_input=False, dropout_ratio=0.1,
            norm_cfg=dict(type='SyncBN', requires_grad=True), align_corners=False),
        loss_decode=dict(type='CosineSimilarityLoss', loss_weight=1.0)))
