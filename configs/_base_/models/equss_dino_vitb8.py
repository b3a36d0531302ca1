# EQUSS on a frozen DINO ViT-B/8, the paper's Cityscapes setting (K = 32 codewords per codebook).
# Weights: python tools/convert_dino.py dino_vitbase8_pretrain.pth checkpoints/dino_vitb8_mmseg.pth
_base_ = ['./equss_dino_vits8.py']
model = dict(
    backbone=dict(
        embed_dims=768,
        num_heads=12,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/dino_vitb8_mmseg.pth')),
    head=dict(in_channels=768),
    quantizer=dict(num_codewords=32))
