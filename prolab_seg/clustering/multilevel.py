"""Network-free multi-level clustering for unsupervised segmentation (after arXiv 2311.18628).

From frozen per-patch features of a whole dataset, without any training:

1. **Foreground / background at three levels**, each a cosine 2-means:
   *dataset* level (all patches of all images), *category* level (images first grouped into
   ``num_categories`` categories by cosine k-means of their global descriptor, the stand-in for
   a ViT's CLS token; then the patches of each category) and *image* level (the patches of each
   image). The dataset-level cluster holding most image-border patches is background (border
   prior). **Consistency:** at each finer level a cluster is foreground only when most of its
   patches were foreground at the level above (category <- dataset, image <- category), so all
   levels share one meaning of "foreground" and a group may have none.
2. **Patch-level pseudo-masks:** a patch is foreground when at least ``min_votes`` of the three
   levels say so. The vote fraction is upsampled bilinearly to the image size and thresholded
   (smooth mask borders: the refinement step).
3. **Class assignment:** every image's foreground descriptor (mean of its foreground patches)
   is clustered over the dataset into ``num_fg_clusters`` clusters, its background descriptor
   into ``num_bg_clusters``; all foreground pixels of an image take its foreground cluster, all
   background pixels its background cluster. Output ids: background clusters
   ``[0, num_bg_clusters)``, foreground clusters after them.

The paper uses DINO attention keys; here any B x C x h x w features work (e.g. the network-free
``FilterBankBackbone``). Our reading of the paper's method, summarised above, is the spec.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from prolab_seg.utils import l2_normalize

from .kmeans import SphericalKMeans

LEVELS = ('dataset', 'category', 'image')


@dataclass
class MultiLevelResult:
    """Output of :func:`multilevel_segment` for N images.

    Attributes:
        labels: N x H x W int64 cluster ids (background clusters first).
        foreground: N x H x W bool foreground masks.
        level_masks: 3 x N x h x w bool patch foreground per level (order :data:`LEVELS`).
        categories: N int64 category (image group) used at the category level.
        fg_cluster: N int64 foreground cluster id of each image (-1 if it has no foreground).
        bg_cluster: N int64 background cluster id of each image (-1 if it has no background).
    """

    labels: np.ndarray
    foreground: np.ndarray
    level_masks: np.ndarray
    categories: np.ndarray
    fg_cluster: np.ndarray
    bg_cluster: np.ndarray


def border_mask(h: int, w: int) -> np.ndarray:
    """h x w bool mask of the outermost ring of patches."""
    mask = np.zeros((h, w), bool)
    mask[[0, -1], :] = True
    mask[:, [0, -1]] = True
    return mask


def orient(labels: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Foreground masks from G x N cluster labels, by majority vote of the level above.

    A cluster is foreground when more than half of its points are foreground in the G x N bool
    ``reference`` (so a group may have no foreground, or be all foreground).
    """
    onehot = labels[..., None] == np.arange(labels.max() + 1)  # G x N x k
    share = (onehot & reference[..., None]).sum(1) / np.maximum(onehot.sum(1), 1)  # G x k
    return np.take_along_axis(share > 0.5, labels, axis=1)


