"""Memory bank of frozen backbone features that supplies STEGO's KNN positives."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmseg.registry import MODELS


@MODELS.register_module()
class FeatureBank(nn.Module):
    """FIFO bank of backbone feature maps; KNN positives by cosine of global (mean) features.

    STEGO precomputes, for every training image, its ``num_neighbors`` nearest images by the
    cosine similarity of globally pooled backbone features and pairs each image with a random
    one of them. With a streaming mmseg dataloader we keep the last ``size`` feature maps
    instead (valid forever because the backbone is frozen): the positive of image i is a random
    one of its ``num_neighbors`` nearest neighbours among bank ∪ batch, itself excluded.

    Args:
        size: Number of feature maps kept.
        num_neighbors: k of the KNN (7 in EQUSS / STEGO).
        spatial_size: Optional (h, w) the stored maps are average-pooled to (memory bound for
            large ViT maps); ``None`` keeps the backbone resolution.
    """

    def __init__(self, size: int = 256, num_neighbors: int = 7,
                 spatial_size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.size, self.num_neighbors, self.spatial_size = size, num_neighbors, spatial_size
        self.register_buffer('feats', torch.empty(0), persistent=False)
        self.register_buffer('count', torch.zeros((), dtype=torch.long), persistent=False)

    def _fit(self, feats: Tensor) -> Tensor:
        return feats if self.spatial_size is None else F.adaptive_avg_pool2d(
            feats, self.spatial_size)

    @torch.no_grad()
    def knn_positive(self, feats: Tensor) -> Tensor:
        """Positive feature map for every image: B×C×h×w -> B×C×h'×w' (h'=h without pooling)."""
        feats = self._fit(feats)
        b = feats.shape[0]
        filled = min(int(self.count), self.size)
        cands = torch.cat([self.feats[:filled], feats]) if filled else feats
        if len(cands) == 1:
            return feats
        glob = F.normalize(cands.mean((2, 3)), dim=1)
        sim = glob[filled:] @ glob.T  # B×(filled+B)
        sim[torch.arange(b), filled + torch.arange(b)] = -float('inf')
        k = min(self.num_neighbors, len(cands) - 1)
        knn = sim.topk(k, dim=1).indices  # B×k
        pick = knn[torch.arange(b), torch.randint(k, (b, ), device=feats.device)]
        return cands[pick]

    @torch.no_grad()
    def push(self, feats: Tensor) -> None:
        """Add a batch (B×C×h×w) to the FIFO bank."""
        feats = self._fit(feats).detach()
        if self.feats.numel() == 0:
            self.feats = feats.new_zeros((self.size, ) + feats.shape[1:])
        idx = (int(self.count) + torch.arange(len(feats), device=feats.device)) % self.size
        self.feats[idx] = feats
        self.count += len(feats)
