"""Generalised zero-shot routes: each calibrator and fit against a hand-computed case, the head's
config switch, the route choice on calib only, the cached-score path against the config path,
and the transductive pseudo-labels (which never read an unseen label)."""
from __future__ import annotations

import json
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from PIL import Image

import prolab_seg  # noqa: F401  (registers the calibrators and the head)
from mmseg.apis import init_model
from mmseg.registry import DATASETS, MODELS
from prolab_seg.models.prolab import ApolloniusCalibration, CategoryBiasCalibration

from projects.property_world import experiments as ex
from projects.property_world.datasets import write_property_world
from test_prolab import build_head, make_space

init_default_scope('mmseg')


def _pixels(*rows):
    """[1, C, 1, P] scores from P per-pixel rows of C scores."""
    return torch.tensor(rows, dtype=torch.float32).T[None, :, None, :]


# ------------------------------------------------------------------ calibrators by hand
def test_apollonius_calibration_by_hand():
    # one seen, one unseen category; chord distances sqrt(2 - 2 s): 0.68 -> 0.8, 0.5 -> 1.0,
    # 0.98 -> 0.2, 0.92 -> 0.4
    scores = _pixels([0.68, 0.5], [0.98, 0.92])
    cal = ApolloniusCalibration(gamma=1.3)
    cal.set_categories(['s', 'u'], [True, False])
    out = cal(scores)
    torch.testing.assert_close(out, _pixels([-1.04, -1.0], [-0.26, -0.4]))
    # pixel 1 goes unseen (1.3 * 0.8 > 1.0), pixel 2 stays seen (1.3 * 0.2 < 0.4) ...
    assert out.argmax(1).flatten().tolist() == [1, 0]
    # ... where one seen offset does the opposite (0.68 - 0.07 > 0.5, 0.98 - 0.07 < 0.92)
    offset = scores - torch.tensor([0.07, 0.0]).view(1, 2, 1, 1)
    assert offset.argmax(1).flatten().tolist() == [0, 1]
    # the boundary is gamma = d_unseen / d_seen = 1.25 for pixel 1
    for gamma, pred in ((1.2, 0), (1.25 + 1e-3, 1)):
        c = ApolloniusCalibration(gamma)
        c.set_categories(['s', 'u'], [True, False])
        assert int(c(scores).argmax(1).flatten()[0]) == pred
    # gamma 1: plain nearest category (the argmax of the cosines)
    plain = ApolloniusCalibration(1.0)
    plain.set_categories(['s', 'u'], [True, False])
    assert plain(scores).argmax(1).equal(scores.argmax(1))


def test_apollonius_calibration_refuses_bad_input():
    with pytest.raises(ValueError, match='gamma must be > 0'):
        ApolloniusCalibration(0)
    cal = ApolloniusCalibration(1.2)
    with pytest.raises(ValueError, match='call set_categories'):
        cal(_pixels([0.1, 0.2]))
    with pytest.raises(ValueError, match='2 class names but 1 seen flags'):
        cal.set_categories(['a', 'b'], [True])


def test_category_bias_calibration_by_hand():
    cal = CategoryBiasCalibration(biases={'a': -0.1, 'u': 0.05, 'not in the bank': 1.0})
    cal.set_categories(['a', 'b', 'u'], [True, True, False])
    scores = _pixels([0.5, 0.45, 0.42], [0.2, 0.3, 0.26])
    torch.testing.assert_close(cal(scores), _pixels([0.4, 0.45, 0.47], [0.1, 0.3, 0.31]))
    assert cal(scores).argmax(1).flatten().tolist() == [2, 2]
    # rebinding to a subset of the bank keeps the biases of the categories left
    cal.set_categories(['u'], [False])
    torch.testing.assert_close(cal(_pixels([0.3])), _pixels([0.35]))


# ------------------------------------------------------------------ the head's config switch
def _both_banks():
    seen = make_space(4, seed=0)
    unseen = make_space(2, seed=1, centroids=seen['centroids'], prefix='u')
    both = dict(class_names=seen['class_names'] + unseen['class_names'],
                vectors=np.concatenate([seen['vectors'], unseen['vectors']]),
                centroids=seen['centroids'])
    return seen, unseen, both


