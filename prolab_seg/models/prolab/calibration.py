"""Seen/unseen score calibrators for generalised zero-shot inference (GZSL), switched by config.

A model trained on the seen categories scores them higher on everything, so with seen and
unseen categories in one inference bank the unseen ones rarely win. ``PropertyHead`` already
subtracts one scalar from the seen scores (``seen_calibration``, calibrated stacking); a
calibrator is the alternative, given as the head's ``calibration``::

    decode_head=dict(type='PropertyHead', ...,
                     calibration=dict(type='ApolloniusCalibration', gamma=1.2))

It maps the head's category scores (cosines in ``[-1, 1]``, N x C x h x w, at the logits'
resolution) to scores whose argmax is the prediction; it only acts at inference. The head binds
it to each inference bank with :meth:`ScoreCalibrator.set_categories` (names and which are
seen, i.e. in the training space). Pick its setting on held-out data (the ``calib`` split:
``projects/property_world/experiments.py``), never on the reported split.

* :class:`ApolloniusCalibration` (JoEm, Baek et al., ICCV 2021): multiplies the distances to
  seen categories by ``gamma``; the boundary between the nearest seen and the nearest unseen
  category becomes an Apollonius circle (``d_seen / d_unseen = 1 / gamma``) instead of the
  bisector, so pixels close to a seen category stay seen while ambiguous ones go unseen.
* :class:`CategoryBiasCalibration`: adds one bias per category (e.g. fitted on calib), a
  generalisation of the single seen offset.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mmseg.registry import MODELS


class ScoreCalibrator(nn.Module):
    """Base class: ``forward(scores)`` maps N x C x h x w category scores of the bound bank to
    calibrated N x C x h x w scores. Holds no persistent state (checkpoints are unaffected)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer('seen', torch.zeros(0, dtype=torch.bool), persistent=False)
        self.class_names: list[str] = []

    def set_categories(self, class_names: Sequence[str], seen: Sequence[bool]) -> None:
        """Bind to an inference bank: its C category names and, per category, whether it is seen
        (in the training space)."""
        if len(class_names) != len(seen):
            raise ValueError(f'{type(self).__name__}: {len(class_names)} class names but '
                             f'{len(seen)} seen flags')
        self.class_names = [str(n) for n in class_names]
        self.seen = torch.tensor([bool(s) for s in seen], dtype=torch.bool,
                                 device=self.seen.device)

    def _check_bound(self, scores: Tensor) -> None:
        if scores.shape[1] != len(self.class_names):
            raise ValueError(f'{type(self).__name__}: scores have {scores.shape[1]} categories, '
                             f'the bound bank {len(self.class_names)} (call set_categories)')


@MODELS.register_module()
class ApolloniusCalibration(ScoreCalibrator):
    """Apollonius calibration: ``-gamma_c * d_c`` with ``d_c = sqrt(2 - 2 s_c)`` the chord
    distance between the unit activation and category vectors (``s_c`` their cosine), and
    ``gamma_c = gamma`` for seen categories, 1 for the others.

    A pixel goes to its nearest seen category iff ``gamma * d_seen < d_unseen``; ``gamma = 1``
    is plain nearest-category, ``gamma > 1`` favours the unseen categories.

    Args:
        gamma: factor on the seen categories' distances (> 0).
    """

    def __init__(self, gamma: float = 1.0) -> None:
        super().__init__()
        if not gamma > 0:
            raise ValueError(f'ApolloniusCalibration: gamma must be > 0, got {gamma}')
        self.gamma = float(gamma)

    def forward(self, scores: Tensor) -> Tensor:
        self._check_bound(scores)
        dist = (2 - 2 * scores).clamp_min(0).sqrt()
        factor = 1 + (self.gamma - 1) * self.seen.to(scores.dtype)
        return -dist * factor.view(1, -1, 1, 1)


@MODELS.register_module()
class CategoryBiasCalibration(ScoreCalibrator):
    """``s_c + b_c``: one bias per category name (categories not listed: 0; listed names absent
    from the bank are skipped, so one setting serves the GZSL bank and its subsets).

    Args:
        biases: ``{category name: bias}``.
    """

    def __init__(self, biases: Mapping[str, float]) -> None:
        super().__init__()
        self.biases = {str(k): float(v) for k, v in dict(biases).items()}
        self.register_buffer('offsets', torch.zeros(0), persistent=False)

    def set_categories(self, class_names: Sequence[str], seen: Sequence[bool]) -> None:
        super().set_categories(class_names, seen)
        self.offsets = torch.tensor([self.biases.get(n, 0.0) for n in self.class_names],
                                    device=self.seen.device)

    def forward(self, scores: Tensor) -> Tensor:
        self._check_bound(scores)
        return scores + self.offsets.to(scores).view(1, -1, 1, 1)
