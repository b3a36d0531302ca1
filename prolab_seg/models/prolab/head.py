"""``PropertyHead``: one wrapper that makes ANY mmseg decode head property-supervised (ProLab).

Mechanism
---------
``PropertyHead(head=dict(type='UPerHead', ...), label_space='space.npz', ...)`` builds the
*unchanged* mmseg head given in ``head`` with ``num_classes = E`` (the sentence-embedding
dimension of the property space), so its last 1x1 conv (``conv_seg``) outputs E channels. That
conv is then swapped for :class:`CentroidConv2d`, an ``nn.Conv2d`` subclass with the same
``weight``/``bias`` (same state-dict keys, same init) that also holds the K x E L2-normalised
property centroids as a fixed buffer (never trained) and outputs the K property logits
``centroids @ (W f + b)``. Because both maps are linear, the projection is folded into the conv
weight (``(C W) f + C b``): the head costs a ch->K 1x1 conv instead of ch->C, whatever E is.
With ``normalize_embedding=True`` (ProLab's switch) the E-d embedding is L2-normalised per pixel
first and nothing is folded.

Everything else stays the head's own code, so FCNHead, ASPPHead, DepthwiseSeparableASPPHead,
UPerHead, SegformerHead, PSPHead, ... (every ``BaseDecodeHead`` that classifies through
``cls_seg``/``conv_seg``) and auxiliary heads become property heads by wrapping their config::

    decode_head=dict(type='PropertyHead', label_space='space.npz', temperature=0.04,
                     head=dict(type='UPerHead', in_channels=[...], channels=512, ...),
                     loss_decode=dict(type='CosineSimilarityLoss', loss_weight=1.0))

Training (``loss``/``loss_by_feat``): the K logits are resized to the label size (mmseg's
convention), activations ``a = sigmoid(logits / T)`` (T = 0.04), and each pixel's target is the
row of the C x K category-vector buffer picked by its label. The targets are never
materialised: ``<a, v_c>`` for all C categories is one K->C 1x1 conv, gathered at the label
and divided by ``|a| |v_y|`` (the same numbers also give ``acc_seg``).
``loss_resolution='feature'`` computes the cosines at feature resolution and upsamples them
instead (cheaper; always used for name-embedding spaces). Pixels equal to
``ignore_index`` are *excluded* from the loss (mean over labelled pixels). ProLab's released
configs instead map label 255 to an all-zero target row and keep those pixels in the mean;
since ``1 - cos(a, 0)`` is a constant 1 with zero gradient there, that only rescales the loss
by the labelled fraction of each batch. Excluding them matches mmseg's CE semantics and makes
the loss value comparable across images. Labels outside ``[0, C)`` that are not
``ignore_index`` raise a clear ``ValueError`` (``check_labels=True``).

Inference (``predict``/``predict_by_feat``): category scores
``s_c = cos(a / |a|, v_c / |v_c|)`` are computed at feature resolution and resized to the image
like any head's logits, so ``seg_logits`` hold category scores in ``[-1, 1]`` (``[0, 1]`` for
non-negative properties), ``pred_sem_seg`` = argmax, and EncoderDecoder, ``IoUMetric``,
``tools/test.py`` and the visualisers work unchanged.

Label spaces (:class:`~prolab_seg.properties.LabelSpace`): ``label_space`` is the training
space, ``test_label_space`` the inference one (default: the same); each is a file (kind read from
its format), ``dict(type=KIND, path=...)``, a list (concatenated) or a space object (the keys
``property_space`` / ``test_property_space`` of 0.1 are refused, naming these). Any space
sharing the training centroids -- e.g. new categories built with ``tools/gen_properties.py
assign`` -- can be swapped in by config (``--cfg-options model.decode_head.test_label_space=all.npz
model.decode_head.test_classes=[...] test_dataloader.dataset.metainfo.classes=[...]``; a list
of files is concatenated; ``test_classes`` keeps a subset) or at run time with
:func:`set_inference_categories`. ``num_classes``/``out_channels`` follow the inference bank.
Generalised zero-shot (seen and unseen categories in one bank): trained categories score higher
on everything, so ``seen_calibration=g`` subtracts ``g`` from their scores at inference only
(calibrated stacking, Chao et al., ECCV 2016; 0 = off); pick ``g`` on held-out data.
``calibration=dict(type=...)`` instead applies a registered score calibrator (JoEm's Apollonius
calibration, per-category biases: :mod:`.calibration`).
A checkpoint whose stored centroids differ from the configured space is refused on load, and
``PropertySpaceCheckHook`` compares every bank with the dataloaders' classes before training /
testing starts.

Text-embedding label space (comparison): a ``NameEmbeddingSpace`` (no centroids, written by
``tools/gen_properties.py names``) makes the same wrapper regress the sentence embedding of the
category *name* (identity projection, no sigmoid) and match by cosine -- same head, other space.

Losses: every loss in ``loss_decode`` must be a :class:`~.loss.PropertyLoss` (a stock mmseg
loss would receive K-channel activations against C-class labels); others are refused at build
time. The wrapped head builds them, stacks the labels and resizes the predictions (its own
``_stack_batch_gt`` and ``predict_by_feat``).

Device-agnostic: all tensors are buffers, nothing calls ``.cuda()``.
"""
from __future__ import annotations