def test_head_applies_the_configured_calibrator_at_inference_only():
    seen, unseen, both = _both_banks()
    plain = build_head(seen, test_label_space=both)
    calibrated = build_head(seen, test_label_space=both,
                            calibration=dict(type='ApolloniusCalibration', gamma=1.4))
    # no new state: checkpoints load either way
    assert set(calibrated.state_dict()) == set(plain.state_dict())
    calibrated.load_state_dict(plain.state_dict())
    plain.eval(), calibrated.eval()
    logits = torch.randn(1, plain.num_properties, 3, 3)
    ref = ApolloniusCalibration(1.4)
    ref.set_categories(both['class_names'], [True] * 4 + [False] * 2)
    torch.testing.assert_close(calibrated.output_maps(logits), ref(plain.output_maps(logits)))
    # bank switch: unseen categories only -> plain negative distances
    calibrated.set_categories(unseen)
    torch.testing.assert_close(calibrated.output_maps(logits),
                               -(2 - 2 * plain.category_scores(logits, calibrated.test_vectors))
                               .clamp_min(0).sqrt())
    with pytest.raises(ValueError, match='seen_calibration or calibration, not both'):
        build_head(seen, seen_calibration=0.1, calibration=dict(type='ApolloniusCalibration'))


# ------------------------------------------------------------------ fitted biases by hand
def test_fit_category_biases_by_hand():
    # categories s0, s1 (seen), u (unseen); four pixels labelled s0, s1, u, u
    scores = _pixels([0.9, 0.1, 0.5], [0.1, 0.9, 0.5], [0.54, 0.1, 0.5], [0.1, 0.53, 0.5]).numpy()
    labels = np.array([[[0, 1, 2, 2]]])
    seen = np.array([True, True, False])
    # plain argmax [0, 1, 0, 1]: no unseen pixel right, H = 0. Sweep 1 with step 0.05: s0 -0.05
    # frees pixel 3 (0.49 < 0.5; H 60), s1 -0.05 frees pixel 4 (0.48 < 0.5; H 100); nothing
    # else raises H, so sweep 2 changes nothing.
    bias = ex.fit_category_biases(scores, labels, seen, np.zeros(3), steps=(0.05,))
    np.testing.assert_allclose(bias, [-0.05, -0.05, 0.0])
    assert (scores + bias[None, :, None, None]).argmax(1).tolist() == labels.tolist()
    # ignored pixels do not count: hiding the two unseen pixels leaves nothing to gain
    hidden = np.array([[[0, 1, 255, 255]]])
    np.testing.assert_allclose(ex.fit_category_biases(scores, hidden, seen, np.zeros(3)),
                               np.zeros(3))


def test_stratified_folds_deal_each_unseen_category_to_both_folds():
    # image -> unseen categories it holds (ids 5 and 6 unseen)
    held = [(), (5,), (), (5,), (6,), (5,), (6,), ()]
    labels = np.stack([np.array([[0, *(held_i or (1,))]]) for held_i in held])
    folds = ex.stratified_folds(labels, [5, 6], 2)
    assert folds.tolist() == [0, 0, 1, 1, 0, 0, 1, 0]
    for ids in ((5,), (6,)):
        assert {folds[i] for i, h in enumerate(held) if h == ids} == {0, 1}


# ------------------------------------------------------------------ route choice: calib only
def _fake_scores(image: torch.Tensor, labels: np.ndarray, seen) -> ex.SplitScores:
    """A split whose head resolution is its image resolution (``to_image``: identity)."""
    return ex.SplitScores(image, image, labels, [f'c{i}' for i in range(len(seen))],
                          np.array(seen), lambda maps: maps)


def _calib_where_the_unseen_category_hides():
    """8 images of categories s0, s1 (seen) and u (unseen), 4 pixels labelled s0, s1, u, u. The
    unseen pixels score 0.04 below s0 (0.6 vs 0.56), and u trails s1 by 0.005 on s1's pixel:
    any seen offset or Apollonius factor that frees the unseen pixels also loses s1's pixel;
    lowering s0 alone (a bias of -0.05) gets every pixel right."""
    s = np.full((3, 1, 4), 0.1, np.float32)
    s[0, 0, 0] = 0.9
    s[1, 0, 1], s[2, 0, 1] = 0.9, 0.895
    s[0, 0, 2:], s[2, 0, 2:] = 0.6, 0.56
    return torch.from_numpy(np.stack([s] * 8)), np.tile(np.array([[[0, 1, 2, 2]]]), (8, 1, 1))


