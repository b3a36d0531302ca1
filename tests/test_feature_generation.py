"""Feature generation for unseen categories (ZS3Net route): the cell labels, the MMD and the
generator against hand-computed cases, the classifier re-fit, and the experiment's choice on
calib (which never reads an unseen pixel)."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

import prolab_seg  # noqa: F401  (registers the modules)
from mmseg.registry import MODELS
from prolab_seg.models.prolab import CentroidConv2d, PropertyFeatureGenerator, feature_generation
from prolab_seg.models.prolab.feature_generation import (LinearFeatureGenerator, balanced_subset,
                                                         feature_labels, fit_feature_generator,
                                                         gaussian_mmd, refit_classifier)
from prolab_seg.models.prolab.loss import CategoryCrossEntropyLoss, category_cosines

from projects.property_world import experiments as ex
from test_gzsl_routes import untrained  # noqa: F401  (module fixture)


def test_feature_labels_by_hand():
    label = torch.tensor([[[0, 0, 1, 1],
                           [0, 0, 1, 255],
                           [2, 2, 2, 0],
                           [2, 2, 1, 1]]])
    # cells (2 x 2 blocks): all 0 | 1, 1, 1, ignored | 2, 2, 2, 2 | 2, 0, 1, 1
    assert feature_labels(label, (2, 2), 3).tolist() == [[[0, 1], [2, 255]]]
    assert feature_labels(label, (2, 2), 3, min_fraction=1.0).tolist() == [[[0, 255],
                                                                             [2, 255]]]
    assert feature_labels(label, (2, 2), 3, min_fraction=0.5).tolist() == [[[0, 1], [2, 1]]]
    with pytest.raises(ValueError, match=r'outside \[0, 2\)'):
        feature_labels(label, (2, 2), 2)
    with pytest.raises(ValueError, match='min_fraction'):
        feature_labels(label, (2, 2), 3, min_fraction=0)


def test_gaussian_mmd_by_hand():
    x, y = torch.tensor([[0.0]]), torch.tensor([[1.0]])
    # k(x, x) = k(y, y) = 1 per bandwidth; k(x, y) = exp(-1 / (2 s^2))
    expected = (2 - 2 * math.exp(-0.5)) + (2 - 2 * math.exp(-1 / 8))  # bandwidths 1 and 2
    assert gaussian_mmd(x, y, [1.0, 2.0]).item() == pytest.approx(expected, rel=1e-5)
    a = torch.randn(20, 3, generator=torch.Generator().manual_seed(0))
    assert gaussian_mmd(a, a, [1.0]).item() == pytest.approx(0.0, abs=1e-5)
    assert gaussian_mmd(a, a + 3, [1.0]).item() > gaussian_mmd(a, a + 0.3, [1.0]).item() > 0


def _blobs(means, num=200, std=0.1, seed=0):
    gen = torch.Generator().manual_seed(seed)
    feats = torch.cat([m + std * torch.randn(num, len(m), generator=gen)
                       for m in torch.tensor(means, dtype=torch.float32)]).clamp_min(0)
    return feats, torch.arange(len(means)).repeat_interleave(num)


def test_generator_matches_each_categorys_features():
    # three seen categories, features (non-negative, as ReLU features) far apart
    means = [[2.0, 0.0, 0.0, 1.0], [0.0, 2.0, 0.0, 1.0], [0.0, 0.0, 2.0, 1.0]]
    feats, labels = _blobs(means)
    vectors = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]])
    gen = fit_feature_generator(feats, labels, vectors, steps=300, seed=0)
    fake, rows = gen.sample(vectors, 100, seed=1)
    assert fake.shape == (300, 4) and rows.tolist() == [0] * 100 + [1] * 100 + [2] * 100
    centres = torch.tensor(means)
    nearest = torch.cdist(fake, centres).argmin(1)
    assert (nearest == rows).float().mean() > 0.95  # each vector's samples at its own blob
    for c in range(3):
        assert torch.dist(fake[rows == c].mean(0), centres[c]) < 0.3
    # seeded: same seed, same model and samples
    again = fit_feature_generator(feats, labels, vectors, steps=300, seed=0)
    torch.testing.assert_close(again.sample(vectors, 5, seed=1)[0], gen.sample(vectors, 5, 1)[0])
    assert isinstance(MODELS.build(dict(type='PropertyFeatureGenerator', num_properties=3,
                                        feature_dim=4)), PropertyFeatureGenerator)
    with pytest.raises(ValueError, match='features for'):
        fit_feature_generator(feats, labels[:5], vectors)


def test_linear_generator_composes_the_seen_means_by_hand():
    # mean feature = W v + b exactly on the seen categories; the unseen [0, 1, 1] is new
    W = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    b = torch.tensor([0.5, 0.5])
    seen = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    spread = torch.tensor([[0.1, 0.0], [-0.1, 0.0], [0.0, 0.1], [0.0, -0.1]])
    means = seen @ W + b
    feats = (means[:, None] + spread[None]).reshape(-1, 2)
    labels = torch.arange(4).repeat_interleave(4)
    gen = LinearFeatureGenerator(alphas=(1e-8, )).fit(feats, labels, seen)
    assert gen.alpha_ == 1e-8
    unseen = torch.tensor([[0.0, 1, 1]])
    torch.testing.assert_close(gen.predict_means(unseen), torch.tensor([[3.5, 3.5]]),
                               atol=1e-4, rtol=0)
    fake, rows = gen.sample(unseen, 400, seed=0)
    assert fake.shape == (400, 2) and (rows == 0).all()
    # each sample is the predicted mean plus one real residual
    offsets = (fake - torch.tensor([3.5, 3.5])).round(decimals=3)
    assert {tuple(o) for o in offsets.tolist()} <= {tuple(o) for o in spread.tolist()}
    torch.testing.assert_close(gen.sample(unseen, 5, seed=1)[0], gen.sample(unseen, 5, 1)[0])
    with pytest.raises(ValueError, match='features for'):
        gen.fit(feats, labels[:3], seen)


def test_refit_classifier_learns_the_new_categories_and_changes_only_the_conv():
    torch.manual_seed(0)
    centroids = torch.nn.functional.normalize(torch.randn(3, 6), dim=1)
    conv = CentroidConv2d(4, centroids, normalize_embedding=True)
    vectors = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1.0, 1, 0]])
    feats, labels = _blobs([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0], [0, 0, 0, 2.0]])

    def activate(logits):
        return torch.sigmoid(logits / 0.04)

    def accuracy():
        with torch.no_grad():
            act = activate(conv(feats[:, :, None, None]))
            return (category_cosines(act, vectors)[:, :, 0, 0].argmax(1) == labels).float().mean()

    before = accuracy()
    buffer, start = conv.centroids.clone(), copy.deepcopy(conv.state_dict())
    refit_classifier(conv, activate, feats, labels, vectors, steps=300, lr=0.05, seed=0)
    assert before < 0.6 and accuracy() > 0.95
    torch.testing.assert_close(conv.centroids, buffer)  # the property centroids stay fixed
    conv.load_state_dict(start)  # the discriminative loss does it too
    refit_classifier(conv, activate, feats, labels, vectors, CategoryCrossEntropyLoss(),
                     steps=300, lr=0.05, seed=0)
    assert accuracy() > 0.95


def test_balanced_subset_caps_each_label():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 6)
    idx = balanced_subset(labels, 4, seed=0)
    assert np.bincount(labels[idx]).tolist() == [4, 3, 4]
    assert (np.diff(idx) > 0).all()


def test_feature_generation_never_reads_unseen_pixels_and_is_chosen_on_calib(  # noqa: F811
        untrained, monkeypatch, tmp_path):
    config, ckpt, options, bank, info = untrained
    # the training cells hold seen categories only
    model, dataset = ex.bank_model(config, ckpt, options, bank, 'train')
    _, labels = ex.cell_features(model, dataset)
    seen_ids = [info.classes.index(c) for c in info.seen]
    assert len(labels) and np.isin(labels.numpy(), seen_ids).all()
    judged_splits, h_by_ckpt = [], {}

    def fake_split_scores(config_, checkpoint, options_, bank_, split='calib'):
        judged_splits.append(split)
        return checkpoint

    def fake_judge(checkpoint, routes=ex.GZSL_ROUTES):
        h = h_by_ckpt.setdefault(checkpoint, [5.0, 9.0, 9.0][len(h_by_ckpt)])
        return {r: dict(calib_cv_hIoU=h - i) for i, r in enumerate(routes)}

    monkeypatch.setattr(ex, 'split_scores', fake_split_scores)
    monkeypatch.setattr(ex, 'judge_routes', fake_judge)
    monkeypatch.setattr(feature_generation, 'fit_feature_generator',
                        lambda *a, **k: fit_feature_generator(*a, **dict(k, steps=5)))
    ce = 'CategoryCrossEntropyLoss'
    out = ex.feature_generation(config, ckpt, options, bank, str(tmp_path), shares=(0.5, ),
                                losses=(ce, ), generators=('gmmn', 'linear'), per_class=8)
    assert judged_splits == ['calib'] * 3
    # the model as it is first; gmmn wins (9 > 5), the tie with linear goes to the earlier
    assert [(c['generator'], c['loss'], c['share']) for c in out['calib']] == [
        (None, None, None), ('gmmn', ce, 0.5), ('linear', ce, 0.5)]
    assert (out['generator'], out['loss'], out['share']) == ('gmmn', ce, 0.5)
    assert out['calib'][1]['calib_cv_hIoU'] == dict(scalar=9.0, apollonius=8.0,
                                                    category_bias=7.0)
    # the written checkpoint differs from the source in conv_seg only, and loads with options
    src = torch.load(ckpt, weights_only=False)['state_dict']
    new = torch.load(out['checkpoint'], weights_only=False)['state_dict']
    assert new.keys() == src.keys()
    changed = {k for k in src if not torch.equal(src[k], new[k])}
    assert changed == {'decode_head.head.conv_seg.weight', 'decode_head.head.conv_seg.bias'}
    ex.bank_model(config, out['checkpoint'], options, bank, 'calib')
