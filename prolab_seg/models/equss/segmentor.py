"""Unsupervised segmentor: frozen backbone -> expansion head -> product quantizer -> clusters."""
from __future__ import annotations

import torch
from torch import Tensor

from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, OptSampleList, SampleList


@MODELS.register_module()
class EQUSSSegmentor(BaseSegmentor):
    """Expand-and-Quantize Unsupervised Semantic Segmentation (EQUSS) as an mmseg segmentor.

    Training (no labels are read): backbone features ``f`` (frozen, eval mode, no grad) go
    through the head to the code ``z`` (B×D×h×w); loss = ``corr_loss(f, z, f⁺, z⁺)`` (STEGO, with
    KNN positives ``f⁺`` from a :class:`FeatureBank`) + ``pq_loss_weight`` · PQ loss + the
    cluster probe's online k-means loss on the detached probe input (no effect on the head).
    Test: cluster ids = argmax of the probe's cosine similarities on the quantized features
    (``probe_on='quantized'``, as the paper) or on ``z`` (``'code'``), upsampled to the image;
    evaluate with ``UnsupervisedSegMetric`` (Hungarian matching of clusters to classes).

    Args:
        backbone: Backbone config (frozen here; e.g. ``FilterBankBackbone`` or a DINO ViT).
        head: Head config (``ExpansionHead``).
        corr_loss: ``STEGOCorrelationLoss`` config.
        cluster_probe: ``ClusterProbe`` config (``channels`` = head channels, ``num_clusters``).
        quantizer: ``ProductQuantizer`` config, or None for the no-PQ ablation.
        feature_bank: ``FeatureBank`` config.
        pq_loss_weight: Weight of the PQ loss (1.0 in EQUSS).
        probe_on: ``'quantized'`` or ``'code'``.
    """

    def __init__(self,
                 backbone: ConfigType,
                 head: ConfigType,
                 corr_loss: ConfigType,
                 cluster_probe: ConfigType,
                 quantizer: OptConfigType = None,
                 feature_bank: ConfigType = dict(type='FeatureBank'),
                 pq_loss_weight: float = 1.0,
                 probe_on: str = 'quantized',
                 data_preprocessor: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if probe_on not in ('quantized', 'code') or (probe_on == 'quantized' and not quantizer):
            raise ValueError(f"probe_on={probe_on!r} needs 'code', or 'quantized' with a quantizer")
        self.backbone = MODELS.build(backbone)
        self.backbone.requires_grad_(False)
        self.head = MODELS.build(head)
        self.corr_loss = MODELS.build(corr_loss)
        self.cluster_probe = MODELS.build(cluster_probe)
        self.quantizer = MODELS.build(quantizer) if quantizer else None
        self.feature_bank = MODELS.build(feature_bank)
        self.pq_loss_weight = pq_loss_weight
        self.probe_on = probe_on
        self.align_corners = False
        self.train_cfg, self.test_cfg = train_cfg, test_cfg

    def train(self, mode: bool = True) -> 'EQUSSSegmentor':
        """Set train mode for the heads; the backbone always stays in eval mode."""
        super().train(mode)
        self.backbone.eval()
        return self

    @torch.no_grad()
    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Frozen backbone features of its last stage: B×3×H×W -> B×C×h×w."""
        feats = self.backbone(inputs)
        return feats[-1] if isinstance(feats, (list, tuple)) else feats

    def encode(self, inputs: Tensor) -> dict[str, Tensor]:
        """All representations of a batch (used by evaluation tools and benchmarks).

        Returns:
            dict(feats B×C×h×w, code B×D×h×w, and with a quantizer: quantized B×D×h×w,
            codes B×M×h×w long, loss_pq scalar).
        """
        feats = self.extract_feat(inputs)
        out = dict(feats=feats, code=self.head(feats))
        if self.quantizer is not None:
            out['quantized'], out['codes'], out['loss_pq'] = self.quantizer(out['code'])
        return out

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict[str, Tensor]:
        """Unsupervised training losses (``data_samples`` labels are not used)."""
        out = self.encode(inputs)
        feats_pos = self.feature_bank.knn_positive(out['feats'])
        self.feature_bank.push(out['feats'])
        code_pos = self.head(feats_pos)
        losses = dict(loss_corr=self.corr_loss(out['feats'], out['code'], feats_pos, code_pos))
        if self.quantizer is not None:
            losses['loss_pq'] = self.pq_loss_weight * out['loss_pq']
        losses['loss_probe'] = self.cluster_probe.loss(out[self._probe_key])
        return losses

    @property
    def _probe_key(self) -> str:
        return 'quantized' if self.probe_on == 'quantized' else 'code'

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict] | None = None) -> Tensor:
        """Cluster scores B×k×H×W (cosine to the probe centroids, upsampled to the input)."""
        scores = self.cluster_probe(self.encode(inputs)[self._probe_key])
        return resize(scores, size=inputs.shape[2:], mode='bilinear',
                      align_corners=self.align_corners)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """Predict cluster ids (``pred_sem_seg``) and scores (``seg_logits``)."""
        return self.postprocess_result(self.encode_decode(inputs), data_samples)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        """Tensor mode: cluster scores B×k×H×W."""
        return self.encode_decode(inputs)