def test_routes_are_judged_on_calib_and_tested_on_val(monkeypatch, tmp_path):
    image, labels = _calib_where_the_unseen_category_hides()
    calib = _fake_scores(image, labels, [True, True, False])
    requested, evaluated = [], []

    def fake_split_scores(config, checkpoint, options, bank, split='calib'):
        requested.append(split)
        return calib

    def fake_evaluate(config, checkpoint, options, work_dir, quiet=True):
        evaluated.append(dict(options))
        # val would favour the scalar route: it must not decide
        good = 'model.decode_head.seen_calibration' in options
        return dict(hIoU=90.0 if good else 10.0, mIoU_seen=50.0, mIoU_unseen=50.0)

    monkeypatch.setattr(ex, 'split_scores', fake_split_scores)
    monkeypatch.setattr(ex, 'evaluate', fake_evaluate)
    out = ex.generalized_zero_shot_routes('cfg.py', 'ckpt.pth', {'user': 1}, 'bank.npz',
                                          str(tmp_path))
    assert requested == ['calib']
    judged = out['routes']
    assert set(judged) == set(ex.GZSL_ROUTES)
    # per-category biases free every unseen pixel at no seen cost; the best seen offset cannot
    assert judged['category_bias']['calib_cv_hIoU'] == pytest.approx(100.0)
    assert judged['scalar']['calib_cv_hIoU'] < 100.0
    assert out['route'] == 'category_bias' and out['hIoU'] == 10.0
    assert out['head_options'] == judged['category_bias']['options']
    # every route is tested on val (no calib prefix) with its own head options
    assert len(evaluated) == len(ex.GZSL_ROUTES)
    for opts in evaluated:
        assert ex.SPLIT_PREFIX not in opts and opts['user'] == 1
        assert opts['model.decode_head.test_label_space'] == 'bank.npz'
        assert opts['test_dataloader.dataset.class_subset'] == 'all'


def test_grid_routes_take_their_first_best_setting_and_ties_go_to_the_first_route(
        monkeypatch, tmp_path):
    # every pixel already right: every setting reaches H 100
    image = torch.eye(3)[[0, 1, 2, 2]].T.reshape(1, 3, 1, 4).repeat(4, 1, 1, 1)
    calib = _fake_scores(image, np.tile(np.array([[[0, 1, 2, 2]]]), (4, 1, 1)),
                         [True, True, False])
    judged = ex.judge_routes(calib, ('apollonius', 'scalar'))
    assert [r['calib_cv_hIoU'] for r in judged.values()] == [100.0, 100.0]
    assert judged['scalar']['options'] == dict(seen_calibration=0.0)
    assert judged['apollonius']['options']['calibration']['gamma'] == 1.0
    with pytest.raises(ValueError, match=r"unknown GZSL routes \['joem'\]"):
        ex.judge_routes(calib, ('scalar', 'joem'))
    monkeypatch.setattr(ex, 'split_scores', lambda *args: calib)
    monkeypatch.setattr(ex, 'evaluate', lambda *args, **kw: dict(hIoU=1.0))
    for routes in (('apollonius', 'scalar'), ('scalar', 'apollonius')):
        out = ex.generalized_zero_shot_routes('c', 'k', {}, 'b', str(tmp_path), routes)
        assert out['route'] == routes[0]


