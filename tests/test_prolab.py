"""ProLab model parts: CosineSimilarityLoss, PropertyHead targets / inference / bank switching."""
import math

import numpy as np
import pytest
import torch

import prolab_seg  # noqa: F401
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from prolab_seg import cli
from prolab_seg.models.prolab import CosineSimilarityLoss, LabelTargets, set_inference_categories
from prolab_seg.properties import NameEmbeddingSpace, load_label_space
from prolab_seg.models.prolab.head import CentroidConv2d

K, E, C = 6, 10, 4
init_default_scope('mmseg')


def make_space(num_classes=C, seed=0, centroids=None, prefix='c'):
    rng = np.random.default_rng(seed)
    if centroids is None:
        centroids = rng.normal(size=(K, E)).astype(np.float32)
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    while True:  # distinct, non-zero multi-hot rows
        vectors = (rng.random((num_classes, K)) > 0.5).astype(np.float32)
        vectors[:, 0] = 1.0
        if len({tuple(r) for r in vectors}) == num_classes:
            break
    return dict(class_names=[f'{prefix}{i}' for i in range(num_classes)], vectors=vectors,
                centroids=centroids)


def fcn(in_channels=8):
    return dict(type='FCNHead', in_channels=in_channels, channels=8, num_convs=1,
                concat_input=False, dropout_ratio=0.0, norm_cfg=None)


def samples(labels):
    out = []
    for lab in labels:
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.as_tensor(lab)[None].long())
        out.append(s)
    return out


# ------------------------------------------------------------------ loss
def test_loss_matches_hand_computation():
    loss = CosineSimilarityLoss(loss_weight=2.0)
    pred = torch.tensor([[3., 4.], [1., 0.]]).reshape(1, 2, 1, 2)  # pixels (3,1),(4,0)
    target = torch.tensor([[1., 0.], [0., 1.]]).reshape(1, 2, 1, 2)  # (1,0),(0,1)
    # pixel 0: pred (3,1) tgt (1,0): cos = 3/sqrt(10); pixel 1: pred (4,0) tgt (0,1): cos 0
    expected = 2.0 * ((1 - 3 / math.sqrt(10)) + 1.0) / 2
    assert loss(pred, target).item() == pytest.approx(expected, rel=1e-6)


def test_loss_label_map_ignore_and_gradients():
    torch.manual_seed(0)
    vectors = torch.tensor([[1., 0., 1.], [0., 1., 0.]])
    pred = torch.rand(1, 3, 2, 2, requires_grad=True)
    label = torch.tensor([[[0, 1], [255, 0]]])
    loss = CosineSimilarityLoss()(pred, LabelTargets(label, vectors, 255))
    # hand: mean over the three labelled pixels
    p = pred.detach()[0].permute(1, 2, 0)
    hand = []
    for (i, j), c in [((0, 0), 0), ((0, 1), 1), ((1, 1), 0)]:
        hand.append(1 - torch.nn.functional.cosine_similarity(p[i, j], vectors[c], dim=0))
    assert loss.item() == pytest.approx(torch.stack(hand).mean().item(), rel=1e-5)
    loss.backward()
    assert torch.isfinite(pred.grad).all()
    assert pred.grad[0, :, 1, 0].abs().sum() == 0  # ignored pixel gets no gradient
    assert pred.grad[0, :, 0, 0].abs().sum() > 0
    # gradcheck on the dense form
    pd = torch.rand(1, 3, 2, 2, dtype=torch.double, requires_grad=True)
    tg = torch.rand(1, 3, 2, 2, dtype=torch.double)
    assert torch.autograd.gradcheck(lambda x: CosineSimilarityLoss()(x, tg), (pd,))


def test_loss_all_zero_and_all_ignored_are_safe():
    loss = CosineSimilarityLoss()
    pred = torch.zeros(2, 4, 3, 3, requires_grad=True)
    target = torch.zeros(2, 4, 3, 3)
    out = loss(pred, target)
    assert out.item() == pytest.approx(1.0)
    out.backward()
    assert torch.isfinite(pred.grad).all()
    pred2 = torch.rand(1, 2, 2, 2, requires_grad=True)
    lab = torch.full((1, 2, 2), 255)
    out2 = loss(pred2, LabelTargets(lab, torch.eye(2)))
    assert out2.item() == 0.0
    out2.backward()
    assert torch.isfinite(pred2.grad).all() and pred2.grad.abs().sum() == 0


