"""Learned cosine cluster probe (STEGO's ``ClusterLookup``), trained as online k-means."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmseg.registry import MODELS


@MODELS.register_module()
class ClusterProbe(nn.Module):
    """k centroids; a pixel's cluster is the centroid of highest cosine similarity.

    Loss (mini-batch spherical k-means, as STEGO): ``-mean_pixels max_k cos(x, μ_k)``, applied
    to *detached* features so it never changes the representation. Centroids are initialised
    from k random pixel features of the first training batch (deterministic under seed).

    Args:
        channels: Feature dimension D.
        num_clusters: k (the number of classes in the evaluation protocol).
    """

    def __init__(self, channels: int, num_clusters: int) -> None:
        super().__init__()
        self.centroids = nn.Parameter(torch.randn(num_clusters, channels))
        self.register_buffer('initialised', torch.zeros((), dtype=torch.bool))

    def forward(self, x: Tensor) -> Tensor:
        """Cosine similarities B×D×H×W -> B×k×H×W."""
        return torch.einsum('bdhw,kd->bkhw', F.normalize(x, dim=1),
                            F.normalize(self.centroids, dim=1))

    def loss(self, x: Tensor) -> Tensor:
        """Online k-means loss on detached B×D×H×W features (scalar)."""
        x = x.detach()
        if self.training and not bool(self.initialised):
            with torch.no_grad():
                pixels = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])
                pick = torch.randperm(len(pixels), device=x.device)[:len(self.centroids)]
                self.centroids[:len(pick)] = pixels[pick]
                self.initialised.fill_(True)
        return -self(x).max(1).values.mean()
