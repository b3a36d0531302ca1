"""IIC segmentor: an EncoderDecoder trained from scratch, without labels, on pairs of views."""
from __future__ import annotations

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from .views import align_to_first_view


@MODELS.register_module()
class IICSegmentor(EncoderDecoder):
    """Backbone + :class:`IICHead`, trained end to end with the IIC loss.

    Training makes a second view of every image (:class:`IICViews`: photometric jitter and a
    random flip/shift/zoom), runs both views through the whole network, maps the outputs of
    the second view back onto the first view's grid (inverse transform + validity mask) and
    maximises the mutual information of both clustering outputs (main and over-clustering).
    Labels in ``data_samples`` are never read. Prediction is EncoderDecoder's: the main head's
    argmax, i.e. cluster ids in ``[0, num_classes)``, to be matched to classes by
    ``UnsupervisedSegMetric`` (Hungarian matching).

    Args:
        views: config of the view generator (``IICViews``).
        **kwargs: :class:`EncoderDecoder` arguments; ``decode_head`` must be an ``IICHead``.
    """

    def __init__(self, views: dict = dict(type='IICViews'), **kwargs) -> None:
        super().__init__(**kwargs)
        self.views = MODELS.build(views)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict[str, Tensor]:
        """IIC losses of a B x 3 x H x W normalised batch (labels unused)."""
        view2, theta = self.views(inputs)
        outs1 = self.decode_head.forward_heads(self.extract_feat(inputs))
        outs2 = self.decode_head.forward_heads(self.extract_feat(view2))
        aligned = [align_to_first_view(out, theta) for out in outs2]
        mask = aligned[0][1]
        return self.decode_head.loss_views(outs1, tuple(a for a, _ in aligned), mask)
