"""Tests of the unsupervised evaluation protocol (prolab_seg.evaluation.unsupervised)."""
import numpy as np
import pytest
import torch

import prolab_seg  # noqa: F401  (registers modules)
from prolab_seg.evaluation import (UnsupervisedSegMetric, class_code_entropy, cluster_metrics,
                                   code_bits_per_pixel, codeword_histogram, entropy_bits,
                                   hungarian_match, kmeans_cluster_probe, linear_probe)


def test_hungarian_recovers_known_permutation():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 6, size=5000)
    perm = rng.permutation(6)  # class c is predicted as cluster perm[c]
    pred = perm[gt]
    noisy = rng.random(gt.shape) < 0.1
    pred[noisy] = rng.integers(0, 6, size=noisy.sum())
    gt[:50] = 255
    mapping = hungarian_match(pred, gt, num_clusters=6, num_classes=6)
    np.testing.assert_array_equal(mapping[perm], np.arange(6))
    m = cluster_metrics(perm[np.clip(gt, 0, 5)], gt, 6, 6)
    assert m['acc'] == pytest.approx(1.0) and m['mIoU'] == pytest.approx(1.0)


def test_extra_clusters_are_unmatched_and_count_as_wrong():
    gt = np.array([0, 0, 1, 1])
    pred = np.array([0, 2, 1, 1])  # cluster 2 has no class left
    m = cluster_metrics(pred, gt, num_clusters=3, num_classes=2)
    assert m['mapping'].tolist() == [0, 1, -1]
    assert m['acc'] == pytest.approx(0.75)
    assert m['IoU'].tolist() == pytest.approx([0.5, 1.0])


def test_entropy_on_known_distribution():
    # class 0: codebook 0 uniform over 4 codewords (2 bits), codebook 1 constant (0 bits);
    # class 1: codebook 0 half/half (1 bit), codebook 1 uniform over 4 (2 bits).
    codes0 = np.stack([np.arange(8) % 4, np.zeros(8, int)], 1)
    codes1 = np.stack([np.arange(8) % 2, np.arange(8) % 4], 1)
    codes = np.concatenate([codes0, codes1])
    labels = np.array([0] * 8 + [1] * 8)
    hist = codeword_histogram(codes, labels, num_codewords=4, num_classes=3)
    assert hist.shape == (3, 2, 4) and hist.sum() == 16 * 2  # pixels x codebooks
    ent = class_code_entropy(hist)
    assert ent[:2] == pytest.approx([2.0, 3.0]) and np.isnan(ent[2])
    assert entropy_bits(np.array([1, 1, 1, 1, 0])) == pytest.approx(2.0)
    rows = np.array([[3, 3], [0, 0], [2, 0]])                     # an empty distribution: 0
    np.testing.assert_allclose(entropy_bits(rows), [1, 0, 0], atol=1e-12)
    first_column = -(0.6 * np.log2(0.6) + 0.4 * np.log2(0.4))      # 3 and 2 of 5
    np.testing.assert_allclose(entropy_bits(rows, axis=0), [first_column, 0], atol=1e-12)
    expected = entropy_bits(np.bincount(codes[:, 0], minlength=4)) + entropy_bits(
        np.bincount(codes[:, 1], minlength=4))
    assert code_bits_per_pixel(codes, 4) == pytest.approx(float(expected))


def test_kmeans_probe_and_linear_probe_on_separable_blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8)) * 5
    labels = rng.integers(0, 3, size=600)
    feats = centres[labels] + rng.normal(size=(600, 8)) * 0.3
    ids = kmeans_cluster_probe(feats, n_clusters=3, random_state=0)
    assert cluster_metrics(ids, labels, 3, 3)['acc'] > 0.95
    np.testing.assert_array_equal(ids, kmeans_cluster_probe(feats, n_clusters=3, random_state=0))
    lp = linear_probe(feats[:400], labels[:400], feats[400:], labels[400:], num_classes=3)
    assert lp['acc'] > 0.95


def test_unsupervised_metric_matches_over_whole_split():
    """Two images whose clusters are the classes shifted by one: matched perfectly."""
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    metric = UnsupervisedSegMetric()
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    samples = []
    for gt in (np.array([[0, 1], [2, 2]]), np.array([[1, 1], [0, 255]])):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.as_tensor(gt)[None])
        s.pred_sem_seg = PixelData(data=torch.as_tensor((gt + 1) % 3)[None])
        samples.append(s.to_dict())
    metric.process({}, samples)
    res = metric.evaluate(2)
    assert res['aAcc'] == pytest.approx(100.0) and res['mIoU'] == pytest.approx(100.0)


def test_unsupervised_metric_with_more_clusters_than_classes():
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    metric = UnsupervisedSegMetric(num_clusters=4)
    metric.dataset_meta = dict(classes=('a', 'b'))
    s = SegDataSample()
    s.gt_sem_seg = PixelData(data=torch.tensor([[[0, 0, 1, 1]]]))
    s.pred_sem_seg = PixelData(data=torch.tensor([[[3, 3, 2, 0]]]))
    metric.process({}, [s.to_dict()])
    res = metric.evaluate(1)
    assert res['aAcc'] == pytest.approx(75.0)  # cluster 0 is unmatched -> wrong
