"""Spherical k-means: the one k-means of prolab-seg (property spaces, the k-means cluster probe,
multi-level clustering), in scikit-learn's vocabulary and shape."""
from __future__ import annotations

import numpy as np

from prolab_seg.utils import l2_normalize

ALGORITHMS = ('lloyd', 'minibatch', 'cosine')


class SphericalKMeans:
    """k-means of points on the unit sphere: ``fit`` / ``predict`` / ``fit_predict``,
    ``labels_`` and ``cluster_centers_`` as scikit-learn's ``KMeans``.

    The rows of ``X`` are L2-normalised first (``normalize=False``: taken as they are, e.g.
    embeddings that are unit vectors already). Algorithms:

    * ``'lloyd'``: scikit-learn's ``KMeans`` (k-means++ seeding, the best of ``n_init`` runs,
      Euclidean Lloyd) on the unit rows: centres are means of unit vectors, ``predict`` gives
      the nearest centre.
    * ``'minibatch'``: scikit-learn's ``MiniBatchKMeans`` likewise (batches of
      ``min(4096, N)`` rows).
    * ``'cosine'``: cosine Lloyd: a point goes to the centroid of highest cosine similarity, a
      centroid is the normalised (weighted) mean of its points (unit ``cluster_centers_``), a
      cluster that loses all its points keeps its centroid, and the iterations stop early when
      the assignments no longer change. Farthest-point seeding (a seeded random point, then
      repeatedly the point least similar to those chosen) in one run (``n_init=1``). Batched:
      ``X`` may be G x N x D, G independent clusterings at once (labels G x N, centres
      G x k x D); points of weight 0 are left out (padding).

    Args:
        n_clusters: k.
        algorithm: one of ``ALGORITHMS``, see above.
        n_init: runs from different seedings, the best kept (1 for ``'cosine'``).
        max_iter: most iterations (None: the algorithm's default, 300 / 100 / 30).
        random_state: seed: same points and seed, same clusters.
        normalize: L2-normalise the rows of ``X`` first.
    """

    def __init__(self, n_clusters: int = 8, *, algorithm: str = 'lloyd', n_init: int = 1,
                 max_iter: int | None = None, random_state: int = 0,
                 normalize: bool = True) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f'algorithm must be one of {ALGORITHMS}, got {algorithm!r}')
        if algorithm == 'cosine' and n_init != 1:
            raise ValueError(f"algorithm='cosine' seeds deterministically: n_init must be 1, "
                             f'got {n_init}')
        self.n_clusters = n_clusters
        self.algorithm = algorithm
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state
        self.normalize = normalize

    def _points(self, X: np.ndarray) -> np.ndarray:
        return l2_normalize(X) if self.normalize else np.asarray(X, dtype=np.float32)

    def fit(self, X: np.ndarray, sample_weight: np.ndarray | None = None) -> 'SphericalKMeans':
        """Cluster ``X`` (N x D; G x N x D for ``'cosine'``) with optional non-negative
        ``sample_weight`` (N; G x N)."""
        x = self._points(X)
        if self.algorithm == 'cosine':
            self.labels_, self.cluster_centers_ = _cosine_lloyd(
                x, self.n_clusters, sample_weight, 30 if self.max_iter is None else self.max_iter,
                self.random_state)
            return self
        from sklearn.cluster import KMeans, MiniBatchKMeans
        options = dict(n_clusters=self.n_clusters, n_init=self.n_init,
                       random_state=self.random_state)
        if self.max_iter is not None:
            options['max_iter'] = self.max_iter
        self._estimator = KMeans(**options) if self.algorithm == 'lloyd' else MiniBatchKMeans(
            batch_size=min(4096, len(x)), **options)
        self._estimator.fit(x, sample_weight=sample_weight)
        self.labels_ = self._estimator.labels_
        self.cluster_centers_ = self._estimator.cluster_centers_
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Cluster of each point of ``X`` (rows normalised as in :meth:`fit`)."""
        x = self._points(X)
        if self.algorithm == 'cosine':
            return np.einsum('...nd,...kd->...nk', x, self.cluster_centers_).argmax(-1)
        return self._estimator.predict(x)

    def fit_predict(self, X: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
        """:meth:`fit`, then the labels of ``X``."""
        return self.fit(X, sample_weight).labels_


def _cosine_lloyd(x: np.ndarray, k: int, weights: np.ndarray | None, max_iter: int,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``'cosine'`` algorithm on unit rows ``x`` (N x D or G x N x D) -> labels (int64)
    and unit centroids."""
    single = x.ndim == 2
    x = x[None] if single else x
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
    for _ in range(max_iter):
        new = np.einsum('gnd,gkd->gnk', x, centroids).argmax(-1)
        if np.array_equal(new, labels):
            break
        labels = new
        onehot = (labels[..., None] == np.arange(k)) * w[..., None]  # G x N x k
        sums = np.einsum('gnk,gnd->gkd', onehot, x)
        empty = onehot.sum(1) == 0  # G x k
        centroids = np.where(empty[..., None], centroids, l2_normalize(sums))
    return (labels[0], centroids[0]) if single else (labels, centroids)