def test_loss_bce_term():
    logits = torch.randn(1, 3, 2, 2)
    pred = torch.sigmoid(logits)
    # label targets carrying the logits (the head's call) and dense targets (BCE from pred)
    vectors = torch.tensor([[1., 0., 1.], [0., 1., 1.]])
    label = torch.tensor([[[0, 1], [1, 0]]])
    target = vectors[label].permute(0, 3, 1, 2)
    base = CosineSimilarityLoss()(pred, target)
    both = CosineSimilarityLoss(bce_weight=0.5)(pred, LabelTargets(label, vectors, logits=logits))
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    assert both.item() == pytest.approx(base.item() + 0.5 * bce.item(), rel=1e-5)
    no_logits = CosineSimilarityLoss(bce_weight=0.5)(pred, target)
    assert no_logits.item() == pytest.approx(both.item(), rel=1e-4)


# ------------------------------------------------------------------ head
def build_head(space=None, **kw):
    cfg = dict(type='PropertyHead', head=fcn(), label_space=space or make_space())
    cfg.update(kw)
    return MODELS.build(cfg)


def test_centroid_conv_folding_equals_two_step():
    torch.manual_seed(0)
    cent = torch.nn.functional.normalize(torch.randn(K, E), dim=1)
    conv = CentroidConv2d(8, cent)
    x = torch.randn(2, 8, 3, 3)
    two_step = torch.einsum('nehw,ke->nkhw', conv.embed(x), cent)
    torch.testing.assert_close(conv(x), two_step, rtol=1e-5, atol=1e-5)
    assert not any(n == 'centroids' for n, _ in conv.named_parameters())
    conv_n = CentroidConv2d(8, cent, normalize_embedding=True)
    conv_n.load_state_dict(conv.state_dict())
    e = torch.nn.functional.normalize(conv.embed(x), dim=1)
    torch.testing.assert_close(conv_n(x), torch.einsum('nehw,ke->nkhw', e, cent))


def test_head_target_construction_and_loss():
    space = make_space()
    head = build_head(space, temperature=0.5)
    torch.manual_seed(0)
    x = [torch.randn(2, 8, 4, 4)]
    label = torch.randint(0, C, (2, 8, 8))
    label[0, 0, :] = 255
    logits = head(x)
    assert logits.shape == (2, K, 4, 4)
    losses = head.loss_by_feat(logits, samples(label))
    assert set(losses) == {'loss_cos', 'acc_seg'}
    # hand-built targets: row of the C x K bank for each labelled pixel
    up = torch.nn.functional.interpolate(logits, size=(8, 8), mode='bilinear',
                                         align_corners=False)
    act = torch.sigmoid(up / 0.5)
    vec = torch.from_numpy(space['vectors'])
    valid = label != 255
    tgt = vec[label.clamp(max=C - 1)].permute(0, 3, 1, 2)
    cos = torch.nn.functional.cosine_similarity(act, tgt, dim=1)
    hand = (1 - cos)[valid].mean()
    assert losses['loss_cos'].item() == pytest.approx(hand.item(), rel=1e-5)
    losses['loss_cos'].backward()
    assert head.head.conv_seg.weight.grad is not None
    assert head.head.conv_seg.centroids.grad is None  # fixed, not trained


