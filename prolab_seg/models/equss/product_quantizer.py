"""Product quantizer of EQUSS (M codebooks of K L2-normalised codewords over D/M-d sub-vectors)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmseg.registry import MODELS


@MODELS.register_module()
class ProductQuantizer(BaseModule):
    """Product quantization with straight-through gradients (VQ-VAE losses, per codebook).

    A D-dim feature is split into M sub-vectors of d = D/M dims; sub-vector m is L2-normalised
    and replaced by the nearest (squared L2) L2-normalised codeword of codebook m. All M nearest-
    codeword searches run as one batched matmul (``baddbmm`` over an M×N×K distance tensor).
    ``num_codebooks=1, num_codewords=M·K`` is a plain VQ over the whole (normalised) vector.

    Loss: ``MSE(z_q, sg(z)) + beta·MSE(z, sg(z_q))`` (codebook + commitment), averaged over all
    codebooks and elements; output ``z + sg(z_q - z)`` (straight-through), in the normalised
    sub-vector space (each sub-vector has unit norm).

    Codebook init: Xavier-uniform per codebook (K×d), as the official code; the stored
    codewords are L2-normalised on every use, so only their direction matters.
    Dead codewords: the official code does nothing. With ``reinit_interval > 0``, codewords of
    a codebook that no pixel selected during the last ``reinit_interval`` training steps are
    re-initialised to randomly chosen sub-vectors of the current batch (drawn with the global
    torch RNG, so deterministic under a seed). Usage is tracked per process.

    Args:
        dim: Feature dimension D (divisible by ``num_codebooks``).
        num_codebooks: M.
        num_codewords: K per codebook.
        beta: Commitment weight β.
        reinit_interval: Dead-codeword re-initialisation period in training steps (0 = off).
    """

    def __init__(self, dim: int = 1024, num_codebooks: int = 32, num_codewords: int = 32,
                 beta: float = 0.25, reinit_interval: int = 0,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if dim % num_codebooks:
            raise ValueError(f'dim {dim} is not divisible by num_codebooks {num_codebooks}')
        self.dim, self.num_codebooks, self.num_codewords = dim, num_codebooks, num_codewords
        self.sub_dim = dim // num_codebooks
        self.beta = beta
        self.reinit_interval = reinit_interval
        self.codebooks = nn.Parameter(torch.empty(num_codebooks, num_codewords, self.sub_dim))
        for book in self.codebooks.data:
            nn.init.xavier_uniform_(book)
        self.register_buffer('usage', torch.zeros(num_codebooks, num_codewords))
        self.register_buffer('steps', torch.zeros((), dtype=torch.long))

    def init_weights(self) -> None:
        """Keep the Xavier-uniform codebooks set in ``__init__`` (no ``init_cfg`` override)."""

    def split(self, z: Tensor) -> Tensor:
        """B×D×H×W -> M×N×d L2-normalised sub-vectors (N = B·H·W)."""
        b, _, h, w = z.shape
        sub = z.permute(0, 2, 3, 1).reshape(b * h * w, self.num_codebooks, self.sub_dim)
        return F.normalize(sub, dim=-1).transpose(0, 1)

    def nearest(self, sub: Tensor) -> Tensor:
        """Nearest codeword ids (M×N, long) of M×N×d sub-vectors by squared L2 distance."""
        books = F.normalize(self.codebooks, dim=-1)
        # ||x||² - 2 x·c + ||c||², batched over the M codebooks (one bmm).
        dist = torch.baddbmm(books.pow(2).sum(-1).unsqueeze(1), sub, books.transpose(1, 2),
                             alpha=-2).add_(sub.pow(2).sum(-1, keepdim=True))
        return dist.argmin(-1)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Quantize.

        Args:
            z: B×D×H×W features.

        Returns:
            (z_q, codes, loss): z_q B×D×H×W straight-through quantized features (normalised
            sub-vectors), codes B×M×H×W long codeword ids, loss the scalar PQ loss.
        """
        b, _, h, w = z.shape
        sub = self.split(z)
        with torch.no_grad():
            codes = self.nearest(sub)
        books = F.normalize(self.codebooks, dim=-1)
        quant = torch.gather(books, 1, codes.unsqueeze(-1).expand(-1, -1, self.sub_dim))
        loss = F.mse_loss(quant, sub.detach()) + self.beta * F.mse_loss(sub, quant.detach())
        out = sub + (quant - sub).detach()
        if self.training and self.reinit_interval > 0:
            self._track_and_reinit(sub.detach(), codes)
        z_q = out.transpose(0, 1).reshape(b, h, w, self.dim).permute(0, 3, 1, 2)
        return z_q, codes.view(self.num_codebooks, b, h, w).transpose(0, 1), loss

    @torch.no_grad()
    def _track_and_reinit(self, sub: Tensor, codes: Tensor) -> None:
        """Count codeword usage; every ``reinit_interval`` steps reset unused codewords."""
        self.usage.scatter_add_(1, codes, torch.ones_like(codes, dtype=self.usage.dtype))
        self.steps += 1
        if int(self.steps) % self.reinit_interval:
            return
        dead = self.usage == 0  # M×K
        if dead.any():
            pick = torch.randint(sub.shape[1], dead.shape, device=sub.device)  # M×K
            fresh = torch.gather(sub, 1, pick.unsqueeze(-1).expand(-1, -1, self.sub_dim))
            self.codebooks.data.copy_(torch.where(dead.unsqueeze(-1), fresh, self.codebooks.data))
        self.usage.zero_()

    def extra_repr(self) -> str:
        return (f'dim={self.dim}, num_codebooks={self.num_codebooks}, '
                f'num_codewords={self.num_codewords}, beta={self.beta}, '
                f'reinit_interval={self.reinit_interval}')
