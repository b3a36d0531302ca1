"""Feature generation for unseen categories from their property vectors (ZS3Net, Bucher et al.,
NeurIPS 2019, with ProLab's property vectors as the semantic embedding).

A trained ``PropertyHead`` classifies the wrapped head's last features through one 1x1 conv
(``conv_seg``); it has only seen pixels behind it, so in generalised zero-shot the unseen
categories rarely win. The route:

1. pixel features of the *seen* training pixels at the head's feature resolution, each labelled
   only where one category covers its cell (:func:`feature_labels`);
2. a generative moment-matching network (:class:`PropertyFeatureGenerator`) learns
   ``p(feature | property vector)`` on them (:func:`fit_feature_generator`, Gaussian-kernel
   MMD per category, :func:`gaussian_mmd`);
3. features generated for the *unseen* categories' vectors, with the real seen ones, re-fit
   ``conv_seg`` against every category's vector (:func:`refit_classifier`); the rest of the
   network is unchanged, so the new weights load into the same config.

Nothing here reads unseen pixels: the unseen categories enter only through their property
vectors (from their descriptions). Choose the amount of generated features on held-out data.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS
from prolab_seg.image_maps import labels_out_of_range

from .loss import CosineSimilarityLoss, LabelTargets, PropertyLoss


def feature_labels(label: Tensor, size: Sequence[int], num_classes: int,
                   min_fraction: float = 0.75, ignore_index: int = 255) -> Tensor:
    """Labels of a coarser grid: a cell gets the category covering at least ``min_fraction``
    of its label pixels (ignored pixels count against it), else ``ignore_index``.

    Args:
        label: N x H x W category indices in ``[0, num_classes)`` or ``ignore_index``.
        size: (h, w) of the feature map.
    Returns:
        N x h x w long.
    """
    if not 0 < min_fraction <= 1:
        raise ValueError(f'min_fraction must be in (0, 1], got {min_fraction}')
    label = label.long()
    outside = labels_out_of_range(label, num_classes, ignore_index)
    if outside:
        raise ValueError(f'label values {outside[:10]} are outside '
                         f'[0, {num_classes}) and not ignore_index={ignore_index}')
    idx = torch.where(label == ignore_index, torch.full_like(label, num_classes), label)
    share = F.adaptive_avg_pool2d(
        F.one_hot(idx, num_classes + 1).permute(0, 3, 1, 2).float(), tuple(size))
    top, cat = share.max(1)
    keep = (top >= min_fraction - 1e-6) & (cat < num_classes)
    return torch.where(keep, cat, torch.full_like(cat, ignore_index))


def _check_features(features: Tensor, labels: Tensor) -> None:
    """``ValueError`` unless there are features and one label per feature."""
    if len(features) != len(labels) or not len(features):
        raise ValueError(f'{len(features)} features for {len(labels)} labels')


def gaussian_mmd(x: Tensor, y: Tensor, bandwidths: Sequence[float]) -> Tensor:
    """Squared maximum mean discrepancy (biased estimate) between samples ``x`` [n, D] and
    ``y`` [m, D] under the sum of Gaussian kernels ``exp(-|a - b|^2 / (2 s^2))`` over
    ``bandwidths`` s."""
    data = torch.cat([x, y])
    d2 = torch.cdist(data, data).pow(2)
    k = sum(torch.exp(-d2 / (2.0 * s * s)) for s in bandwidths)
    n = len(x)
    return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()


@MODELS.register_module()
class PropertyFeatureGenerator(nn.Module):
    """``G(v, z)``: a category's property vector ``v`` [K] and noise ``z`` [noise_dim] -> a
    pixel feature [D] (one hidden layer, LeakyReLU; ReLU output, as the ReLU features it
    imitates).

    Args:
        num_properties: K. feature_dim: D. noise_dim: size of z. hidden: hidden units.
    """

    def __init__(self, num_properties: int, feature_dim: int, noise_dim: int = 32,
                 hidden: int = 256):
        super().__init__()
        self.noise_dim = int(noise_dim)
        self.net = nn.Sequential(nn.Linear(num_properties + noise_dim, hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, feature_dim), nn.ReLU())

    def forward(self, vectors: Tensor, noise: Tensor) -> Tensor:
        """[N, K], [N, noise_dim] -> [N, D]."""
        return self.net(torch.cat([vectors, noise], dim=1))

    @torch.no_grad()
    def sample(self, vectors: Tensor, num: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        """``num`` features per row of ``vectors`` [C, K]: ([C * num, D] features, [C * num]
        row index), seeded."""
        gen = torch.Generator().manual_seed(seed)
        rows = torch.arange(len(vectors)).repeat_interleave(num)
        noise = torch.randn(len(rows), self.noise_dim, generator=gen)
        return self(vectors.float()[rows], noise), rows


def fit_feature_generator(features: Tensor, labels: Tensor, vectors: Tensor,
                          noise_dim: int = 32, hidden: int = 256, steps: int = 1000,
                          per_class: int = 64, lr: float = 1e-3,
                          bandwidth_scales: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0),
                          seed: int = 0) -> PropertyFeatureGenerator:
    """Fit a :class:`PropertyFeatureGenerator` by moment matching: each step, for every
    category present in ``labels``, ``per_class`` real features (drawn with replacement) against
    as many generated from its vector; the loss is the sum over categories of
    :func:`gaussian_mmd`, with bandwidths ``bandwidth_scales`` times the median pairwise
    distance of the real features (scale-free).

    Args:
        features: [N, D] real pixel features. labels: [N] indices into ``vectors`` [C, K].
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    features, labels, vectors = features.float(), labels.long(), vectors.float()
    _check_features(features, labels)
    probe = features[torch.randperm(len(features), generator=gen)[:1000]]
    median = torch.cdist(probe, probe).median().clamp_min(1e-6).item()
    bandwidths = [s * median for s in bandwidth_scales]
    model = PropertyFeatureGenerator(vectors.shape[1], features.shape[1], noise_dim, hidden)
    optim = torch.optim.Adam(model.parameters(), lr=lr)
    classes = labels.unique()
    members = [torch.nonzero(labels == c).flatten() for c in classes]
    for _ in range(steps):
        real = torch.stack([m[torch.randint(len(m), (per_class,), generator=gen)]
                            for m in members])  # [classes, per_class]
        noise = torch.randn(len(classes) * per_class, noise_dim, generator=gen)
        fake = model(vectors[classes].repeat_interleave(per_class, 0), noise)
        fake = fake.view(len(classes), per_class, -1)
        loss = sum(gaussian_mmd(features[r], f, bandwidths) for r, f in zip(real, fake))
        optim.zero_grad()
        loss.backward()
        optim.step()
    return model.eval()


