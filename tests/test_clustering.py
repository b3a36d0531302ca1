"""Multi-level clustering: spherical k-means, level consistency, the pipeline and the CLI tool."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from prolab_seg.clustering import SphericalKMeans, multilevel_segment
from prolab_seg.clustering.multilevel import border_mask, orient
from prolab_seg.evaluation import cluster_metrics


def toy_dataset(n: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """N x 7 x 8 x 8 features and labels: 2 background kinds, a 4x4 object of 3 kinds.

    Like ViT keys, foreground and background patches differ along shared directions (dims 0,
    1) and each class adds its own direction (dims 2..6).
    """
    rng = np.random.default_rng(seed)

    def vec(fg: int, cls: int) -> np.ndarray:
        v = np.zeros(7)
        v[fg] = 1.0
        v[2 + cls] = 0.6
        return v

    feats = np.zeros((n, 7, 8, 8))
    labels = np.zeros((n, 8, 8), np.int64)
    for i in range(n):
        feats[i] = vec(0, i % 2)[:, None, None]
        labels[i] = i % 2
        y, x = rng.integers(1, 4, 2)
        feats[i, :, y:y + 4, x:x + 4] = vec(1, 2 + i % 3)[:, None, None]
        labels[i, y:y + 4, x:x + 4] = 2 + i % 3
    return feats + 0.05 * rng.standard_normal(feats.shape), labels


def test_spherical_kmeans_is_cosine_and_batched():
    rng = np.random.default_rng(0)
    dirs = np.eye(3)[[0, 1]]
    # group 0: two directions, any scale (cosine ignores it); group 1: the same, shuffled
    x = np.concatenate([dirs[0] * rng.uniform(1, 9, (10, 1)), dirs[1] * rng.uniform(1, 9, (6, 1))])
    x = x + 0.01 * rng.standard_normal(x.shape)
    perm = rng.permutation(16)
    km = SphericalKMeans(2, algorithm='cosine', random_state=0).fit(np.stack([x, x[perm]]))
    labels, centroids = km.labels_, km.cluster_centers_
    truth = np.r_[np.zeros(10), np.ones(6)]
    # each group, and a single group (N x D): the partition of the directions, each centroid
    # the normalised mean of its points' unit vectors (recomputed here)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    one = SphericalKMeans(2, algorithm='cosine', random_state=0).fit(x)
    single = (one.labels_, one.cluster_centers_)
    for points, lab, cent, t in ((unit, labels[0], centroids[0], truth),
                                 (unit[perm], labels[1], centroids[1], truth[perm]),
                                 (unit, *single, truth)):
        assert lab.shape == (16, ) and cent.shape == (2, 3)
        assert len(np.unique(lab[t == 0])) == 1 and len(np.unique(lab[t == 1])) == 1
        assert lab[t == 0][0] != lab[t == 1][0]
        for j in range(2):
            mean = points[lab == j].mean(0)
            np.testing.assert_allclose(cent[j], mean / np.linalg.norm(mean), atol=1e-5)
    np.testing.assert_array_equal(km.predict(np.stack([x, x[perm]])), labels)


def test_spherical_kmeans_ignores_zero_weight_points():
    x = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0], [-1.0, -1.0]])
    km = SphericalKMeans(2, algorithm='cosine')
    centroids = km.fit(x, sample_weight=[1, 1, 1, 1, 0]).cluster_centers_
    # the padded point (-1, -1) must not pull any centroid
    assert (centroids > 0.5).any(axis=1).all()
    with pytest.raises(ValueError, match='at least k'):
        km.fit(x, sample_weight=[1, 0, 0, 0, 0])
    with pytest.raises(ValueError, match='n_init must be 1'):
        SphericalKMeans(2, algorithm='cosine', n_init=3)


def test_orient_is_majority_vote_of_the_level_above():
    labels = np.array([[0, 0, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1]])
    reference = np.array([[0, 0, 1, 1], [0, 1, 1, 1], [0, 0, 0, 1]], bool)
    expected = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0]], bool)
    np.testing.assert_array_equal(orient(labels, reference), expected)
    assert border_mask(3, 4).sum() == 10 and not border_mask(3, 4)[1, 1:3].any()


def test_multilevel_segment_recovers_toy_classes():
    feats, labels = toy_dataset()
    result = multilevel_segment(feats, num_fg_clusters=3, num_bg_clusters=2, seed=0,
                                out_size=(16, 16))
    assert result.labels.shape == (12, 16, 16) and result.level_masks.shape == (3, 12, 8, 8)
    # every level finds the objects (16 of 64 patches), consistently oriented
    np.testing.assert_allclose(result.level_masks.mean(axis=(1, 2, 3)), 0.25)
    big = labels.repeat(2, 1).repeat(2, 2)
    metrics = cluster_metrics(result.labels, big, 5, 5)
    assert metrics['acc'] == pytest.approx(1.0) and metrics['mIoU'] == pytest.approx(1.0)
    with pytest.raises(ValueError, match='min_votes'):
        multilevel_segment(feats, 3, min_votes=4)


def test_multilevel_segment_handles_images_without_foreground():
    feats, _ = toy_dataset()
    feats[:4] = feats[:4, :, :1, :1]  # 4 images of pure background
    result = multilevel_segment(feats, num_fg_clusters=3, num_bg_clusters=2, seed=0)
    assert (result.fg_cluster[:4] == -1).all() and not result.foreground[:4].any()
    assert result.labels.min() >= 0 and result.labels.max() < 5


def test_cluster_segment_tool_end_to_end(property_world_root, tmp_path):
    import cluster_segment

    report = cluster_segment.main([str(property_world_root), '--out', str(tmp_path),
                                   '--num-bg-clusters', '4'])
    names = sorted(p.name for p in (property_world_root / 'img_dir' / 'val').glob('*.png'))
    masks = sorted((tmp_path / 'masks').glob('*.png'))
    assert [p.name for p in masks] == names
    meta = json.loads((property_world_root / 'meta.json').read_text())
    num_clusters = len(meta['classes'])  # 4 background + (classes - 4) foreground clusters
    mask = np.asarray(Image.open(masks[0]))
    img = np.asarray(Image.open(property_world_root / 'img_dir' / 'val' / names[0]))
    assert mask.shape == img.shape[:2] and mask.max() < num_clusters
    saved = json.loads((tmp_path / 'metrics.json').read_text())
    assert saved == json.loads(json.dumps(report))
    assert 0 <= saved['metrics']['acc'] <= 1 and 0 <= saved['metrics']['mIoU'] <= 1
    assert saved['num_images'] == len(names) and len(saved['metrics']['IoU']) == num_clusters


def test_load_split_reads_through_the_dataset_class(property_world_v1_root, tmp_path):
    """Pixels and labels as stored (PIL), the seen subset as ``PropertyWorldDataset`` maps it
    (v1's seen classes come first: unseen labels -> 255) and no classes without meta.json."""
    from prolab_seg.clustering.folder import load_split
    root = property_world_v1_root
    meta = json.loads((root / 'meta.json').read_text())
    paths = sorted((root / 'img_dir' / 'val').glob('*.png'))
    stored = np.stack([np.asarray(Image.open(root / 'ann_dir' / 'val' / p.name)) for p in paths])
    data = load_split(root, 'val')
    assert data.names == [p.stem for p in paths] and data.classes == meta['classes']
    np.testing.assert_array_equal(
        data.images, np.stack([np.asarray(Image.open(p).convert('RGB')) for p in paths]))
    np.testing.assert_array_equal(data.labels, stored)
    seen = load_split(root, 'val', class_subset='seen')
    assert seen.classes == meta['seen'] == meta['classes'][:len(meta['seen'])]
    np.testing.assert_array_equal(seen.labels,
                                  np.where(stored < len(meta['seen']), stored, 255))
    assert (stored[(stored != 255)] >= len(meta['seen'])).any()  # some pixels were unseen
    bare = tmp_path / 'bare'
    (bare / 'img_dir' / 'val').mkdir(parents=True)
    Image.open(paths[0]).save(bare / 'img_dir' / 'val' / 'x.png')
    data = load_split(bare, 'val')
    assert data.classes is None and data.labels is None and data.names == ['x']
    with pytest.raises(FileNotFoundError, match='meta.json'):
        load_split(bare, 'val', class_subset='seen')
    with pytest.raises(FileNotFoundError, match='no \\*.png images'):
        load_split(bare, 'train')