import contextlib
import copy
from typing import Any, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from prolab_seg.image_maps import labels_out_of_range
from prolab_seg.properties.class_names import class_list_mismatch
from prolab_seg.properties.label_space import CENTROID_ATOL, LabelSpace
from prolab_seg.registry import LABEL_SPACES

from .chunked import label_resolution_cosine
from .loss import LabelTargets, PropertyLoss, category_cosines


class CentroidConv2d(nn.Conv2d):
    """1x1 conv to E channels followed by the fixed projection onto K property centroids.

    Keeps ``weight`` (E x in x 1 x 1) and ``bias`` (E) as trainable parameters (same names as
    the ``conv_seg`` it replaces) and ``centroids`` (K x E) as a persistent, non-trainable
    buffer. Output: K property logits. Loading a checkpoint whose centroids differ raises.
    """

    def __init__(self, in_channels: int, centroids: Tensor, normalize_embedding: bool = False,
                 eps: float = 1e-12):
        embed_dim = int(centroids.shape[1])
        super().__init__(in_channels, embed_dim, kernel_size=1)
        self.register_buffer('centroids', centroids.detach().clone().float())
        self.normalize_embedding = bool(normalize_embedding)
        self.eps = eps

    @property
    def num_properties(self) -> int:
        return int(self.centroids.shape[0])

    def embed(self, x: Tensor) -> Tensor:
        """The E-d pixel embedding (before projection)."""
        return super().forward(x)

    def forward(self, x: Tensor) -> Tensor:  # noqa: D401
        c = self.centroids.to(self.weight.dtype)
        if self.normalize_embedding:
            e = F.normalize(super().forward(x), dim=1, eps=self.eps)
            return torch.einsum('nehw,ke->nkhw', e, c)
        w = (c @ self.weight.flatten(1)).view(c.shape[0], -1, 1, 1)
        b = c @ self.bias if self.bias is not None else None
        return F.conv2d(x, w, b)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        key = prefix + 'centroids'
        if key in state_dict:
            theirs = state_dict[key]
            if tuple(theirs.shape) != tuple(self.centroids.shape) or not torch.allclose(
                    theirs.float().cpu(), self.centroids.float().cpu(), atol=CENTROID_ATOL):
                raise RuntimeError(
                    f'checkpoint property centroids {key} (shape {tuple(theirs.shape)}) differ '
                    f'from the label space in the config (shape '
                    f'{tuple(self.centroids.shape)}): the checkpoint was trained with another '
                    'label space. Use the same label_space file (and build new categories '
                    'with `tools/gen_properties.py assign` on it).')
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f', num_properties={self.num_properties}, '
                f'normalize_embedding={self.normalize_embedding}')


def _check_names(expected: Optional[Sequence[str]], space: LabelSpace, what: str) -> None:
    mismatch = None if expected is None else class_list_mismatch(space.class_names, expected)
    if mismatch:
        raise ValueError(
            f'{what} {space.source} does not match the configured classes: '
            f'{len(space.class_names)} categories in the space vs {len(expected)} in the '
            f'config: {mismatch}.')


#: Config keys of ``PropertyHead`` that were removed, with the key that replaced each.
REMOVED_KEYS = {'property_space': 'label_space', 'test_property_space': 'test_label_space'}


