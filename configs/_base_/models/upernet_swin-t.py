# UPerNet + Swin-T (mmseg's upernet_swin.py with the Swin-T settings of its ADE20K config).
# Random init by default; ImageNet weights from a local file with
#   --cfg-options model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.checkpoint=PATH
# (mmseg's converted swin_tiny_patch4_window7_224 checkpoint). num_classes is set per dataset.
_base_ = ['mmseg::_base_/models/upernet_swin.py']
model = dict(
    backbone=dict(
        init_cfg=None,
        embed_dims=96,
        depths=[2, 2, 6, 2],
        num_heads=[3, 6, 12, 24],
        window_size=7,
        use_abs_pos_embed=False,
        drop_path_rate=0.3,
        patch_norm=True),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
