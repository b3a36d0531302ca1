"""Every shipped ProLab / baseline config parses and builds; real-dataset pairs train one
iteration (shrunk) on the tiny fake copies of the real layouts (tests/conftest.py). The
configs/prolab_official family sets the official ProLab recipe values (checked one by one)."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import prolab_seg  # noqa: F401
from mmseg.registry import DATASETS, MODELS
from prolab_seg.properties import PropertySpace

REPO = Path(__file__).resolve().parents[1]
REAL = sorted((REPO / 'configs' / 'baseline').glob('*.py')) + sorted(
    (REPO / 'configs' / 'prolab').glob('*.py'))
PW = sorted((REPO / 'projects' / 'property_world' / 'configs').glob('*.py'))
OFFICIAL = sorted((REPO / 'configs' / 'prolab_official').glob('*.py'))
DATASETS_OF = ('ade20k', 'coco_stuff164k', 'pascal_context59', 'cityscapes', 'bdd100k')

init_default_scope('mmseg')


def dataset_of(path: Path) -> str:
    return next(d for d in DATASETS_OF if f'_{d}-' in path.name)


def is_prolab(cfg) -> bool:
    return cfg.model.decode_head.type == 'PropertyHead'


def synthetic_space(classes, path: Path, k=8, e=16, seed=0) -> str:
    rng = np.random.default_rng(seed)
    cent = rng.normal(size=(k, e)).astype(np.float32)
    cent /= np.linalg.norm(cent, axis=1, keepdims=True)
    vec = (rng.random((len(classes), k)) > 0.5).astype(np.float32)
    return str(PropertySpace(list(classes), vec, cent, {'embedding_model': 'synthetic'}).save(path))


def dataset_classes(cfg):
    ds = cfg.train_dataloader.dataset
    return DATASETS.get(ds.type).METAINFO['classes']


def inner(head_cfg):
    return head_cfg.head if head_cfg.type == 'PropertyHead' else head_cfg


def shrink(cfg, space=None):
    """Tiny model and 32x32 crops; same structure (heads, wrapping, losses)."""
    cfg = copy.deepcopy(cfg)
    m = cfg.model
    dec, aux = inner(m.decode_head), inner(m.auxiliary_head)
    m.pretrained = None  # the official family names a DeiT-B checkpoint the user provides
    if m.backbone.type == 'VisionTransformer':  # all 12 layers (their lr groups are checked)
        m.backbone.update(img_size=(32, 32), patch_size=8, embed_dims=16, num_heads=2)
        m.neck.update(in_channels=[16] * 4, out_channels=16)
        dec.update(in_channels=[16] * 4, channels=16)
        aux.update(in_channels=16, channels=8)
    elif m.backbone.type == 'SwinTransformer':
        m.backbone.update(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 2, 2, 4])
        dec.update(in_channels=[16, 32, 64, 128], channels=16)
        aux.update(in_channels=64, channels=8)
    elif m.backbone.type == 'MobileNetV2':  # full size: it loads the offline ImageNet weights
        dec.update(channels=16, c1_channels=8)
        aux.update(channels=8)
    else:  # ResNetV1c (DeepLabV3+)
        m.backbone.update(depth=18, stem_channels=16, base_channels=16)
        dec.update(in_channels=128, channels=16, c1_in_channels=16, c1_channels=8)
        aux.update(in_channels=64, channels=8)
    if space is not None:
        m.decode_head.label_space = space
        m.auxiliary_head.label_space = space
    crop = (32, 32)
    m.data_preprocessor.size = crop
    cfg.data_preprocessor = m.data_preprocessor
    if m.test_cfg.get('mode') == 'slide':
        m.test_cfg.update(crop_size=crop, stride=(16, 16))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for t in cfg[key].dataset.pipeline:
            if t.type in ('RandomResize', 'Resize') and 'scale' in t:
                t.scale = (64, 32)
            if t.type == 'RandomCrop':
                t.crop_size = crop
    return cfg


def test_shipped_configs_exist():
    names = {p.name for p in REAL}
    for d in DATASETS_OF:
        for model in ('upernet_swin-t', 'deeplabv3plus_r101-d8'):
            assert sum(d in n and model in n and n.startswith('prolab_') for n in names) == 1
            assert sum(d in n and model in n and not n.startswith('prolab_') for n in names) == 1
    for d in ('ade20k', 'cityscapes'):  # the pretrained MobileNetV2 pairs
        model = 'deeplabv3plus_mobilenet-v2-d8'
        assert sum(d in n and model in n and n.startswith('prolab_') for n in names) == 1
        assert sum(d in n and model in n and not n.startswith('prolab_') for n in names) == 1
    assert len(PW) == 10


@pytest.mark.parametrize('path', REAL, ids=lambda p: p.stem)
def test_real_config_parses_and_builds_shrunk(path, tmp_path):
    cfg = Config.fromfile(str(path))
    assert cfg.custom_imports['imports'] == ['prolab_seg']
    classes = dataset_classes(cfg)
    space = None
    if is_prolab(cfg):
        assert cfg.model.auxiliary_head.type == 'PropertyHead'
        assert cfg.model.decode_head.loss_decode.loss_weight == 1.0
        assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4
        assert cfg.model.decode_head.temperature == 0.04
        assert cfg.model.decode_head.label_space.endswith(
            f'property_spaces/{dataset_of(path)}/property_space.npz')
        assert any(h.type == 'PropertySpaceCheckHook' for h in cfg.custom_hooks)
        space = synthetic_space(classes, tmp_path / 'space.npz')
    else:
        assert cfg.model.decode_head.num_classes == len(classes)
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    model = MODELS.build(shrink(cfg, space).model)
    assert model.num_classes == len(classes)


@pytest.mark.parametrize('path', PW, ids=lambda p: p.stem)
def test_property_world_config_builds(path, tmp_path, property_world_root):
    cfg = Config.fromfile(str(path))
    if path.name.startswith('textemb'):
        from projects.property_world.datasets import ALL_CLASSES, SEEN_CLASSES
        from prolab_seg.properties import NameEmbeddingSpace
        rng = np.random.default_rng(0)
        full_space = NameEmbeddingSpace(ALL_CLASSES, rng.normal(size=(len(ALL_CLASSES), 16)))
        seen = str(full_space.subset(SEEN_CLASSES).save(tmp_path / 'seen.npz'))
        full = str(full_space.save(tmp_path / 'all.npz'))
        for h in (cfg.model.decode_head, cfg.model.auxiliary_head):
            h.label_space = seen
        if cfg.model.decode_head.get('test_label_space') is not None:
            cfg.model.decode_head.test_label_space = full
    elif is_prolab(cfg):
        spaces = tmp_path / 'property_spaces'
        from projects.property_world.datasets import ALL_CLASSES, SEEN_CLASSES
        seen = synthetic_space(SEEN_CLASSES, spaces / 'seen.npz')
        full = synthetic_space(ALL_CLASSES, spaces / 'all.npz')
        # all.npz must share seen.npz's centroids (as `gen_properties.py assign` writes it)
        s = PropertySpace.load(seen)
        PropertySpace(list(ALL_CLASSES), np.concatenate(
            [s.vectors, np.eye(len(ALL_CLASSES) - len(SEEN_CLASSES), s.num_properties)]),
            s.centroids, s.meta).save(full)
        for h in (cfg.model.decode_head, cfg.model.auxiliary_head):
            h.label_space = seen
        tps = cfg.model.decode_head.get('test_label_space')
        if tps is not None:
            cfg.model.decode_head.test_label_space = full
    model = MODELS.build(cfg.model)
    # the test set's classes come from the data's meta.json, narrowed by class_subset
    test_ds = cfg.test_dataloader.dataset
    assert 'metainfo' not in test_ds
    subset = test_ds.get('class_subset', 'all')
    n = dict(all=29, seen=23, unseen=6)[subset]
    assert model.num_classes == n
    test_ds.data_root = str(property_world_root)
    classes = DATASETS.build(test_ds).metainfo['classes']
    assert len(classes) == n
    if is_prolab(cfg):  # the inference bank names the test set's classes, in its order
        assert model.decode_head.test_class_names == list(classes)


def _one_iteration(path, fake_dataset_root, tmp_path):
    from mmengine.runner import Runner
    cfg = Config.fromfile(str(path))
    space = None
    if is_prolab(cfg):
        space = synthetic_space(dataset_classes(cfg), tmp_path / 'space.npz')
    cfg = shrink(cfg, space)
    root = str(fake_dataset_root(dataset_of(path)))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = root
        cfg[key].num_workers = 0
        cfg[key].persistent_workers = False
        cfg[key].batch_size = 2
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.update(max_iters=1, val_interval=1)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    if cfg.optim_wrapper.type == 'AmpOptimWrapper' and not torch.cuda.is_available():
        # mmengine's AmpOptimWrapper refuses CPUs (asserted in test_official_amp_needs_a_gpu)
        cfg.optim_wrapper.type = 'OptimWrapper'
        cfg.optim_wrapper.pop('loss_scale')
    runner = Runner.from_cfg(cfg)
    runner.train()
    logs = runner.message_hub.log_scalars
    key = 'train/decode.loss_cos' if space else 'train/decode.loss_ce'
    assert np.isfinite(logs[key].current())
    assert 'val/mIoU' in logs or 'val/aAcc' in logs
    if cfg.model.backbone.type == 'MobileNetV2':  # ImageNet weights loaded, then one small step
        from prolab_seg.models.backbones import load_offline_weights
        imagenet = load_offline_weights('mobilenet_v2')['conv1.conv.weight']
        torch.testing.assert_close(runner.model.backbone.conv1.conv.weight.detach(), imagenet,
                                   atol=1e-3, rtol=0)


FAST = [p for p in REAL if p.name.startswith('prolab_upernet') and 'ade20k' in p.name
        or p.name.startswith('prolab_deeplabv3plus_mobilenet-v2')] + [
    p for p in OFFICIAL if 'ade20k' in p.name]


@pytest.mark.parametrize('path', FAST, ids=lambda p: p.stem)
def test_real_config_one_iteration_fast(path, fake_dataset_root, tmp_path):
    _one_iteration(path, fake_dataset_root, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize('path', [p for p in REAL + OFFICIAL if p not in FAST],
                         ids=lambda p: p.stem)
def test_real_config_one_iteration(path, fake_dataset_root, tmp_path):
    _one_iteration(path, fake_dataset_root, tmp_path)


#: Categories of each dataset.
NUM_CLASSES = dict(ade20k=150, coco_stuff164k=171, pascal_context59=59, cityscapes=19,
                   bdd100k=19)
#: Per model family: the channels of the four feature maps of the backbone (and neck), and those
#: the decode and the auxiliary head classify (their classifier's input).
FAMILY_CHANNELS = {
    'deeplabv3plus_r101-d8': ([256, 512, 1024, 2048], 512, 256),
    'deeplabv3plus_mobilenet-v2-d8': ([24, 32, 96, 320], 512, 256),
    'upernet_swin-t': ([96, 192, 384, 768], 512, 256),
    'upernet_deit-b16-mln': ([768] * 4, 512, 256),
}


@pytest.mark.slow
@pytest.mark.parametrize('path', REAL + OFFICIAL, ids=lambda p: p.stem)
def test_real_config_builds_full_size(path, tmp_path):
    """The full-size model of each config: the backbone's feature channels, each head's
    classifier (C classes; ProLab: E embedding channels projected onto K centroids) and C
    category scores per pixel of a 128 x 128 image."""
    num_classes, (K, E) = NUM_CLASSES[dataset_of(path)], (8, 16)
    features, decode_channels, aux_channels = next(
        channels for family, channels in FAMILY_CHANNELS.items() if f'{family}_' in path.name)
    cfg = Config.fromfile(str(path))
    prolab = is_prolab(cfg)
    if prolab:
        space = synthetic_space(dataset_classes(cfg), tmp_path / 'space.npz', k=K, e=E)
        cfg.model.decode_head.label_space = space
        cfg.model.auxiliary_head.label_space = space
    model = MODELS.build(cfg.model).eval()
    image = torch.randn(1, 3, 128, 128)
    meta = dict(img_shape=(128, 128), ori_shape=(128, 128), pad_shape=(128, 128))
    with torch.no_grad():
        feats = model.extract_feat(image)
        scores = model.encode_decode(image, [meta])
        aux = model.auxiliary_head(feats)
    assert [f.shape[1] for f in feats] == features
    assert scores.shape == (1, num_classes, 128, 128)
    assert aux.shape[1] == (K if prolab else num_classes)
    for head, channels in ((model.decode_head, decode_channels),
                           (model.auxiliary_head, aux_channels)):
        conv = head.head.conv_seg if prolab else head.conv_seg
        assert conv.weight.shape == ((E if prolab else num_classes), channels, 1, 1)
        if prolab:
            assert conv.centroids.shape == (K, E) and head.num_classes == num_classes


#: The descriptions file shipped for each real dataset of the configs (none for bdd100k).
SHIPPED_DESCRIPTIONS = dict(ade20k='ade20k', coco_stuff164k='coco_stuff',
                            pascal_context59='pascal_context59', cityscapes='cityscapes')


@pytest.mark.parametrize('dataset, stem', SHIPPED_DESCRIPTIONS.items())
def test_descriptions_match_dataset_classes(dataset, stem):
    """Each shipped descriptions file names exactly its configs' dataset classes, in order."""
    import json
    cfg = Config.fromfile(str(next(p for p in REAL if f'_{dataset}-' in p.name)))
    cats = list(json.loads((REPO / 'descriptions' / f'{stem}.json').read_text())['categories'])
    assert cats == list(dataset_classes(cfg))