def test_head_loss_runs_in_fp32_for_half_and_autocast_inputs():
    """Under AMP the head's logits arrive in half precision inside autocast: the loss must be
    the fp32 one (fp16 sums over 2 x 300 x 300 labelled pixels overflow: NaN / 0 before)."""
    head = build_head(temperature=0.04)
    torch.manual_seed(0)
    logits = torch.randn(2, K, 75, 75)
    label = torch.randint(0, C, (2, 300, 300))
    ref = head.loss_by_feat(logits, samples(label))
    half = head.loss_by_feat(logits.half(), samples(label))
    assert half['loss_cos'].dtype == torch.float32
    assert half['loss_cos'].item() == pytest.approx(ref['loss_cos'].item(), rel=1e-3)
    with torch.autocast('cpu', dtype=torch.bfloat16):  # autocast is switched off inside
        auto = head.loss_by_feat(logits, samples(label))
    assert auto['loss_cos'].item() == pytest.approx(ref['loss_cos'].item(), rel=1e-6)


def test_head_rejects_out_of_range_labels_and_bad_config():
    head = build_head()
    label = torch.zeros(1, 4, 4, dtype=torch.long)
    label[0, 0, 0] = C  # not a class, not ignore
    with pytest.raises(ValueError, match='outside the 4 classes'):
        head.loss(([torch.randn(1, 8, 2, 2)]), samples(label), None)
    with pytest.raises(ValueError, match='does not match the configured classes'):
        build_head(class_names=['c0', 'c1', 'x'])
    with pytest.raises(FileNotFoundError, match='gen_properties'):
        build_head(space='does/not/exist.npz')


def test_inference_mapping_is_cosine_argmax():
    head = build_head()
    head.eval()
    x = [torch.randn(1, 8, 4, 4)]
    scores = head.predict(x, [dict(img_shape=(4, 4))], None)
    assert scores.shape == (1, C, 4, 4)
    act = torch.sigmoid(head(x) / head.temperature)
    a = torch.nn.functional.normalize(act, dim=1)
    v = torch.nn.functional.normalize(head.test_vectors, dim=1)
    torch.testing.assert_close(scores, torch.einsum('nkhw,ck->nchw', a, v))
    # a pixel whose activations equal category 2's vector is predicted as category 2
    act = head.test_vectors[2].view(1, K, 1, 1).expand(1, K, 2, 2) * 0.9
    assert head.scores_from_activations(act, head.test_vectors).argmax(1).eq(2).all()


def test_unseen_category_switching(tmp_path):
    seen = make_space(C, seed=0)
    unseen = make_space(3, seed=1, centroids=seen['centroids'], prefix='u')
    head = build_head(seen, test_label_space=unseen)
    assert head.num_classes == 3 and head.out_channels == 3
    assert head.test_class_names == ['u0', 'u1', 'u2']
    x = [torch.randn(1, 8, 4, 4)]
    assert head.predict(x, [dict(img_shape=(4, 4))], None).shape[1] == 3
    head.set_categories(seen)
    assert head.num_classes == C
    other = make_space(3, seed=2)  # different centroids -> not compatible
    with pytest.raises(ValueError, match='different property centroids'):
        head.set_categories(other)
    # through a whole segmentor
    model = MODELS.build(dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1]),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                      out_indices=(3, ), norm_cfg=dict(type='BN')),
        decode_head=dict(type='PropertyHead', head=fcn(64), label_space=seen),
        test_cfg=ConfigDict(mode='whole')))
    model.eval()
    set_inference_categories(model, unseen)
    assert model.out_channels == 3
    with torch.no_grad():
        out = model.predict(torch.rand(1, 3, 32, 32), [SegDataSample(metainfo=dict(
            img_shape=(32, 32), ori_shape=(32, 32), pad_shape=(32, 32)))])
    assert out[0].seg_logits.data.shape == (3, 32, 32)
    assert int(out[0].pred_sem_seg.data.max()) < 3