def test_zero_shot_metrics_takes_the_routes_when_given(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(ex, 'evaluate', lambda *a, **k: {'mIoU': 1.0, 'IoU.u': 2.0})
    monkeypatch.setattr(ex, 'generalized_zero_shot', lambda *a: calls.append('scalar') or 'g')
    monkeypatch.setattr(ex, 'generalized_zero_shot_routes',
                        lambda *a: calls.append(a[-1]) or 'r')
    info = SimpleNamespace(unseen=['u'])
    assert ex.zero_shot_metrics('c', 'k', {}, {}, 'b', info, str(tmp_path))['gzsl'] == 'g'
    out = ex.zero_shot_metrics('c', 'k', {}, {}, 'b', info, str(tmp_path),
                               routes=ex.GZSL_ROUTES)
    assert out == dict(zs_mIoU=1.0, zs_IoU={'u': 2.0}, gzsl='r')
    assert calls == ['scalar', ex.GZSL_ROUTES]


# ------------------------------------------------------------------ cached path == config path
@pytest.fixture(scope='module')
def untrained(tmp_path_factory):
    """(config, checkpoint, options, bank) of an untrained ProLab model on tiny data with the
    oracle attribute space (no sentence model, no training)."""
    d = tmp_path_factory.mktemp('gzsl')
    write_property_world(d / 'data', num_train=2, num_val=2, num_calib=6, num_train_all=4)
    info = ex.data_info(str(d / 'data'))
    spaces = ex.attribute_space(str(d / 'spaces'), info)
    options = dict(ex.schedule_options(info.root, 2), **ex.space_options(spaces['seen'], info))
    config = ex.CONFIGS['prolab']
    torch.manual_seed(0)
    model = MODELS.build(ex.apis.load_config(config, options).model)
    for m in model.modules():  # spread the BN statistics so that the scores vary per pixel
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_var.fill_(0.01)
    torch.save(dict(state_dict=model.state_dict(), meta={}), d / 'ckpt.pth')
    return config, str(d / 'ckpt.pth'), options, spaces['all'], info


@pytest.fixture(scope='module')
def calib_scores(untrained):
    config, ckpt, options, bank, _ = untrained
    return ex.split_scores(config, ckpt, options, bank, 'calib')


@pytest.mark.parametrize('head_options', [
    dict(seen_calibration=0.05),
    dict(calibration=dict(type='ApolloniusCalibration', gamma=1.3)),
    dict(calibration=dict(type='CategoryBiasCalibration',
                          biases={'sky': -0.05, 'tiger': 0.1, 'autumn leaves': 0.02}))])
def test_cached_scores_give_the_config_paths_numbers(untrained, calib_scores, head_options,
                                                     tmp_path):
    config, ckpt, options, bank, info = untrained
    data = calib_scores
    assert data.classes == info.classes and data.seen.tolist() == [
        c in info.seen for c in info.classes]
    assert data.maps.shape[2:] == (8, 8) and data.image.shape[2:] == (64, 64)
    scores = ex.calibrated_scores(data, head_options)
    opts = dict(options, **ex.zero_shot_options(bank, None), **ex.split_options('calib'),
                **{f'model.decode_head.{k}': v for k, v in head_options.items()})
    # the segmentor's own logits with the head so configured
    cfg = ex.apis.load_config(config, opts)
    model = init_model(cfg, ckpt, device='cpu')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    with torch.no_grad():
        out = model.test_step(pseudo_collate([dataset[i] for i in range(len(dataset))]))
    torch.testing.assert_close(scores, torch.stack([o.seg_logits.data for o in out]))
    # and the metric's numbers through the config (tools/test.py)
    pred = scores.argmax(1).numpy()
    assert len(np.unique(pred)) > 2  # a non-trivial prediction
    conf = ex.image_confusions(pred, data.labels, len(data.classes)).sum(0)
    cached = ex.iou_from_confusion(conf) * 100
    metric = ex.evaluate(config, ckpt, opts, str(tmp_path))
    np.testing.assert_allclose([metric[f'IoU.{c}'] for c in data.classes], cached.round(2),
                               atol=0.011)
    assert metric['hIoU'] == pytest.approx(ex.gzsl_numbers(conf, data.seen)['hIoU'], abs=0.02)


# ------------------------------------------------------------------ transductive pseudo-labels
def test_pseudo_labels_by_hand_never_read_unseen_labels():
    # categories s (seen), u1, u2 (unseen); 6 pixels: labelled s, then five not labelled seen
    image = _pixels([0.9, 0.1, 0.2], [0.5, 0.8, 0.1], [0.5, 0.6, 0.1], [0.5, 0.2, 0.7],
                    [0.5, 0.1, 0.3], [0.5, 0.4, 0.35])
    truth = np.array([[[0, 1, 1, 2, 2, 255]]])
    data = _fake_scores(image, truth, [True, False, False])
    # u1 wins pixels 2, 3, 6 (0.8, 0.6, 0.4): keep the top half -> scores >= median 0.6;
    # u2 wins pixels 4, 5 (0.7, 0.3): >= median 0.5 -> pixel 4 only
    expected = [[[0, 1, 1, 2, 255, 255]]]
    assert ex.pseudo_labels(data, keep=0.5).tolist() == expected
    # the unseen truth is never read: other unseen labels, or none, give the same pseudo-labels
    for other in ([[[0, 2, 255, 1, 1, 2]]], [[[0, 255, 255, 255, 255, 255]]]):
        assert ex.pseudo_labels(_fake_scores(image, np.array(other), [True, False, False]),
                                keep=0.5).tolist() == expected
    assert ex.pseudo_labels(data, keep=1.0).tolist() == [[[0, 1, 1, 2, 2, 1]]]
    with pytest.raises(ValueError, match='keep must be in'):
        ex.pseudo_labels(data, keep=0)


def test_transductive_self_training_trains_on_pseudo_labels(untrained, monkeypatch, tmp_path):
    config, ckpt, options, bank, info = untrained
    n = len(os.listdir(os.path.join(info.root, 'img_dir', 'train_all')))
    unseen_id = info.classes.index(info.unseen[0])
    scores = torch.zeros(n, len(info.classes), 64, 64)
    scores[:, unseen_id] = 1.0  # the model calls every unlabelled pixel the first unseen one
    truth = np.stack([np.asarray(Image.open(os.path.join(info.root, 'ann_dir', 'train_all', f)))
                      for f in sorted(os.listdir(os.path.join(info.root, 'ann_dir',
                                                              'train_all')))])
    seen = np.array([c in info.seen for c in info.classes])
    scored, trained = [], []

    def fake_split_scores(config_, checkpoint, options_, bank_, split='calib'):
        assert split == 'train_all' and options_ is options
        scored.append(checkpoint)
        return _fake_scores(scores, truth, seen)

    def fake_train(config_, opts, work_dir, quiet=True):
        trained.append(opts)
        return f'round{len(trained)}.pth'

    monkeypatch.setattr(ex, 'split_scores', fake_split_scores)
    monkeypatch.setattr(ex, 'train', fake_train)
    out = ex.transductive_self_training(config, ckpt, options, bank, info, str(tmp_path),
                                        rounds=2, keep=1.0)
    # each round pseudo-labels with, and fine-tunes from, the previous round's checkpoint
    assert out == 'round2.pth' and scored == [ckpt, 'round1.pth']
    assert [o['load_from'] for o in trained] == [ckpt, 'round1.pth']
    opts = trained[-1]
    assert opts['model.decode_head.label_space'] == bank
    assert opts['train_dataloader.dataset.class_subset'] == 'all'
    root = opts['train_dataloader.dataset.data_root']
    assert root.startswith(str(tmp_path)) and root != info.root
    written = np.stack([np.asarray(Image.open(os.path.join(root, 'ann_dir', 'train_all', f)))
                        for f in sorted(os.listdir(os.path.join(root, 'ann_dir', 'train_all')))])
    labelled_seen = np.isin(truth, np.flatnonzero(seen))
    assert (written[labelled_seen] == truth[labelled_seen]).all()
    assert (written[~labelled_seen] == unseen_id).all()
    # images and the other splits are the original data's; pixel counts are the pseudo-labels'
    assert os.path.realpath(os.path.join(root, 'img_dir', 'train_all')) == \
        os.path.realpath(os.path.join(info.root, 'img_dir', 'train_all'))
    meta = json.loads(open(os.path.join(root, 'meta.json')).read())
    assert meta['pixels_per_class']['train_all'][info.unseen[0]] == int((~labelled_seen).sum())
    assert meta['classes'] == info.classes


def test_self_training_data_links_resolve_for_a_relative_root(untrained, monkeypatch, tmp_path):
    """A data root given relative to the working directory (as the benchmark's command line
    gives it) still yields links that resolve from the new root."""
    info = untrained[4]
    monkeypatch.chdir(os.path.dirname(info.root))
    rel = ex.DataInfo(os.path.basename(info.root), info.classes, info.seen, info.unseen,
                      info.attributes, info.pixels)
    n = len(os.listdir(os.path.join(info.root, 'img_dir', 'train_all')))
    labels = np.zeros((n, 64, 64), np.uint8)
    out = ex.self_training_data(rel, labels, str(tmp_path / 'st'))
    for sub, split in (('img_dir', 'train_all'), ('img_dir', 'val'), ('ann_dir', 'calib')):
        assert sorted(os.listdir(os.path.join(out.root, sub, split))) == \
            sorted(os.listdir(os.path.join(info.root, sub, split)))