# ---------------------------------------------------------------- the official ProLab recipe
# Values read from lambert-x/ProLab's released configs (README "ProLab's recipe: our configs vs
# the official ones"): crop, images per GPU (x 8 GPUs), sliding-window stride, training
# resize scale, fp16, temperature, normalised embeddings.
OFFICIAL_RECIPE = dict(
    ade20k=((512, 512), 2, (341, 341), (2048, 512), True, 0.04, False),
    coco_stuff164k=((512, 512), 2, (341, 341), (2048, 512), True, 0.01, True),
    pascal_context59=((512, 512), 2, (341, 341), (2048, 512), False, 0.04, False),
    cityscapes=((768, 768), 1, (512, 512), (2048, 1024), False, 0.04, False),
    bdd100k=((768, 768), 1, (512, 512), (2048, 1024), False, 0.04, False),
)


def test_official_configs_exist():
    assert sorted(dataset_of(p) for p in OFFICIAL) == sorted(OFFICIAL_RECIPE)


def transform(pipeline, kind):
    return next(t for t in pipeline if t.type == kind)


@pytest.mark.parametrize('path', OFFICIAL, ids=lambda p: p.stem)
def test_official_config_sets_the_recipe(path, tmp_path):
    crop, batch, stride, scale, fp16, temperature, normalized = OFFICIAL_RECIPE[dataset_of(path)]
    cfg = Config.fromfile(str(path))
    m = cfg.model
    # model: DeiT-B/16 + multi-level neck standing in for ViT-Adapter-B, UPerNet 512 + FCN 256
    assert m.backbone.type == 'VisionTransformer'
    assert (m.backbone.embed_dims, m.backbone.num_layers, m.backbone.patch_size) == (768, 12, 16)
    assert m.backbone.drop_path_rate == 0.3 and tuple(m.backbone.img_size) == crop
    assert m.neck.type == 'MultiLevelNeck'
    assert (m.decode_head.head.type, m.decode_head.head.channels) == ('UPerHead', 512)
    assert (m.auxiliary_head.head.type, m.auxiliary_head.head.channels) == ('FCNHead', 256)
    assert m.auxiliary_head.head.in_index == 2
    for head in (m.decode_head, m.auxiliary_head):
        assert head.type == 'PropertyHead'
        assert head.loss_decode == dict(type='CosineSimilarityLoss', loss_weight=1.0)
        assert head.temperature == temperature
        assert head.normalize_embedding is normalized
        assert head.label_space.endswith(f'property_spaces/{dataset_of(path)}/property_space.npz')
    assert any(h.type == 'PropertySpaceCheckHook' for h in cfg.custom_hooks)
    # data: crops, images per GPU, training resize, sliding-window test on multiples of 32
    assert tuple(cfg.data_preprocessor.size) == crop and tuple(m.data_preprocessor.size) == crop
    assert cfg.train_dataloader.batch_size == batch
    train = cfg.train_dataloader.dataset.pipeline
    assert tuple(transform(train, 'RandomCrop').crop_size) == crop
    resize = transform(train, 'RandomResize')
    assert (tuple(resize.scale), tuple(resize.ratio_range)) == (scale, (0.5, 2.0))
    assert (m.test_cfg.mode, tuple(m.test_cfg.crop_size), tuple(m.test_cfg.stride)) == (
        'slide', crop, stride)
    for key in ('val_dataloader', 'test_dataloader'):
        kinds = [t.type for t in cfg[key].dataset.pipeline]
        assert kinds.index('ResizeToMultiple') == kinds.index('Resize') + 1
        assert transform(cfg[key].dataset.pipeline, 'ResizeToMultiple').size_divisor == 32
        assert tuple(transform(cfg[key].dataset.pipeline, 'Resize').scale) == scale
    # schedule: AdamW 6e-5 / 0.01, 1500 warm-up iterations, poly to 0 at 160k; fp16 as official
    assert cfg.train_cfg.max_iters == 160000
    assert [(s.type, s.begin, s.end) for s in cfg.param_scheduler] == [
        ('LinearLR', 0, 1500), ('PolyLR', 1500, 160000)]
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 6e-5, 0.01)
    if fp16:
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
        assert cfg.optim_wrapper.loss_scale == dict(init_scale=512)
    else:
        assert cfg.optim_wrapper.type == 'OptimWrapper'
    classes = dataset_classes(cfg)
    model = MODELS.build(shrink(cfg, synthetic_space(classes, tmp_path / 'space.npz')).model)
    assert model.num_classes == len(classes)


