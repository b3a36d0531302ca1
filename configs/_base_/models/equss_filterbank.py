# EQUSS on the frozen, network-free FilterBankBackbone (Lab + Gabor/LoG energy, stride 4):
# 14-d features -> ExpansionHead (D = 1024) -> ProductQuantizer (M = 32 x 32-d, K codewords)
# -> cosine cluster probe (k = number of classes; set model.cluster_probe.num_clusters).
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[0.0, 0.0, 0.0],  # the filter bank wants raw RGB in [0, 255]
    std=[1.0, 1.0, 1.0],
    bgr_to_rgb=True,
    size_divisor=4,  # the backbone stride
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EQUSSSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='FilterBankBackbone', stride=4),
    head=dict(type='ExpansionHead', in_channels=14, channels=1024, dropout=0.1),
    quantizer=dict(type='ProductQuantizer', dim=1024, num_codebooks=32, num_codewords=32,
                   beta=0.25, reinit_interval=0),
    corr_loss=dict(type='STEGOCorrelationLoss', center_feats=True),
    feature_bank=dict(type='FeatureBank', size=256, num_neighbors=7),
    cluster_probe=dict(type='ClusterProbe', channels=1024, num_clusters=27),
    pq_loss_weight=1.0,
    probe_on='quantized')
