"""IIC segmentation head: shared convs, a main clustering output and an over-clustering output."""
from __future__ import annotations

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class IICHead(BaseDecodeHead):
    """Two clustering outputs on shared features, both trained with :class:`IICLoss`.

    The main output has ``num_classes`` clusters (what :meth:`forward` returns, so prediction
    goes through mmseg's usual path and yields cluster ids); the auxiliary over-clustering
    output has ``num_overclusters`` > ``num_classes`` clusters and is used only in training
    (the paper's trick: a finer clustering of the same features helps the main one).

    Args:
        num_overclusters: clusters of the auxiliary output.
        num_convs: 3x3 ConvModules before the two 1x1 classifiers.
        loss_decode: IICLoss config of the main output.
        loss_over: IICLoss config of the over-clustering output.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``, ``channels``,
            ``num_classes``, ``norm_cfg``, ...).
    """

    def __init__(self, num_overclusters: int, num_convs: int = 2,
                 loss_decode: dict = dict(type='IICLoss', loss_name='loss_iic'),
                 loss_over: dict = dict(type='IICLoss', loss_name='loss_iic_over'),
                 **kwargs) -> None:
        super().__init__(loss_decode=loss_decode, **kwargs)
        if num_overclusters <= self.num_classes:
            raise ValueError(f'num_overclusters ({num_overclusters}) must exceed '
                             f'num_classes ({self.num_classes})')
        self.num_overclusters = num_overclusters
        self.convs = nn.Sequential(*[
            ConvModule(self.in_channels if i == 0 else self.channels, self.channels, 3,
                       padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                       act_cfg=self.act_cfg)
            for i in range(num_convs)])
        self.conv_over = nn.Conv2d(self.channels, num_overclusters, kernel_size=1)
        self.loss_over = MODELS.build(loss_over)

    def features(self, inputs: list[Tensor]) -> Tensor:
        """Shared features (B x channels x h x w) of the backbone outputs ``inputs``."""
        return self.convs(self._transform_inputs(inputs))

    def forward_heads(self, inputs: list[Tensor]) -> tuple[Tensor, Tensor]:
        """Main (B x num_classes x h x w) and over-clustering (B x num_overclusters x h x w)
        logits of the backbone outputs ``inputs``."""
        feat = self.features(inputs)
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.conv_seg(feat), self.conv_over(feat)

    def forward(self, inputs: list[Tensor]) -> Tensor:
        """Main clustering logits, B x num_classes x h x w."""
        return self.forward_heads(inputs)[0]

    def loss_views(self, outs1: tuple[Tensor, Tensor], outs2: tuple[Tensor, Tensor],
                   mask: Tensor | None = None) -> dict[str, Tensor]:
        """IIC losses of both outputs for view 1 and the aligned view 2 (mask: B x h x w)."""
        return {
            self.loss_decode.loss_name: self.loss_decode(outs1[0], outs2[0], mask),
            self.loss_over.loss_name: self.loss_over(outs1[1], outs2[1], mask),
        }
