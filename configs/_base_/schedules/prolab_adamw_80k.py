# ProLab recipe (see prolab_adamw_160k.py) over 80k iterations (Cityscapes, BDD100K, PC-59).
_base_ = ['./prolab_adamw_160k.py']
max_iters = 80000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=max_iters, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
