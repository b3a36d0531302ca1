"""The unsupervised-segmentation evaluation protocol, shared by every unsupervised method.

* Unsupervised accuracy / mIoU: predictions are *cluster ids*; clusters are matched one-to-one
  to classes by the Hungarian algorithm on the cluster×class confusion matrix (maximising the
  matched pixels, as STEGO / EQUSS do with ``linear_sum_assignment(..., maximize=True)``), then
  pixel accuracy and mIoU are computed on the relabelled prediction.
* Cluster probe: k-means (k = number of classes) over features; ``cosine=True`` L2-normalises
  them first (the cosine-similarity cluster probe of STEGO / EQUSS).
* Linear probe: a linear classifier (= 1×1 conv) trained with cross-entropy on frozen features.
* Entropy analysis (EQUSS §"per-class entropy"; not in the released code, computed here as):
  for every class c and codebook m, the Shannon entropy in bits of the distribution of codewords
  used by the pixels of class c in codebook m, summed over the M codebooks.

All functions take flat arrays: ``pred``/``gt``/``labels`` of N pixels, ``features`` N×C,
``codes`` N×M. Pixels whose label equals ``ignore_index`` are skipped everywhere.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from scipy.stats import entropy

from prolab_seg.clustering.kmeans import SphericalKMeans
from prolab_seg.utils import l2_normalize


def confusion_matrix(pred: np.ndarray, gt: np.ndarray, num_clusters: int, num_classes: int,
                     ignore_index: int = 255) -> np.ndarray:
    """Count pixels per (cluster, class): int64 array of shape num_clusters×num_classes."""
    pred = np.asarray(pred).reshape(-1).astype(np.int64)
    gt = np.asarray(gt).reshape(-1).astype(np.int64)
    valid = (gt != ignore_index) & (gt >= 0) & (gt < num_classes)
    valid &= (pred >= 0) & (pred < num_clusters)
    flat = pred[valid] * num_classes + gt[valid]
    return np.bincount(flat, minlength=num_clusters * num_classes).reshape(
        num_clusters, num_classes)


def iou_from_confusion(hist: np.ndarray) -> np.ndarray:
    """Per-class IoU = TP / (TP + FP + FN) of a confusion matrix counted as
    :func:`confusion_matrix` counts: rows prediction, columns ground truth, C×C or, for
    predictions of no class (e.g. unmatched clusters; misses only), P×C with the extra rows last.

    Returns a float64 array of shape (C,); NaN for classes with neither gt pixels nor
    predictions (as mmseg's ``IoUMetric``).
    """
    hist = np.asarray(hist, dtype=np.float64)
    num_classes = hist.shape[1]
    tp = np.diag(hist[:num_classes])
    union = hist.sum(0) + hist[:num_classes].sum(1) - tp
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(union > 0, tp / union, np.nan)


def match_confusion(hist: np.ndarray) -> np.ndarray:
    """Hungarian cluster->class mapping maximising matched pixels; unmatched clusters get -1."""
    rows, cols = linear_sum_assignment(hist, maximize=True)
    mapping = np.full(hist.shape[0], -1, dtype=np.int64)
    mapping[rows] = cols
    return mapping


def hungarian_match(pred: np.ndarray, gt: np.ndarray, num_clusters: int, num_classes: int,
                    ignore_index: int = 255) -> np.ndarray:
    """Map cluster ids to class ids (array of length num_clusters, -1 = unmatched cluster)."""
    return match_confusion(confusion_matrix(pred, gt, num_clusters, num_classes, ignore_index))


def metrics_from_confusion(hist: np.ndarray, mapping: np.ndarray | None = None) -> dict:
    """Accuracy / mIoU from a cluster×class confusion matrix after (Hungarian) matching.

    Pixels of clusters mapped to -1 count as wrong (false negatives of their true class).
    mIoU averages over classes present in the ground truth or the matched prediction.

    Returns:
        dict(acc, mIoU, mAcc (floats in [0, 1]), IoU, class_acc (per-class arrays, NaN for
        absent classes), mapping (cluster->class), confusion (class×class, rows = gt)).
    """
    if mapping is None:
        mapping = match_confusion(hist)
    num_classes = hist.shape[1]
    # class_hist[p, g]: pixels of gt class g predicted as (matched) class p; last row: pixels
    # of unmatched clusters.
    class_hist = np.zeros((num_classes + 1, num_classes), dtype=np.int64)
    np.add.at(class_hist, np.where(mapping >= 0, mapping, num_classes), hist)
    tp = np.diag(class_hist[:num_classes]).astype(np.float64)
    gt_count = hist.sum(0).astype(np.float64)
    iou = iou_from_confusion(class_hist)
    with np.errstate(divide='ignore', invalid='ignore'):
        class_acc = np.where(gt_count > 0, tp / gt_count, np.nan)
    total = gt_count.sum()
    return dict(acc=float(tp.sum() / total) if total > 0 else float('nan'),
                mIoU=float(np.nanmean(iou)) if np.isfinite(iou).any() else float('nan'),
                mAcc=float(np.nanmean(class_acc)) if np.isfinite(class_acc).any() else float('nan'),
                IoU=iou, class_acc=class_acc, mapping=mapping,
                confusion=class_hist[:num_classes].T)


def cluster_metrics(pred: np.ndarray, gt: np.ndarray, num_clusters: int, num_classes: int,
                    ignore_index: int = 255) -> dict:
    """Hungarian-matched unsupervised metrics of cluster ids ``pred`` against ``gt``.

    See :func:`metrics_from_confusion` for the returned keys.
    """
    return metrics_from_confusion(
        confusion_matrix(pred, gt, num_clusters, num_classes, ignore_index))


def kmeans_cluster_probe(features: np.ndarray, n_clusters: int, random_state: int = 0,
                         eval_features: np.ndarray | None = None, cosine: bool = True,
                         max_fit_points: int | None = 50000, n_init: int = 3) -> np.ndarray:
    """k-means cluster probe: fit on ``features`` (N×C), return cluster ids of ``eval_features``.

    Args:
        features: N×C features to fit the centroids on (a random subset of ``max_fit_points``
            rows if larger).
        n_clusters: Number of clusters (the number of classes in the protocol).
        random_state: Seed of the subsampling and of k-means (deterministic).
        eval_features: M×C features to assign (defaults to ``features``).
        cosine: L2-normalise features first (cosine-similarity clusters:
            :class:`~prolab_seg.clustering.SphericalKMeans`, ``'lloyd'``); False: k-means of the
            features as they are.
        n_init: k-means runs, the best kept.

    Returns:
        int64 cluster ids, shape (M,) (or (N,)).
    """
    fit = features
    rng = np.random.default_rng(random_state)
    if max_fit_points is not None and len(fit) > max_fit_points:
        fit = np.asarray(fit)[rng.choice(len(fit), max_fit_points, replace=False)]
    km = SphericalKMeans(n_clusters, n_init=n_init, random_state=random_state,
                         normalize=cosine).fit(fit)
    return km.predict(features if eval_features is None else eval_features).astype(np.int64)


def linear_probe(features: np.ndarray, labels: np.ndarray, val_features: np.ndarray,
                 val_labels: np.ndarray, num_classes: int, ignore_index: int = 255,
                 epochs: int = 200, lr: float = 0.05, weight_decay: float = 0.0,
                 seed: int = 0) -> dict:
    """Train a linear classifier (a 1×1 conv) with cross-entropy on frozen features.

    Full-batch Adam on standardised features (mean/std of the training features), which makes
    the probe insensitive to the feature scale of the method under test.

    Args:
        features, labels: N×C training features and their N class ids.
        val_features, val_labels: M×C evaluation features and labels.
        num_classes: Number of classes.

    Returns:
        dict(acc, mIoU, mAcc, IoU, class_acc, ...) on the evaluation set (identity mapping).
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(np.asarray(features, dtype=np.float32))
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    keep = (y != ignore_index) & (y >= 0) & (y < num_classes)
    x, y = x[keep], y[keep]
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    weight = (torch.randn(x.shape[1], num_classes, generator=gen) * 0.01).requires_grad_()
    bias = torch.zeros(num_classes, requires_grad=True)
    opt = torch.optim.Adam([weight, bias], lr=lr, weight_decay=weight_decay)
    xs = (x - mean) / std
    for _ in range(epochs):
        opt.zero_grad()
        F.cross_entropy(xs @ weight + bias, y).backward()
        opt.step()
    with torch.no_grad():
        xv = (torch.as_tensor(np.asarray(val_features, dtype=np.float32)) - mean) / std
        pred = (xv @ weight + bias).argmax(1).numpy()
    hist = confusion_matrix(pred, val_labels, num_classes, num_classes, ignore_index)
    return metrics_from_confusion(hist, mapping=np.arange(num_classes))


def codeword_histogram(codes: np.ndarray, labels: np.ndarray, num_codewords: int,
                       num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """Codeword-frequency table: counts of shape num_classes×M×K.

    Args:
        codes: N×M integer codes (codeword index per codebook) of N pixels.
        labels: N class ids.
    """
    codes = np.asarray(codes, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    n, m = codes.shape
    valid = (labels != ignore_index) & (labels >= 0) & (labels < num_classes)
    flat = (labels[valid, None] * m + np.arange(m)[None]) * num_codewords + codes[valid]
    return np.bincount(flat.reshape(-1), minlength=num_classes * m * num_codewords).reshape(
        num_classes, m, num_codewords)


def entropy_bits(counts: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy in bits of the distributions ``counts`` along ``axis`` (0 if empty)."""
    counts = np.asarray(counts, dtype=np.float64)
    with np.errstate(invalid='ignore'):  # an all-zero distribution: 0/0, replaced below
        bits = entropy(counts, base=2, axis=axis)
    return np.where(counts.sum(axis=axis) > 0, bits, 0.0)


def class_code_entropy(hist: np.ndarray) -> np.ndarray:
    """Per-class entropy in bits, summed over codebooks: hist num_classes×M×K -> num_classes.

    NaN for classes without pixels.
    """
    ent = entropy_bits(hist, axis=-1).sum(-1)
    return np.where(hist.sum((1, 2)) > 0, ent, np.nan)


def code_bits_per_pixel(codes: np.ndarray, num_codewords: int) -> float:
    """Empirical rate: entropy in bits of each codebook's marginal codeword usage, summed over M.

    (The nominal rate is M·log2 K.) ``codes``: N×M integer codes.
    """
    codes = np.asarray(codes, dtype=np.int64)
    m = codes.shape[1]
    flat = (np.arange(m)[None] * num_codewords + codes).reshape(-1)
    usage = np.bincount(flat, minlength=m * num_codewords).reshape(m, num_codewords)
    return float(entropy_bits(usage, axis=-1).sum())
