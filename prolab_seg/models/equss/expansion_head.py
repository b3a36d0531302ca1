"""EQUSS expansion head: project frozen backbone features to a higher dimension D."""
from __future__ import annotations

from typing import Sequence

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmseg.registry import MODELS


@MODELS.register_module()
class ExpansionHead(BaseModule):
    """``Dropout2d(p)`` on the features, then ``conv1x1(x) + conv1x1(relu(conv1x1(x)))``.

    Both branches map C -> D channels; EQUSS uses D = 1024 ≫ C (expansion). With D < C the same
    module is the dimension-*reduction* baseline of the benchmark.

    Args:
        in_channels: Backbone channels C.
        channels: Output dimension D.
        dropout: Dropout2d probability on the backbone features (training only).
        in_index: Which backbone output to use when given a tuple/list of stages.
    """

    def __init__(self, in_channels: int, channels: int = 1024, dropout: float = 0.1,
                 in_index: int = -1, init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_index = in_index
        self.dropout = nn.Dropout2d(dropout)
        self.linear = nn.Conv2d(in_channels, channels, 1)
        self.nonlinear = nn.Sequential(
            nn.Conv2d(in_channels, channels, 1), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 1))

    def forward(self, feats: Tensor | Sequence[Tensor]) -> Tensor:
        """B×C×H×W (or a tuple of stages) -> B×D×H×W code before quantization."""
        x = feats if isinstance(feats, Tensor) else feats[self.in_index]
        x = self.dropout(x)
        return self.linear(x) + self.nonlinear(x)