def _refuse_unknown_keys(keys: dict) -> None:
    """``TypeError`` naming config keys ``PropertyHead`` does not take (a removed key with its
    replacement)."""
    if keys:
        renamed = [f'`{k}` was removed, use `{REMOVED_KEYS[k]}`' for k in keys
                   if k in REMOVED_KEYS]
        raise TypeError(f'PropertyHead got unknown config keys {sorted(keys)}'
                        + (': ' + '; '.join(renamed) if renamed else ''))


@MODELS.register_module()
class PropertyHead(BaseModule):
    """Property-supervised wrapper around any mmseg decode head (see module docstring).

    Args:
        head: config of the wrapped mmseg decode head (its ``num_classes`` is overridden with
            E and its ``loss_decode`` with this head's).
        label_space: training label space: a file (``.npz`` of any registered kind), a config
            ``dict(type='PropertySpace', path=...)``, a list of them (concatenated) or a
            :class:`~prolab_seg.properties.LabelSpace`.
        test_label_space: inference space (default: ``label_space``); must share the
            training centroids.
        temperature: T in ``sigmoid(logits / T)`` (ProLab: 0.04).
        normalize_embedding: L2-normalise the E-d pixel embedding before projecting
            (ProLab's released configs: False).
        activation: ``'sigmoid'``, ``'none'`` or ``'auto'`` (the label space's own).
        class_names: optional: the training dataset classes, checked against
            ``label_space`` at build time (clear error on mismatch).
        test_classes: optional: keep only these categories (in this order) of the inference
            space, or ``'new'``: those not in the training space, e.g. the unseen categories
            of a space written by ``gen_properties.py assign`` (which holds seen + new ones).
        loss_decode: :class:`~.loss.PropertyLoss` config(s); default ``CosineSimilarityLoss``.
        ignore_index: label ignored by the loss (255).
        check_labels: raise when a label outside ``[0, C)`` (other than ignore_index) appears.
        loss_resolution: ``'label'`` (default, ProLab): resize the K property logits to the
            label map, then sigmoid and cosine per pixel. ``'feature'``: cosine to every
            category at feature resolution, upsampled to the labels (cheaper; always used for
            spaces without activation, whose E-d maps are too costly at label resolution).
        seen_calibration: subtracted from the trained categories' scores at inference.
        calibration: optional config of a :class:`~.calibration.ScoreCalibrator` applied to
            the category scores at inference (instead of ``seen_calibration``).
        loss_chunk_rows: with ``loss_resolution='label'``, compute the label-resolution cosines
            this many label rows at a time, recomputed in backward (same loss and gradients,
            no K x H x W maps stored; :mod:`.chunked`). None: all at once (today's path).
    """

    def __init__(self,
                 head: dict,
                 label_space: Any = None,
                 test_label_space: Any = None,
                 temperature: float = 0.04,
                 normalize_embedding: bool = False,
                 activation: str = 'auto',
                 class_names: Optional[Sequence[str]] = None,
                 test_classes: Union[str, Sequence[str], None] = None,
                 loss_decode: Any = dict(type='CosineSimilarityLoss', loss_weight=1.0),
                 ignore_index: int = 255,
                 check_labels: bool = True,
                 loss_resolution: str = 'label',
                 seen_calibration: float = 0.0,
                 calibration: Optional[dict] = None,
                 loss_chunk_rows: Optional[int] = None,
                 init_cfg=None,
                 **unknown_keys):
        super().__init__(init_cfg)
        _refuse_unknown_keys(unknown_keys)
        if label_space is None:
            raise ValueError('PropertyHead needs label_space (path to a property-space .npz '
                             'built with tools/gen_properties.py build)')
        train_space = LABEL_SPACES.build(label_space)
        test_space = train_space if test_label_space is None else \
            LABEL_SPACES.build(test_label_space)
        _check_names(class_names, train_space, 'label_space')
        if test_classes is not None:
            test_space = test_space.select(test_classes, train_space.class_names)
        if activation == 'auto':
            activation = train_space.activation
        if activation not in ('sigmoid', 'none'):
            raise ValueError(f"activation must be 'sigmoid', 'none' or 'auto', got {activation!r}")
        if temperature <= 0:
            raise ValueError('temperature must be > 0')
        if seen_calibration < 0:
            raise ValueError(f'seen_calibration must be >= 0, got {seen_calibration}')
        self.seen_calibration = float(seen_calibration)
        if calibration is not None and seen_calibration:
            raise ValueError('PropertyHead: give seen_calibration or calibration, not both')
        self.calibrator = None if calibration is None else MODELS.build(calibration)
        if loss_resolution not in ('label', 'feature'):
            raise ValueError("loss_resolution must be 'label' or 'feature', "
                             f'got {loss_resolution!r}')
        if activation == 'none':
            loss_resolution = 'feature'  # see loss_by_feat
        if loss_chunk_rows is not None and (loss_chunk_rows < 1 or loss_resolution != 'label'):
            raise ValueError('loss_chunk_rows must be a positive number of label rows, with '
                             f"loss_resolution='label' and a sigmoid activation (got "
                             f'{loss_chunk_rows}, {loss_resolution!r}, {activation!r})')
        self.loss_chunk_rows = loss_chunk_rows
        self.loss_resolution = loss_resolution
        self.activation = activation
        self.temperature = float(temperature)
        self.normalize_embedding = bool(normalize_embedding)
        self.ignore_index = ignore_index
        self.check_labels = bool(check_labels)
        self.train_space = train_space

        head = copy.deepcopy(dict(head))
        if head.get('sampler') is not None:
            raise ValueError(
                f'PropertyHead: the wrapped head\'s sampler {head["sampler"]} is not supported '
                '(the property loss weights every labelled pixel equally); remove head.sampler')
        head['num_classes'] = self.embed_dim
        head.pop('out_channels', None)
        head.setdefault('ignore_index', ignore_index)
        head['loss_decode'] = loss_decode
        self.head = MODELS.build(head)
        if not hasattr(self.head, 'conv_seg') or not isinstance(self.head.conv_seg, nn.Conv2d):
            raise TypeError(f'PropertyHead: {type(self.head).__name__} has no conv_seg classifier '
                            '(only BaseDecodeHead-style heads are supported)')
        for loss_fn in self.losses:
            if not isinstance(loss_fn, PropertyLoss):
                raise TypeError(
                    f'PropertyHead: loss_decode {type(loss_fn).__name__} is not a property loss '
                    '(it would get K property activations against C-class labels); use '
                    'CosineSimilarityLoss or a subclass of prolab_seg.models.prolab.PropertyLoss')
        if loss_chunk_rows is not None and any(fn.needs_dense_activations
                                               or fn.needs_every_category for fn in self.losses):
            raise ValueError('loss_chunk_rows: a loss needs the dense activations or the cosine '
                             'to every category (e.g. bce_weight > 0, CategoryCrossEntropyLoss); '
                             'leave loss_chunk_rows unset')
        if train_space.centroids is not None:
            self.head.conv_seg = CentroidConv2d(
                self.head.conv_seg.in_channels, torch.from_numpy(train_space.centroids),
                normalize_embedding=self.normalize_embedding)
        self.align_corners = self.head.align_corners

        self.register_buffer('train_vectors', torch.from_numpy(train_space.vectors.copy()),
                             persistent=False)
        self.register_buffer('test_vectors', torch.empty(0), persistent=False)
        self.register_buffer('score_offsets', torch.empty(0), persistent=False)
        self._with_activations = False
        self.set_categories(test_space)

    @property
    def embed_dim(self) -> int:
        """E: channels of the wrapped head's classifier."""
        return self.train_space.embed_dim

    @property
    def num_properties(self) -> int:
        """K."""
        return self.train_space.num_properties

    @property
    def train_class_names(self) -> List[str]:
        return self.train_space.class_names

    @property
    def train_source(self) -> str:
        return self.train_space.source

    @property
    def test_class_names(self) -> List[str]:
        return self.test_space.class_names

    @property
    def test_source(self) -> str:
        return self.test_space.source

    @property
    def num_classes(self) -> int:
        """C of the inference space (the segmentor's output channels)."""
        return self.test_space.num_classes

    out_channels = num_classes

    @property
    def losses(self) -> List[PropertyLoss]:
        """The losses of ``loss_decode`` (built and held by the wrapped head)."""
        loss = self.head.loss_decode
        return list(loss) if isinstance(loss, nn.ModuleList) else [loss]

    # ---------------------------------------------------------------- label spaces
    def set_categories(self, space: Any,
                       classes: Union[str, Sequence[str], None] = None) -> LabelSpace:
        """Switch the inference label space (anything ``LABEL_SPACES.build`` takes),
        optionally keeping only ``classes``; returns the space in use."""
        space = LABEL_SPACES.build(space)
        if classes is not None:
            space = space.select(classes, self.train_class_names)
        self.train_space.check_compatible(space, 'inference label space')
        dev = self.train_vectors.device
        self.test_vectors = torch.from_numpy(space.vectors.copy()).to(dev)
        trained = set(self.train_class_names)
        self.score_offsets = torch.tensor(
            [-self.seen_calibration if c in trained else 0.0 for c in space.class_names],
            device=dev).view(1, -1, 1, 1)
        if self.calibrator is not None:
            self.calibrator.set_categories(space.class_names,
                                           [c in trained for c in space.class_names])
        self.test_space = space
        # mmseg thresholds sigmoid(scores) when there is one output channel: with a threshold
        # of 1 no pixel passes, so every pixel gets index 0, the space's only category.
        self.threshold = 1.0 if space.num_classes == 1 else None
        return space

    # -------------------------------------------------------------- forward
    def forward(self, inputs) -> Tensor:
        """Property logits (N x K x h x w) -- or the E-d embedding for a space without
        centroids."""
        return self.head(inputs)

    def pixel_features(self, inputs) -> Tensor:
        """The wrapped head's features before its classifier ``conv_seg`` (N x ch x h x w),
        e.g. to re-fit the classifier (:mod:`.feature_generation`)."""
        if not hasattr(self.head, '_forward_feature'):
            raise TypeError(f'PropertyHead: {type(self.head).__name__} has no _forward_feature, '
                            'so its features before conv_seg cannot be read')
        return self.head._forward_feature(inputs)

    def activate(self, logits: Tensor) -> Tensor:
        if self.activation == 'sigmoid':
            return torch.sigmoid(logits / self.temperature)
        return logits

    @staticmethod
    def scores_from_activations(act: Tensor, vectors: Tensor, eps: float = 1e-8) -> Tensor:
        """cos(act, v_c) for every category: N x K x h x w, C x K -> N x C x h x w."""
        return category_cosines(act, vectors, eps=eps)

    def category_scores(self, logits: Tensor, vectors: Optional[Tensor] = None) -> Tensor:
        vectors = self.test_vectors if vectors is None else vectors
        return self.scores_from_activations(self.activate(logits), vectors)

    # ------------------------------------------------------------- training
    def loss(self, inputs, batch_data_samples, train_cfg) -> dict:
        return self.loss_by_feat(self.forward(inputs), batch_data_samples)

    def _check_label_values(self, label: Tensor) -> None:
        num_classes = self.train_vectors.shape[0]
        values = labels_out_of_range(label, num_classes, self.ignore_index)
        if values:
            raise ValueError(
                f'label values {values[:10]} are outside the {num_classes} classes of the label '
                f'space {self.train_source} (ignore_index={self.ignore_index}). Check the '
                "dataset's classes / metainfo / reduce_zero_label against the space.")

    def loss_by_feat(self, seg_logits: Tensor, batch_data_samples) -> dict:
        """Losses in fp32 with autocast off, whatever the forward ran in (as mmcv's
        ``force_fp32`` kept ProLab's losses): under fp16 AMP, sums over more than 65504 labelled
        pixels (one 512 x 512 crop has 262144) overflow to inf and the loss turns 0 or NaN."""
        with torch.autocast(device_type=seg_logits.device.type, enabled=False):
            return self._loss_by_feat_fp32(seg_logits.float(), batch_data_samples)

    def _loss_by_feat_fp32(self, seg_logits: Tensor, batch_data_samples) -> dict:
        seg_label = self.head._stack_batch_gt(batch_data_samples)
        label = seg_label.squeeze(1).long()
        if self.check_labels:
            self._check_label_values(label)
        vectors = self.train_vectors.to(seg_logits.dtype)
        size = seg_label.shape[2:]
        if self.loss_resolution == 'feature':
            # cosine to every category at feature resolution, then upsampled (LSeg-style).
            # Used for name-embedding spaces (E-d, e.g. 384): an E-channel map at label
            # resolution would cost several times the whole training step.
            act_lr = self.activate(seg_logits)
            cos = resize(self.scores_from_activations(act_lr, vectors), size=size,
                         mode='bilinear', align_corners=self.align_corners)
            dense = any(fn.needs_dense_activations for fn in self.losses)
            act = resize(act_lr, size=size, mode='bilinear',
                         align_corners=self.align_corners) if dense else act_lr
            targets = LabelTargets(label, vectors, self.ignore_index, cos=cos)
            scores = cos
        elif self.loss_chunk_rows:
            cos, best = label_resolution_cosine(
                seg_logits, label, vectors, self.temperature, self.align_corners,
                self.ignore_index, self.loss_chunk_rows)
            act = self.activate(seg_logits)
            targets = LabelTargets(label, vectors, self.ignore_index, label_cos=cos)
            scores = None
        else:
            logits = resize(seg_logits, size=size, mode='bilinear',
                            align_corners=self.align_corners)
            act = self.activate(logits)
            dots = F.conv2d(act, vectors[:, :, None, None])
            targets = LabelTargets(label, vectors, self.ignore_index, dots=dots,
                                   logits=logits / self.temperature)
            # argmax_c cos(a, v_c) == argmax_c <a, v_c> / |v_c|
            scores = dots / vectors.norm(dim=1).clamp_min(1e-8).view(1, -1, 1, 1)
        out = dict()
        for loss_fn in self.losses:
            value = loss_fn(act, targets)
            name = loss_fn.loss_name
            out[name] = out[name] + value if name in out else value
        with torch.no_grad():
            if scores is None:  # chunked: the best category per pixel, as accuracy's top-1
                valid = label != self.ignore_index
                out['acc_seg'] = (best == label)[valid].float().sum(0, keepdim=True).mul_(
                    100.0 / valid.sum())
            else:
                out['acc_seg'] = accuracy(scores.detach(), label, ignore_index=self.ignore_index)
        return out

    # ------------------------------------------------------------ inference
    def predict(self, inputs, batch_img_metas: List[dict], test_cfg) -> Tensor:
        return self.predict_by_feat(self.forward(inputs), batch_img_metas)

    def output_maps(self, seg_logits: Tensor) -> Tensor:
        """Property logits -> category scores of the inference space (minus
        ``seen_calibration`` for the trained categories, or through ``calibration``), at the
        logits' resolution (N x C x h x w); inside :meth:`with_activations` the K property
        activations follow the C scores (N x (C + K) x h x w)."""
        scores = self.category_scores(seg_logits) + self.score_offsets.to(seg_logits.dtype)
        if self.calibrator is not None:
            scores = self.calibrator(scores)
        if self._with_activations:
            scores = torch.cat([scores, self.activate(seg_logits)], dim=1)
        return scores

    def predict_by_feat(self, seg_logits: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """:meth:`output_maps` resized to the input by the wrapped head."""
        return self.head.predict_by_feat(self.output_maps(seg_logits), batch_img_metas)

    @contextlib.contextmanager
    def with_activations(self):
        """Within this block, inference outputs the category scores followed by the property
        activations (C + K channels), so mmseg's ``inference`` (whole or slide, padding and
        flip handled) yields both from one forward pass; split at ``num_classes``."""
        self._with_activations = True
        try:
            yield self
        finally:
            self._with_activations = False

    def property_activations(self, inputs) -> Tensor:
        """Per-pixel property activations (N x K x h x w) -- for interpretability."""
        return self.activate(self.forward(inputs))


def set_inference_categories(model: nn.Module, space: Any,
                             classes: Union[str, Sequence[str], None] = None) -> LabelSpace:
    """Switch a built segmentor (or its DDP wrapper) to another inference label space
    (``classes``: see ``PropertyHead.test_classes``)."""
    model = getattr(model, 'module', model)
    head = getattr(model, 'decode_head', None)
    if not isinstance(head, PropertyHead):
        raise TypeError('set_inference_categories needs a model whose decode_head is a '
                        'PropertyHead (category-supervised baselines cannot switch categories)')
    space = head.set_categories(space, classes)
    model.num_classes = head.num_classes
    model.out_channels = head.out_channels
    meta = getattr(model, 'dataset_meta', None)
    if isinstance(meta, dict):
        meta = dict(meta)
        meta['classes'] = tuple(space.class_names)
        if 'palette' in meta and len(meta['palette']) != len(space.class_names):
            meta.pop('palette')
        model.dataset_meta = meta
    return space