def official_lr_groups(name: str, param, num_layers: int = 12, rate: float = 0.95):
    """(lr scale, weight decay on?) of a parameter by the rule of ProLab's layer-decay
    constructor: layer id 0 for embeddings, i + 1 for block i, L - 1 for the rest (L = 14);
    no decay for biases and 1-d parameters."""
    if name in ('backbone.cls_token', 'backbone.pos_embed') or name.startswith(
            'backbone.patch_embed'):
        layer = 0
    elif name.startswith('backbone.layers.'):
        layer = int(name.split('.')[2]) + 1
    else:
        layer = num_layers + 1
    return rate**(num_layers + 1 - layer), not (param.ndim == 1 or name.endswith('.bias'))


def test_official_layer_decay_groups_match_prolab_rule(tmp_path):
    """Every parameter's lr and weight decay equal those of ProLab's layer-decay rule (mmseg's
    own LayerDecayOptimizerConstructor refuses VisionTransformer, so they are custom_keys)."""
    from mmengine.optim import build_optim_wrapper
    path = next(p for p in OFFICIAL if 'cityscapes' in p.name)
    cfg = Config.fromfile(str(path))
    space = synthetic_space(dataset_classes(cfg), tmp_path / 'space.npz')
    model = MODELS.build(shrink(cfg, space).model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    by_param = {id(p): g for g in wrapper.optimizer.param_groups for p in g['params']}
    names = dict(model.named_parameters())
    assert len(by_param) == len(names)
    assert sum(n.startswith('backbone.layers.11.') for n in names) > 0
    for name, param in names.items():
        scale, decay = official_lr_groups(name, param)
        group = by_param[id(param)]
        assert group['lr'] == pytest.approx(6e-5 * scale, rel=1e-9), name
        assert group['weight_decay'] == (0.01 if decay else 0.0), name


def test_official_amp_builds_only_on_a_gpu(tmp_path):
    """mmengine's AmpOptimWrapper (the official fp16) builds on a GPU and refuses to build
    without one; the CPU one-iteration test therefore trains the fp16 configs in fp32."""
    from mmengine.optim import AmpOptimWrapper, build_optim_wrapper
    path = next(p for p in OFFICIAL if 'ade20k' in p.name)
    cfg = Config.fromfile(str(path))
    model = MODELS.build(shrink(cfg, synthetic_space(
        dataset_classes(cfg), tmp_path / 'space.npz')).model)
    if torch.cuda.is_available():
        assert isinstance(build_optim_wrapper(model, cfg.optim_wrapper), AmpOptimWrapper)
        return
    with pytest.raises(AssertionError, match='only available training on gpu'):
        build_optim_wrapper(model, cfg.optim_wrapper)
