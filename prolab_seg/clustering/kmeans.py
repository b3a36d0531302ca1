"""Batched spherical k-means (cosine distance): many independent small clusterings at once."""
from __future__ import annotations

import numpy as np

from prolab_seg.utils import l2_normalize


def spherical_kmeans(x: np.ndarray, k: int, weights: np.ndarray | None = None,
                     n_iter: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cosine k-means run independently in each of G groups, vectorised over the groups.

    Points and centroids live on the unit sphere; a point goes to the centroid of highest
    cosine similarity and a centroid is the normalised (weighted) mean of its points.
    Initialisation is farthest-point: a seeded random point, then repeatedly the point least
    similar to the centroids chosen so far (deterministic given ``seed``). A cluster that
    loses all its points keeps its previous centroid.

    Args:
        x: G x N x D features (normalised here), or N x D for a single group.
        k: clusters per group.
        weights: G x N (or N) non-negative point weights; 0 excludes a point (padding).
        n_iter: maximal Lloyd iterations (stops early when assignments no longer change).
        seed: seed of the first centroid of every group.

    Returns:
        labels (G x N int64, or N) and centroids (G x k x D float32, or k x D).
    """
    single = np.ndim(x) == 2
    x = l2_normalize(x[None] if single else x)
    g, n, _ = x.shape
    w = np.ones((g, n), np.float32) if weights is None else np.asarray(
        weights, np.float32).reshape(g, n)
    valid = w > 0
    if (valid.sum(1) < k).any():
        raise ValueError(f'every group needs at least k={k} points with positive weight')
    rng = np.random.default_rng(seed)
    groups = np.arange(g)
    # first centroid: a random valid point of each group
    first = np.array([rng.choice(np.flatnonzero(v)) for v in valid])
    centroids = [x[groups, first]]
    best = np.full((g, n), -np.inf, np.float32)
    for _ in range(1, k):
        best = np.maximum(best, np.einsum('gnd,gd->gn', x, centroids[-1]))
        centroids.append(x[groups, np.where(valid, best, np.inf).argmin(1)])
    centroids = np.stack(centroids, 1)  # G x k x D
    labels = np.full((g, n), -1, np.int64)
    for _ in range(n_iter):
        new = np.einsum('gnd,gkd->gnk', x, centroids).argmax(-1)
        if np.array_equal(new, labels):
            break
        labels = new
        onehot = (labels[..., None] == np.arange(k)) * w[..., None]  # G x N x k
        sums = np.einsum('gnk,gnd->gkd', onehot, x)
        empty = onehot.sum(1) == 0  # G x k
        centroids = np.where(empty[..., None], centroids, l2_normalize(sums))
    return (labels[0], centroids[0]) if single else (labels, centroids)