def foreground_levels(patches: np.ndarray, grid: tuple[int, int], num_categories: int,
                      seed: int = 0, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Consistent dataset-, category- and image-level foreground of every patch.

    Args:
        patches: N x M x D patch features (M = h * w, row-major), any scale.
        grid: (h, w) patch grid.
        num_categories: image groups of the category level (at most N).

    Returns:
        3 x N x M bool foreground per level (order :data:`LEVELS`) and N int64 categories.
    """
    n, m, d = patches.shape
    patches = l2_normalize(patches)
    two_means = SphericalKMeans(2, algorithm='cosine', max_iter=max_iter, random_state=seed)
    # dataset level, oriented by the border prior: background owns most border patches
    labels = two_means.fit_predict(patches.reshape(1, n * m, d))
    border = np.broadcast_to(border_mask(*grid).reshape(1, m), (n, m)).reshape(1, n * m)
    bg_label = int(np.bincount(labels[border], minlength=2).argmax())
    dataset_fg = (labels != bg_label).reshape(n, m)
    # category level: group images by global descriptor, 2-means inside each group
    categories = SphericalKMeans(min(num_categories, n), algorithm='cosine', max_iter=max_iter,
                                 random_state=seed).fit_predict(patches.mean(1))
    category_fg = np.zeros((n, m), bool)
    for c in np.unique(categories):
        members = categories == c
        labels = two_means.fit_predict(patches[members].reshape(1, -1, d))
        category_fg[members] = orient(labels, dataset_fg[members].reshape(1, -1)).reshape(-1, m)
    # image level: one 2-means per image, all images at once
    labels = two_means.fit_predict(patches)
    image_fg = orient(labels, category_fg)
    return np.stack([dataset_fg, category_fg, image_fg]), categories


def region_clusters(patches: np.ndarray, masks: np.ndarray, k: int, seed: int = 0,
                    max_iter: int = 30) -> np.ndarray:
    """Cluster per-image region descriptors: N int64 cluster ids (-1 for empty regions).

    Args:
        patches: N x M x D patch features.
        masks: N x M bool region of each image (e.g. its foreground).
        k: clusters over the dataset (at most the number of non-empty regions).
    """
    present = masks.any(1)
    desc = np.einsum('nm,nmd->nd', masks.astype(np.float32), l2_normalize(patches))
    k = min(k, int(present.sum()))
    if k == 0:
        return np.full(len(masks), -1, np.int64)
    labels = SphericalKMeans(k, algorithm='cosine', max_iter=max_iter,
                             random_state=seed).fit_predict(desc, sample_weight=present)
    return np.where(present, labels, -1)


def upsample_fraction(fraction: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of N x h x w values in [0, 1] to N x H x W (align_corners=False)."""
    t = torch.from_numpy(np.ascontiguousarray(fraction, dtype=np.float32))[:, None]
    return F.interpolate(t, size=size, mode='bilinear', align_corners=False)[:, 0].numpy()


def multilevel_segment(features: np.ndarray, num_fg_clusters: int, num_bg_clusters: int = 1,
                       num_categories: int | None = None, min_votes: int = 2,
                       out_size: tuple[int, int] | None = None, seed: int = 0,
                       max_iter: int = 30) -> MultiLevelResult:
    """Segment a dataset by multi-level clustering of frozen features (see module docstring).

    Args:
        features: N x D x h x w frozen backbone features of all images.
        num_fg_clusters: foreground classes to discover.
        num_bg_clusters: background classes to discover (1 in the paper).
        num_categories: image groups of the category level (default ``num_fg_clusters``).
        min_votes: levels (1-3) that must call a patch foreground.
        out_size: (H, W) of the output masks (default: the feature grid).
        seed: seed of every k-means (:class:`~.kmeans.SphericalKMeans`, ``'cosine'``).
        max_iter: maximal k-means iterations.

    Returns:
        :class:`MultiLevelResult`; ``labels`` ids are in ``[0, num_bg + num_fg)``.
    """
    if not 1 <= min_votes <= len(LEVELS):
        raise ValueError(f'min_votes must be in [1, {len(LEVELS)}], got {min_votes}')
    n, d, h, w = features.shape
    patches = np.asarray(features, np.float32).reshape(n, d, h * w).transpose(0, 2, 1)
    levels, categories = foreground_levels(patches, (h, w), num_categories or num_fg_clusters,
                                           seed, max_iter)
    patch_fg = levels.sum(0) >= min_votes  # N x M
    bg_cluster = region_clusters(patches, ~patch_fg, num_bg_clusters, seed, max_iter)
    fg_cluster = region_clusters(patches, patch_fg, num_fg_clusters, seed, max_iter)
    fraction = levels.sum(0).reshape(n, h, w) / len(LEVELS)
    foreground = upsample_fraction(fraction, out_size or (h, w)) >= (min_votes - 0.5) / len(LEVELS)
    # every image has foreground or background patches; a pixel of a kind its image has no
    # patch of (possible after upsampling) takes the image's other cluster
    fg_id = np.where(fg_cluster >= 0, num_bg_clusters + fg_cluster, bg_cluster)
    bg_id = np.where(bg_cluster >= 0, bg_cluster, num_bg_clusters + fg_cluster)
    labels = np.where(foreground, fg_id[:, None, None], bg_id[:, None, None])
    return MultiLevelResult(labels=labels.astype(np.int64), foreground=foreground,
                            level_masks=levels.reshape(len(LEVELS), n, h, w),
                            categories=categories, fg_cluster=fg_cluster, bg_cluster=bg_cluster)
