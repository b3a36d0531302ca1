# EQUSS on a frozen DINO ViT-S/8 (mmseg VisionTransformer), the paper's COCO-Stuff setting:
# 384-d patch features -> D = 1024 -> PQ with M = 32 codebooks of K = 256 codewords.
# Weights: convert the official `dino_deitsmall8_pretrain.pth` with
#   python tools/convert_dino.py dino_deitsmall8_pretrain.pth checkpoints/dino_vits8_mmseg.pth
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size_divisor=8,  # the patch size
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EQUSSSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='VisionTransformer',
        img_size=(224, 224),
        patch_size=8,
        patch_bias=True,  # DINO's patch embedding has a bias
        in_channels=3,
        embed_dims=384,
        num_layers=12,
        num_heads=6,
        mlp_ratio=4,
        qkv_bias=True,
        out_indices=(11, ),
        final_norm=True,
        norm_cfg=dict(type='LN', eps=1e-6),
        act_cfg=dict(type='GELU'),
        with_cls_token=True,
        interpolate_mode='bicubic',
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/dino_vits8_mmseg.pth')),
    head=dict(type='ExpansionHead', in_channels=384, channels=1024, dropout=0.1),
    quantizer=dict(type='ProductQuantizer', dim=1024, num_codebooks=32, num_codewords=256,
                   beta=0.25),
    corr_loss=dict(type='STEGOCorrelationLoss'),
    # 28x28 maps of 224 crops, pooled for a smaller bank
    feature_bank=dict(type='FeatureBank', size=512, num_neighbors=7, spatial_size=(14, 14)),
    cluster_probe=dict(type='ClusterProbe', channels=1024, num_clusters=27),
    pq_loss_weight=1.0,
    probe_on='quantized')