class LinearFeatureGenerator:
    """Compositional generator: a category's mean feature is linear in its property vector
    (ridge regression on the seen categories' means, ``alpha`` chosen by leave-one-category-out
    error among ``alphas``), and its spread is borrowed from the seen categories: a sample is
    the predicted mean plus the residual (feature minus its category's mean) of a random real
    feature, clipped at 0 (ReLU features). Same ``sample`` as :class:`PropertyFeatureGenerator`.
    """

    def __init__(self, alphas: Sequence[float] = (0.1, 1.0, 10.0, 100.0)):
        self.alphas = tuple(alphas)

    def fit(self, features: Tensor, labels: Tensor, vectors: Tensor) -> 'LinearFeatureGenerator':
        """features [N, D], labels [N] indices into vectors [C, K]; sets ``alpha_``, ``coef_``
        [K, D], ``intercept_`` [D] and ``residuals_`` [N, D]."""
        from sklearn.linear_model import RidgeCV
        features, labels = features.float(), labels.long()
        _check_features(features, labels)
        classes = labels.unique()
        means = torch.stack([features[labels == c].mean(0) for c in classes])
        ridge = RidgeCV(alphas=np.asarray(self.alphas, np.float64)).fit(
            vectors[classes].double().numpy(), means.double().numpy())
        self.alpha_ = float(ridge.alpha_)
        self.coef_ = torch.from_numpy(ridge.coef_.T).float()
        self.intercept_ = torch.from_numpy(np.asarray(ridge.intercept_)).float()
        self.residuals_ = features - means[torch.searchsorted(classes, labels)]
        return self

    def predict_means(self, vectors: Tensor) -> Tensor:
        """[C, K] -> [C, D] predicted mean features."""
        return vectors.float() @ self.coef_ + self.intercept_

    @torch.no_grad()
    def sample(self, vectors: Tensor, num: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        """``num`` features per row of ``vectors`` [C, K]: ([C * num, D], [C * num] row index),
        seeded."""
        gen = torch.Generator().manual_seed(seed)
        rows = torch.arange(len(vectors)).repeat_interleave(num)
        pick = torch.randint(len(self.residuals_), (len(rows),), generator=gen)
        return (self.predict_means(vectors)[rows] + self.residuals_[pick]).clamp_min(0), rows


def refit_classifier(conv: nn.Conv2d, activate, features: Tensor, labels: Tensor,
                     vectors: Tensor, loss: Optional[PropertyLoss] = None, steps: int = 500,
                     batch_size: int = 2048, lr: float = 1e-3, seed: int = 0) -> None:
    """Fit the 1x1 classifier ``conv`` (a ``PropertyHead``'s ``conv_seg``, from its current
    weights) on pixel features against their categories' vectors, in place; only ``conv``'s
    parameters change.

    Args:
        activate: logits -> property activations (``PropertyHead.activate``).
        features: [N, D]. labels: [N] indices into ``vectors`` [C, K] (the inference bank).
        loss: a :class:`~.loss.PropertyLoss` (default: ``CosineSimilarityLoss()``, ProLab's;
            ``CategoryCrossEntropyLoss()`` makes the fit discriminative over the C categories,
            as ZS3Net's softmax classifier).
    """
    gen = torch.Generator().manual_seed(seed)
    loss = CosineSimilarityLoss() if loss is None else loss
    features, labels, vectors = features.float(), labels.long(), vectors.float()
    optim = torch.optim.Adam(conv.parameters(), lr=lr)
    was_training = conv.training
    conv.train()
    for _ in range(steps):
        pick = torch.randint(len(features), (min(batch_size, len(features)),), generator=gen)
        act = activate(conv(features[pick, :, None, None]))
        value = loss(act, LabelTargets(labels[pick, None, None], vectors))
        optim.zero_grad()
        value.backward()
        optim.step()
    conv.train(was_training)


def balanced_subset(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Indices of at most ``per_class`` random items of each label value (sorted)."""
    rng = np.random.default_rng(seed)
    out = [rng.choice(idx, min(per_class, len(idx)), replace=False)
           for idx in (np.flatnonzero(labels == c) for c in np.unique(labels))]
    return np.sort(np.concatenate(out)) if out else np.zeros(0, np.int64)