def test_seen_calibration_lowers_only_trained_categories():
    seen = make_space(C, seed=0)
    unseen = make_space(3, seed=1, centroids=seen['centroids'], prefix='u')
    both = dict(class_names=seen['class_names'] + unseen['class_names'],
                vectors=np.concatenate([seen['vectors'], unseen['vectors']]),
                centroids=seen['centroids'])
    plain = build_head(seen, test_label_space=both)
    calibrated = build_head(seen, test_label_space=both, seen_calibration=0.3)
    calibrated.load_state_dict(plain.state_dict())
    plain.eval(), calibrated.eval()
    x, meta = [torch.randn(1, 8, 4, 4)], [dict(img_shape=(4, 4))]
    diff = calibrated.predict(x, meta, None) - plain.predict(x, meta, None)
    torch.testing.assert_close(diff[:, :C], torch.full_like(diff[:, :C], -0.3))
    torch.testing.assert_close(diff[:, C:], torch.zeros_like(diff[:, C:]))
    # the offsets follow bank switches; the training loss is untouched
    calibrated.set_categories(unseen)
    torch.testing.assert_close(calibrated.predict(x, meta, None),
                               plain.predict(x, meta, None)[:, C:])
    labels = samples([np.zeros((4, 4))])
    calibrated.train(), plain.train()
    torch.manual_seed(0)
    a = calibrated.loss(x, labels, None)['loss_cos']
    torch.manual_seed(0)
    torch.testing.assert_close(a, plain.loss(x, labels, None)['loss_cos'])
    with pytest.raises(ValueError, match='seen_calibration'):
        build_head(seen, seen_calibration=-1)


def test_checkpoint_with_other_centroids_is_rejected():
    a = build_head(make_space(seed=0))
    b = build_head(make_space(seed=5))
    with pytest.raises(RuntimeError, match='another label space'):
        b.load_state_dict(a.state_dict())
    c = build_head(make_space(seed=0))
    c.load_state_dict(a.state_dict())


def test_label_embedding_bank_is_same_head(tmp_path):
    rng = np.random.default_rng(0)
    path = str(NameEmbeddingSpace(['a', 'b', 'c'], rng.normal(size=(3, E))).save(
        tmp_path / 'names.npz'))
    space = load_label_space(path)
    assert type(space) is NameEmbeddingSpace and space.embed_dim == E
    head = build_head(path)
    assert type(head.head.conv_seg) is torch.nn.Conv2d and head.activation == 'none'
    x = [torch.randn(1, 8, 4, 4)]
    assert head(x).shape == (1, E, 4, 4)
    losses = head.loss(x, samples(torch.randint(0, 3, (1, 8, 8))), None)
    assert torch.isfinite(losses['loss_cos'])
    with pytest.raises(ValueError, match='is a PropertySpace but'):
        build_head(path, test_label_space=make_space())


@pytest.mark.parametrize('inner', [
    dict(type='UPerHead', in_channels=[8, 8], in_index=[0, 1], channels=8, pool_scales=(1, 2)),
    dict(type='DepthwiseSeparableASPPHead', in_channels=8, in_index=1, channels=8,
         dilations=(1, 2), c1_in_channels=8, c1_channels=4),
    dict(type='SegformerHead', in_channels=[8, 8], in_index=[0, 1], channels=8),
    dict(type='ASPPHead', in_channels=8, in_index=1, channels=8, dilations=(1, 2)),
])
def test_any_decode_head_can_be_wrapped(inner):
    head = MODELS.build(dict(type='PropertyHead', head=inner, label_space=make_space()))
    x = [torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4)]
    assert head(x).shape[1] == K
    losses = head.loss(x, samples(torch.randint(0, C, (2, 16, 16))), None)
    losses['loss_cos'].backward()


def test_feature_resolution_loss_is_upsampled_cosine():
    space = make_space()
    head = build_head(space, loss_resolution='feature')
    x = [torch.randn(2, 8, 4, 4)]
    label = torch.randint(0, C, (2, 8, 8))
    label[1, :2] = 255
    logits = head(x)
    loss = head.loss_by_feat(logits, samples(label))['loss_cos']
    cos_lr = head.scores_from_activations(torch.sigmoid(logits / head.temperature),
                                          torch.from_numpy(space['vectors']))
    cos = torch.nn.functional.interpolate(cos_lr, size=(8, 8), mode='bilinear',
                                          align_corners=False)
    valid = label != 255
    hand = (1 - cos.gather(1, label.clamp(max=C - 1)[:, None])[:, 0])[valid].mean()
    assert loss.item() == pytest.approx(hand.item(), rel=1e-5)
    loss.backward()
    assert head.head.conv_seg.weight.grad.abs().sum() > 0


def test_segment_tool(tmp_path):
    """tools/segment.py on a randomly initialised ProLab model, switching to new categories."""
    from PIL import Image
    from prolab_seg.properties import PropertySpace
    tool, model_args, _ = _segment_setup(tmp_path)
    seen = make_space(C, seed=0)
    both = dict(class_names=seen['class_names'] + ['new0', 'new1'],
                vectors=np.concatenate([seen['vectors'], make_space(2, seed=3)['vectors']]),
                centroids=seen['centroids'])
    both_p = str(PropertySpace(**both).save(tmp_path / 'both.npz'))
    img = tmp_path / 'img.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8)).save(img)
    out = tmp_path / 'out'
    tool.main([*model_args, str(img), '--categories', both_p,
               '--classes', 'new0', 'new1', 'c0', '--out-dir', str(out), '--top-k', '3'])
    for suffix in ('_mask.png', '_labels.png', '_properties.png', '.json'):
        assert (out / f'img{suffix}').exists()
    labels = np.asarray(Image.open(out / 'img_labels.png'))
    assert labels.shape == (32, 32) and labels.max() < 3
    import json
    summary = json.loads((out / 'img.json').read_text())
    assert set(summary['categories']) <= {'new0', 'new1', 'c0'}
    assert all('top_properties' in v for v in summary['categories'].values())


def _segment_setup(tmp_path):
    """A random ProLab model saved as config + checkpoint, and the segment tool module."""
    import importlib.util
    from pathlib import Path

    from mmengine.config import Config
    from prolab_seg.properties import PropertySpace
    repo = Path(__file__).resolve().parents[1]
    seen_p = str(PropertySpace(**make_space(C, seed=0)).save(tmp_path / 'seen.npz'))
    cfg = Config(dict(
        default_scope='mmseg',
        model=dict(
            type='EncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1]),
            backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                          out_indices=(3, ), norm_cfg=dict(type='BN')),
            decode_head=dict(type='PropertyHead', head=fcn(64), label_space=seen_p),
            test_cfg=dict(mode='whole')),
        test_pipeline=[dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]))
    cfg.dump(str(tmp_path / 'cfg.py'))
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict(), meta=dict()),
               tmp_path / 'ckpt.pth')
    spec = importlib.util.spec_from_file_location('segment_tool', repo / 'tools' / 'segment.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool, [str(tmp_path / 'cfg.py'), str(tmp_path / 'ckpt.pth')], seen_p


def test_segment_tool_bad_images_and_one_category_bank(tmp_path, capsys):
    """A text file or a truncated PNG: short error naming it, nothing written; a one-category
    inference bank labels every pixel with that category."""
    from PIL import Image
    tool, model_args, seen_p = _segment_setup(tmp_path)
    img = tmp_path / 'img.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8)).save(img)
    text = tmp_path / 'notes.png'
    text.write_text('not an image\n')
    cut = tmp_path / 'cut.png'
    cut.write_bytes(img.read_bytes()[:200])
    out = tmp_path / 'out'
    for bad in (text, cut):
        assert cli.run(tool.main, model_args + [str(img), str(bad), '--out-dir', str(out)],
                       ValueError) == 2
        err = capsys.readouterr().err
        assert str(bad) in err and 'not a readable image' in err and 'Traceback' not in err
        assert not out.exists()                    # checked before anything is written
    tool.main(model_args + [str(img), '--categories', seen_p, '--classes', 'c2',
                            '--out-dir', str(out)])
    labels = np.asarray(Image.open(out / 'img_labels.png'))
    assert labels.shape == (32, 32) and (labels == 0).all()
    assert 'c2 100%' in capsys.readouterr().out


def test_wrapped_head_sampler_is_refused():
    with pytest.raises(ValueError, match="sampler .*OHEMPixelSampler.*remove head.sampler"):
        build_head(head=dict(fcn(), sampler=dict(type='OHEMPixelSampler', thresh=0.7)))
