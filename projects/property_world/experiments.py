"""The property-world ProLab experiment, in pieces shared by :mod:`.demo` (the main job) and
:mod:`.benchmarks.bench_prolab`: label spaces, training, and the zero-shot protocol.

Everything about the categories (all / seen / unseen, their attributes, pixel counts) comes from
the data's ``meta.json`` (:func:`data_info`), never from the default spec, so data generated from
any spec runs without code edits. Protocol: seen mIoU on ``val`` (seen classes); zero-shot mIoU
on ``val``'s unseen pixels, choosing among the unseen categories; generalised zero-shot on
``val`` over all categories, with the seen-score calibration chosen on the ``calib`` split (or
the best of several calibration routes there: :func:`generalized_zero_shot_routes`). A
transductive variant (:func:`transductive_self_training`) uses the unlabelled pixels of training
images and is reported apart. Zero-shot with abstaining assignment has its threshold chosen on
``calib`` too (:func:`abstaining_zero_shot`).
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from prolab_seg import apis
from prolab_seg.datasets.property_world import read_meta
from prolab_seg.evaluation.unsupervised import confusion_matrix, iou_from_confusion
from prolab_seg.evaluation.zero_shot import harmonic_iou, nan_mean
from prolab_seg.image_maps import image_maps, mean_by_label
from prolab_seg.apis import predict, top_properties

PROJECT = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(PROJECT))
DESCRIPTIONS = osp.join(PROJECT, 'descriptions', 'property_world.json')
PW_CONFIGS = osp.join(PROJECT, 'configs')
CONFIGS = dict(
    baseline=osp.join(PW_CONFIGS, 'baseline_fcn-r18-d8_300it_property-world-64x64.py'),
    prolab=osp.join(PW_CONFIGS, 'prolab_fcn-r18-d8_300it_property-world-64x64.py'),
    textemb=osp.join(PW_CONFIGS, 'textemb_fcn-r18-d8_300it_property-world-64x64.py'),
    # ImageNet-pretrained MobileNetV2 (offline weights), for 128 px data
    baseline_mnv2=osp.join(PW_CONFIGS, 'baseline_fcn-mnv2-d8_300it_property-world-128x128.py'),
    prolab_mnv2=osp.join(PW_CONFIGS, 'prolab_fcn-mnv2-d8_300it_property-world-128x128.py'),
    textemb_mnv2=osp.join(PW_CONFIGS, 'textemb_fcn-mnv2-d8_300it_property-world-128x128.py'),
    prolab_mnv2_frozen=osp.join(PW_CONFIGS,
                                'prolab_fcn-mnv2-d8-frozen_300it_property-world-128x128.py'),
)
#: ``PropertyHead.seen_calibration`` values tried on the calib split for generalised zero-shot.
CALIBRATIONS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6)
#: ``ApolloniusCalibration.gamma`` values tried on the calib split (route ``'apollonius'``).
APOLLONIUS_GAMMAS = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.7, 2.0, 2.5)
#: Generalised zero-shot routes judged on calib by :func:`generalized_zero_shot_routes`.
GZSL_ROUTES = ('scalar', 'apollonius', 'category_bias')
SPLIT_PREFIX = 'test_dataloader.dataset.data_prefix'
#: Quantiles of the seen sentences' cosines to their own property centroid tried as the
#: unseen assignment's ``min_similarity`` on the calib split (:func:`abstention_thresholds`).
ABSTENTION_QUANTILES = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


@dataclass(frozen=True)
class DataInfo:
    """Categories of a generated property-world dataset (from its ``meta.json``)."""
    root: str
    classes: list[str]
    seen: list[str]
    unseen: list[str]
    attributes: dict[str, dict[str, str]]
    pixels: dict[str, dict[str, int]]


def data_info(data_root: str) -> DataInfo:
    """Read ``data_root/meta.json``; ``FileNotFoundError`` if the root holds no generated data."""
    meta = read_meta(data_root)
    if meta is None:
        raise FileNotFoundError(f'{data_root}: no meta.json; generate the data with `python -m '
                                f'projects.property_world.make_dataset --out {data_root}`')
    missing = [k for k in ('attributes', 'pixels_per_class') if k not in meta]
    if missing:
        raise ValueError(f'{data_root}/meta.json lacks {missing}: written by an older version; '
                         f're-generate it with projects.property_world.make_dataset')
    return DataInfo(data_root, meta['classes'], meta['seen'], meta['unseen'], meta['attributes'],
                    meta['pixels_per_class'])


# ------------------------------------------------------------------ label spaces
def descriptions_for(descriptions: str | Mapping, names: Sequence[str]) -> dict:
    """``{name: sentences}`` of ``names`` from a descriptions file or dict (error naming the
    file and the missing categories)."""
    from prolab_seg.properties import load_descriptions
    source = descriptions if isinstance(descriptions, str) else '<dict>'
    cats = load_descriptions(descriptions).categories if isinstance(descriptions, str) \
        else dict(descriptions)
    missing = [n for n in names if n not in cats]
    if missing:
        raise KeyError(f'{source}: no descriptions for {missing}')
    return {n: cats[n] for n in names}


def data_classes(data_root: str, spec: str | None = None) -> list[str]:
    """Categories of ``data_root``'s data: its ``meta.json``'s when generated, else those that
    ``spec`` (None: the default spec) will generate there."""
    from .datasets.spec import load_spec
    meta = read_meta(data_root)
    return list(meta['classes']) if meta is not None else [c.name for c in load_spec(spec)]


def check_descriptions(descriptions: str | Mapping, data_root: str,
                       spec: str | None = None) -> None:
    """Before any data are written: ``DescriptionsError`` naming the file unless
    ``descriptions`` loads (its ``"dataset"`` key included, see
    :func:`~prolab_seg.properties.descriptions.check_dataset_key`) and describes every
    category of :func:`data_classes`."""
    from prolab_seg.properties.descriptions import DescriptionsError
    try:
        descriptions_for(descriptions, data_classes(data_root, spec))
    except KeyError as e:
        raise DescriptionsError(e.args[0]) from None


def build_spaces(out: str, info: DataInfo, descriptions: str | Mapping = DESCRIPTIONS,
                 num_properties: int = 32, seed: int = 0, model=None,
                 facet_wise: bool = False) -> dict[str, str]:
    """Property space of the seen categories (``seen.npz``) and the same plus the unseen ones
    mapped onto its centroids by ``assign`` (``all.npz``, data class order); returns paths.
    ``facet_wise``: see :func:`~prolab_seg.properties.build_property_space`."""
    from prolab_seg.properties import build_property_space
    os.makedirs(out, exist_ok=True)
    seen = build_property_space(descriptions_for(descriptions, info.seen), num_properties,
                                seed=seed, model=model, facet_wise=facet_wise)
    seen.save(osp.join(out, 'seen.npz'))
    assign_unseen(seen, info, descriptions, osp.join(out, 'all.npz'), model=model)
    return dict(seen=osp.join(out, 'seen.npz'), all=osp.join(out, 'all.npz'))


def assign_unseen(seen, info: DataInfo, descriptions: str | Mapping, out: str, model=None,
                  min_similarity: float | None = None) -> str:
    """The seen :class:`~prolab_seg.properties.PropertySpace` plus the unseen categories
    ``assign``-ed onto its centroids (``min_similarity``: see
    :func:`~prolab_seg.properties.assign_categories`), in data class order, saved to ``out``
    (``.npz``); returns ``out``."""
    from prolab_seg.properties import assign_categories
    new = assign_categories(seen, descriptions_for(descriptions, info.unseen), model=model,
                            min_similarity=min_similarity)
    seen.extend(new).subset(info.classes).save(out)
    return out


def oracle_space(info: DataInfo):
    """The :class:`~prolab_seg.properties.AttributeSpace` of the data's categories."""
    from prolab_seg.properties import AttributeSpace
    return AttributeSpace.from_attributes({c: info.attributes[c] for c in info.classes},
                                          dict(data=osp.join(info.root, 'meta.json')))


def attribute_space(out: str, info: DataInfo) -> dict[str, str]:
    """Oracle label space: one property per attribute value of the data (``type=value``), each
    category the multi-hot of its own values (``seen.npz`` / ``all.npz``)."""
    space = oracle_space(info)
    os.makedirs(out, exist_ok=True)
    space.subset(info.seen).save(osp.join(out, 'seen.npz'))
    space.save(osp.join(out, 'all.npz'))
    return dict(seen=osp.join(out, 'seen.npz'), all=osp.join(out, 'all.npz'))


def random_descriptions(descriptions: str | Mapping, names: Sequence[str],
                        seed: int = 0) -> dict[str, list[str]]:
    """Control: each category gets as many sentences as it has, drawn at random (without
    replacement) from the other categories' sentences."""
    from prolab_seg.properties.class_names import sentences_of
    cats = {n: sentences_of(v) for n, v in descriptions_for(descriptions, names).items()}
    rng = np.random.default_rng(seed)
    out = {}
    for name, own in cats.items():
        pool = sorted({s for other, sents in cats.items() if other != name for s in sents}
                      - set(own))
        out[name] = [pool[i] for i in rng.choice(len(pool), len(own), replace=False)]
    return out


def name_banks(out: str, info: DataInfo, model=None) -> dict[str, str]:
    """Text-embedding label spaces: the sentence embedding of each category name."""
    from prolab_seg.properties import NameEmbeddingSpace
    space = NameEmbeddingSpace.from_names(info.classes, model=model)
    space.subset(info.seen).save(osp.join(out, 'names_seen.npz'))
    space.save(osp.join(out, 'names_all.npz'))
    return dict(seen=osp.join(out, 'names_seen.npz'), all=osp.join(out, 'names_all.npz'))


# ------------------------------------------------------------------ config options
def class_weights(info: DataInfo, classes: Sequence[str] | None = None, split: str = 'train',
                  power: float = 0.5) -> list[float]:
    """Loss weight per class, ``frequency ** -power`` over ``split``'s pixels, normalised so the
    pixel-weighted mean is 1 (balances small objects against large background regions)."""
    classes = info.seen if classes is None else classes
    counts = np.array([info.pixels[split][c] for c in classes], np.float64)
    w = (np.maximum(counts, 1) / max(counts.sum(), 1)) ** -power
    w /= (w * counts).sum() / max(counts.sum(), 1)
    return [round(float(x), 4) for x in w]


def schedule_options(data_root: str, iters: int, seed: int = 0) -> dict:
    """``--cfg-options`` for a property-world run of ``iters`` iterations on ``data_root``:
    warm-up over the first 10 %, then poly decay; one validation + checkpoint at the end."""
    warmup = max(1, iters // 10)
    opts = {f'{k}.dataset.data_root': data_root
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    opts.update({
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'default_hooks.checkpoint.interval': iters,
        'default_hooks.logger.interval': max(1, iters // 6),
        'param_scheduler': [
            dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup),
            dict(type='PolyLR', eta_min=0.0, power=1.0, begin=warmup, end=iters,
                 by_epoch=False)],
        'randomness.seed': seed,
        'test_evaluator': dict(type='ZeroShotIoUMetric'),
    })
    return opts


def _class_weight_options(weights: list[float]) -> dict:
    """``--cfg-options`` giving both heads' losses the per-class ``weights``."""
    return {f'model.{h}.loss_decode.class_weight': weights
            for h in ('decode_head', 'auxiliary_head')}


def category_ce_options(options: dict, weight: float) -> dict:
    """``options`` with a :class:`~prolab_seg.models.prolab.CategoryCrossEntropyLoss` beside
    each head's ``CosineSimilarityLoss`` of a ProLab config: ``weight`` times the head's cosine
    weight (1.0 main, 0.4 auxiliary, as the configs), with the same class weights."""
    out = dict(options)
    for head, loss_weight in (('decode_head', 1.0), ('auxiliary_head', 0.4)):
        cw = out.pop(f'model.{head}.loss_decode.class_weight', None)
        out[f'model.{head}.loss_decode'] = [
            dict(type='CosineSimilarityLoss', loss_weight=loss_weight, class_weight=cw),
            dict(type='CategoryCrossEntropyLoss', loss_weight=weight * loss_weight,
                 class_weight=cw)]
    return out


def baseline_options(info: DataInfo, balance: bool = True) -> dict:
    """Category-CE heads sized to the data's seen classes (and class-balanced)."""
    n = len(info.seen)
    opts = {'model.decode_head.num_classes': n, 'model.auxiliary_head.num_classes': n}
    if balance:
        opts.update(_class_weight_options(class_weights(info)))
    return opts


def space_options(space: str, info: DataInfo | None = None,
                  classes: Sequence[str] | None = None, split: str = 'train') -> dict:
    """Train a ``PropertyHead`` config (main + auxiliary head) on ``space``; with ``info``,
    class-balanced over ``classes`` (default: the seen ones) by ``split``'s pixels."""
    opts = {'model.decode_head.label_space': space,
            'model.auxiliary_head.label_space': space}
    if info is not None:
        opts.update(_class_weight_options(class_weights(info, classes, split)))
    return opts


def upper_bound_options(info: DataInfo, space: str) -> dict:
    """Supervised upper bound: train on ``train_all`` (unseen categories labelled too) with
    every category's vector of ``space``."""
    opts = space_options(space, info, info.classes, 'train_all')
    opts.update({'train_dataloader.dataset.data_prefix': dict(
                     img_path='img_dir/train_all', seg_map_path='ann_dir/train_all'),
                 'train_dataloader.dataset.class_subset': 'all',
                 'val_dataloader.dataset.class_subset': 'all'})
    return opts


def zero_shot_options(bank: str, classes: str | Sequence[str] | None = 'new') -> dict:
    """Test with inference bank ``bank``: ``'new'`` = its categories outside the training
    space, on the data's unseen pixels; a list = those categories, on their pixels; None =
    every category, on every pixel (generalised zero-shot)."""
    listed = classes is not None and not isinstance(classes, str)
    return {'model.decode_head.test_label_space': bank,
            'model.decode_head.test_classes': list(classes) if listed else classes,
            'test_dataloader.dataset.metainfo': dict(classes=tuple(classes)) if listed else None,
            'test_dataloader.dataset.class_subset': 'unseen' if classes == 'new' else 'all'}


def split_options(split: str) -> dict:
    """Test on another split of the data (e.g. ``calib``)."""
    return {SPLIT_PREFIX: dict(img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}')}


# ------------------------------------------------------------------ train / evaluate
def train(config: str, options: dict, work_dir: str, quiet: bool = True) -> str:
    """Train ``config`` with ``options``; returns the final checkpoint path."""
    cfg = apis.load_config(config, options, work_dir)
    if quiet:
        cfg.log_level = 'ERROR'
    apis.train(cfg)
    return osp.join(work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')


def evaluate(config: str, checkpoint: str, options: dict, work_dir: str,
             quiet: bool = True) -> dict:
    """``tools/test.py`` on ``checkpoint``; returns the test metric's numbers."""
    cfg = apis.load_config(config, options, work_dir)
    if quiet:
        cfg.log_level = 'ERROR'
    return apis.test(cfg, checkpoint)


def generalized_zero_shot(config: str, checkpoint: str, options: dict, bank: str,
                          work_dir: str, calibrations: Sequence[float] = CALIBRATIONS) -> dict:
    """Every category in the bank, every class of the data: the ``seen_calibration`` with the
    best harmonic mean on the ``calib`` split, then ``val`` with it. Returns the val metrics
    (``mIoU_seen``, ``mIoU_unseen``, ``hIoU``, per class) plus ``calibration`` and
    ``calib_hIoU``."""
    opts = dict(options, **zero_shot_options(bank, None))
    best, best_h = 0.0, -1.0
    for g in calibrations:
        m = evaluate(config, checkpoint,
                     dict(opts, **split_options('calib'),
                          **{'model.decode_head.seen_calibration': g}),
                     osp.join(work_dir, f'calib_{g}'))
        if m['hIoU'] > best_h:
            best, best_h = g, m['hIoU']
    out = evaluate(config, checkpoint, dict(opts, **{'model.decode_head.seen_calibration': best}),
                   osp.join(work_dir, 'val'))
    return dict(out, calibration=best, calib_hIoU=best_h)


def abstention_thresholds(seen_space: str,
                          quantiles: Sequence[float] = ABSTENTION_QUANTILES) -> list:
    """Candidate ``min_similarity`` values: None (no abstention) first, then the
    ``quantiles`` of the seen sentences' cosines to their own property centroid in
    ``seen_space`` (rounded to 4 decimals; a threshold at the q-quantile drops unseen
    sentences that lie further from every property than the q-th fraction of the seen
    sentences lie from their own). Relative to the embedding model and K, unlike a fixed
    cosine grid (all-MiniLM-L6-v2 cosines to the nearest of 32 centroids are mostly > 0.7)."""
    from prolab_seg.properties import PropertySpace
    score = PropertySpace.load(seen_space).text_score
    return [None] + [round(float(np.quantile(score, q)), 4) for q in quantiles]


def abstaining_zero_shot(config: str, checkpoint: str, options: dict, info: DataInfo,
                         descriptions: str | Mapping, space_dir: str, work_dir: str,
                         thresholds: Sequence[float | None] | None = None) -> dict:
    """Zero-shot with abstaining assignment, its threshold chosen on ``calib``, never ``val``.

    The model (trained on ``space_dir/seen.npz``, ``options`` as trained) and the seen space
    stay as they are; only the unseen categories are re-assigned, once per threshold
    (``space_dir/abstain/<t>.npz``), and tested on the ``calib`` split's unseen pixels
    choosing among the unseen categories. The best calib mIoU wins (ties: the earlier
    candidate, so no abstention unless it helps); ``val`` is then evaluated with it.

    Args:
        thresholds: candidate ``min_similarity`` values (None: no abstention); default
            :func:`abstention_thresholds` of ``seen.npz``.
    Returns:
        ``min_similarity`` (chosen), ``calib`` (per candidate: ``min_similarity``,
        ``calib_mIoU``, ``abstained`` sentences), ``zs_mIoU`` and ``zs_IoU`` (per unseen
        category) on val with the chosen one, ``bank`` (its space) and ``landing`` (its
        :func:`~prolab_seg.properties.landing_report` rows).
    """
    from prolab_seg.properties import PropertySpace, landing_report
    seen_path = osp.join(space_dir, 'seen.npz')
    seen = PropertySpace.load(seen_path)
    if thresholds is None:
        thresholds = abstention_thresholds(seen_path)
    os.makedirs(osp.join(space_dir, 'abstain'), exist_ok=True)
    calib, banks, landings, best = [], {}, {}, None
    for t in thresholds:
        bank = banks[t] = assign_unseen(seen, info, descriptions,
                                        osp.join(space_dir, 'abstain', f'{t}.npz'),
                                        min_similarity=t)
        m = evaluate(config, checkpoint,
                     dict(options, **zero_shot_options(bank), **split_options('calib')),
                     osp.join(work_dir, f'calib_{t}'))
        landings[t] = landing_report(PropertySpace.load(bank))
        calib.append(dict(min_similarity=t, calib_mIoU=m['mIoU'],
                          abstained=sum(r['abstained'] for r in landings[t])))
        if best is None or m['mIoU'] > best['calib_mIoU']:
            best = calib[-1]
    t = best['min_similarity']
    val = evaluate(config, checkpoint, dict(options, **zero_shot_options(banks[t])),
                   osp.join(work_dir, 'val'))
    return dict(min_similarity=t, calib=calib, zs_mIoU=val['mIoU'],
                zs_IoU={c: val[f'IoU.{c}'] for c in info.unseen}, bank=banks[t],
                landing=landings[t])


# ------------------------------------------------------------------ GZSL routes, chosen on calib
@dataclass
class SplitScores:
    """A split's uncalibrated category scores over a GZSL bank, to try calibrators without
    re-running the network: ``maps`` [N, C, h, w] at the head's resolution (what a calibrator
    sees), ``image`` [N, C, H, W] the same resized as the segmentor resizes its logits,
    ``labels`` [N, H, W] class ids (255 ignored), the bank's ``classes`` and ``seen`` flags [C],
    and ``to_image``: [N, C, h, w] maps -> [N, C, H, W] scores, the segmentor's resizing."""
    maps: Any
    image: Any
    labels: np.ndarray
    classes: list[str]
    seen: np.ndarray
    to_image: Callable


def bank_model(config: str, checkpoint: str, options: dict, bank: str, split: str):
    """``(model, dataset)``: a trained ProLab model tested with ``bank`` over every category (no
    calibration from ``options``' training is added) and ``split``'s test dataset, labels as
    ``bank``'s class ids."""
    from mmseg.apis import init_model
    from mmseg.registry import DATASETS
    cfg = apis.load_config(config, dict(options, **zero_shot_options(bank, None),
                                        **split_options(split)))
    model = init_model(cfg, checkpoint, device='cpu')
    model.eval()
    return model, DATASETS.build(cfg.test_dataloader.dataset)


def preprocessed_batches(model, dataset, batch_size: int = 8):
    """``dataset`` in order, ``batch_size`` items at a time, through the model's data
    preprocessor (dicts of ``inputs`` and ``data_samples``)."""
    from mmengine.dataset import pseudo_collate
    for start in range(0, len(dataset), batch_size):
        yield model.data_preprocessor(pseudo_collate(
            [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]), False)


def split_scores(config: str, checkpoint: str, options: dict, bank: str,
                 split: str = 'calib') -> SplitScores:
    """:class:`SplitScores` of ``split`` for a trained ProLab model tested with ``bank`` over
    every category (any calibration in ``options`` is left out: the scores are raw)."""
    import torch
    model, dataset = bank_model(config, checkpoint, options, bank, split)
    head = model.decode_head
    batches = []
    with torch.no_grad():
        for data in preprocessed_batches(model, dataset):
            maps = head.category_scores(head.forward(model.extract_feat(data['inputs'])))
            batches.append((maps, data['data_samples']))

    def to_image(maps):
        out, at = [], 0
        with torch.no_grad():
            for _, samples in batches:
                part = maps[at:at + len(samples)]
                at += len(samples)
                logits = head.head.predict_by_feat(part, [s.metainfo for s in samples])
                out += [s.seg_logits.data for s in model.postprocess_result(logits, samples)]
        return torch.stack(out)

    maps = torch.cat([m for m, _ in batches])
    trained = set(head.train_class_names)
    return SplitScores(maps, to_image(maps),
                       np.stack([s.gt_sem_seg.data[0].numpy() for _, ss in batches for s in ss]),
                       list(head.test_class_names),
                       np.array([c in trained for c in head.test_class_names]), to_image)


def image_confusions(pred: np.ndarray, labels: np.ndarray, num_classes: int,
                     ignore_index: int = 255) -> np.ndarray:
    """[N, C, C] confusion (rows prediction, columns gt, as :func:`confusion_matrix`) of each of
    N [H, W] label maps."""
    return np.stack([confusion_matrix(p, g, num_classes, num_classes, ignore_index)
                     for p, g in zip(pred, labels)])


def gzsl_numbers(conf: np.ndarray, seen: np.ndarray) -> dict[str, float]:
    """``mIoU_seen``, ``mIoU_unseen`` and ``hIoU`` (%) of a [C, C] confusion matrix."""
    iou = iou_from_confusion(conf)
    s, u = nan_mean(iou[seen]), nan_mean(iou[~seen])
    return dict(mIoU_seen=s * 100, mIoU_unseen=u * 100, hIoU=harmonic_iou(s, u) * 100)


def calibrated_scores(data: SplitScores, head_options: Mapping) -> Any:
    """[N, C, H, W] scores of ``data`` as the head gives them with ``head_options``
    (``PropertyHead``'s ``seen_calibration`` or ``calibration``)."""
    import torch
    from mmseg.registry import MODELS
    if head_options.get('calibration') is None:
        return data.image - float(head_options.get('seen_calibration', 0.0)) * \
            torch.from_numpy(data.seen).to(data.image).view(1, -1, 1, 1)
    calibrator = MODELS.build(dict(head_options['calibration']))
    calibrator.set_categories(data.classes, data.seen.tolist())
    return data.to_image(calibrator(data.maps))


def _predict(scores) -> np.ndarray:
    return scores.argmax(1).numpy()


def fit_category_biases(scores, labels: np.ndarray, seen: np.ndarray, init: np.ndarray,
                        steps: Sequence[float] = (0.05, 0.02), max_sweeps: int = 2,
                        ignore_index: int = 255) -> np.ndarray:
    """One additive bias per category maximising the harmonic mean on ``labels``: coordinate
    ascent from ``init`` [C]; for each step size, sweeps over the categories trying ``+step``
    then ``-step`` (kept only if H rises) until a sweep changes nothing (at most
    ``max_sweeps``). The short default schedule is the regulariser: on the v2 data's 50 calib
    images (ProLab, 300 iterations, seed 1) a finer one, ``(0.08, 0.04, 0.02, 0.01)`` x 4,
    fits calib better (H 21.8 vs 18.0) but cross-fits worse (9.8 vs 11.8).

    Args:
        scores: [N, C, H, W] image-resolution scores (a bias per category commutes with the
            segmentor's bilinear resizing, so biases fitted here apply at the head).
        labels: [N, H, W] class ids (``ignore_index`` ignored). seen: [C] bool.
    Returns:
        [C] biases (float64).
    """
    num = len(seen)
    flat = np.moveaxis(np.asarray(scores, np.float32), 1, -1).reshape(-1, num)
    gt = np.asarray(labels).reshape(-1).astype(np.int64)
    keep = gt != ignore_index
    flat, gt = flat[keep], gt[keep]
    rows = np.arange(len(gt))
    bias = np.asarray(init, np.float64).copy()

    def h_of(pred):
        return gzsl_numbers(confusion_matrix(pred, gt, num, num), seen)['hIoU']

    def top2(b):  # best and runner-up category (index, value) of every pixel
        v = flat + b.astype(np.float32)
        first = v.argmax(1)
        top = v[rows, first]
        v[rows, first] = -np.inf
        second = v.argmax(1)
        return first, top, second, v[rows, second]

    first, top, second, runner = top2(bias)
    best = h_of(first)
    for step in steps:
        for _ in range(max_sweeps):
            changed = False
            for c in range(num):
                others = np.where(first == c, runner, top)
                other_idx = np.where(first == c, second, first)
                for delta in (step, -step):
                    pred = np.where(flat[:, c] + np.float32(bias[c] + delta) > others, c,
                                    other_idx)
                    h = h_of(pred)
                    if h > best + 1e-9:
                        bias[c] += delta
                        best, changed = h, True
                        first, top, second, runner = top2(bias)
                        break
            if not changed:
                break
    return bias


def _grid(route: str) -> list[dict]:
    """Head options tried by a grid route (``scalar`` or ``apollonius``)."""
    if route == 'scalar':
        return [dict(seen_calibration=g) for g in CALIBRATIONS]
    return [dict(calibration=dict(type='ApolloniusCalibration', gamma=g))
            for g in APOLLONIUS_GAMMAS]


def _fit_route(route: str, data: SplitScores, images: np.ndarray,
               grid_conf: dict[str, np.ndarray]) -> dict:
    """Head options of ``route`` chosen (grid) or fitted (``category_bias``) on ``images`` of
    ``data``; ``grid_conf[route]``: [candidates, N, C, C] per-image confusions of a grid."""
    def best_of(name):
        hs = [gzsl_numbers(c[images].sum(0), data.seen)['hIoU'] for c in grid_conf[name]]
        return _grid(name)[int(np.argmax(hs))]

    if route != 'category_bias':
        return best_of(route)
    g = best_of('scalar')['seen_calibration']
    bias = fit_category_biases(data.image[images].numpy(), data.labels[images], data.seen,
                               np.where(data.seen, -g, 0.0))
    return dict(calibration=dict(type='CategoryBiasCalibration', biases={
        c: round(float(b), 4) for c, b in zip(data.classes, bias) if b}))


def stratified_folds(labels: np.ndarray, unseen_ids: Sequence[int], folds: int = 2) -> np.ndarray:
    """[N] fold of each [H, W] label map: images holding the same unseen categories are dealt
    to the folds in turn, so that each fold holds every unseen category that occurs twice."""
    keys = [tuple(np.intersect1d(np.unique(lab), unseen_ids).tolist()) for lab in labels]
    seen_count: dict[tuple, int] = {}
    out = np.empty(len(keys), np.int64)
    for i, key in enumerate(keys):
        out[i] = seen_count.get(key, 0) % folds
        seen_count[key] = seen_count.get(key, 0) + 1
    return out


def judge_routes(data: SplitScores, routes: Sequence[str] = GZSL_ROUTES,
                 folds: int = 2) -> dict[str, dict]:
    """Per route: its head options fitted on all of ``data`` (the calib split) with the
    harmonic mean there (``calib_hIoU``, in-sample) and ``calib_cv_hIoU``: the images split
    into ``folds`` (:func:`stratified_folds`), each scored with options fitted on the others
    (fair between a one-number route and a per-category one; used to choose)."""
    unknown = [r for r in routes if r not in GZSL_ROUTES]
    if unknown:
        raise ValueError(f'unknown GZSL routes {unknown}; known: {GZSL_ROUTES}')
    num = len(data.classes)
    # the scalar grid is always scored: category_bias starts from its best offset
    grids = [g for g in ('scalar', 'apollonius') if g == 'scalar' or g in routes]
    grid_conf = {name: np.stack([image_confusions(_predict(calibrated_scores(data, o)),
                                                  data.labels, num) for o in _grid(name)])
                 for name in grids}
    everything = np.arange(len(data.labels))
    fold = stratified_folds(data.labels, np.flatnonzero(~data.seen), folds)
    out = {}
    for route in routes:
        options = _fit_route(route, data, everything, grid_conf)
        held = np.zeros((num, num), np.int64)
        for k in range(folds):
            test = everything[fold == k]
            fitted = _fit_route(route, data, everything[fold != k], grid_conf)
            held += image_confusions(_predict(calibrated_scores(data, fitted)[test]),
                                     data.labels[test], num).sum(0)
        full = confusion_matrix(_predict(calibrated_scores(data, options)), data.labels,
                                num, num)
        out[route] = dict(options=options, calib_hIoU=gzsl_numbers(full, data.seen)['hIoU'],
                          calib_cv_hIoU=gzsl_numbers(held, data.seen)['hIoU'])
    return out


def generalized_zero_shot_routes(config: str, checkpoint: str, options: dict, bank: str,
                                 work_dir: str, routes: Sequence[str] = GZSL_ROUTES) -> dict:
    """Generalised zero-shot with each inference-time calibration route of ``routes``
    (``'scalar'``: ``seen_calibration``; ``'apollonius'``: JoEm's Apollonius calibration;
    ``'category_bias'``: one bias per category), each fitted on the ``calib`` split
    (:func:`judge_routes`), then tested on ``val`` through the config. The route with the best
    cross-fitted calib harmonic mean is adopted (ties: the earlier in ``routes``). Returns the
    adopted route's val metrics (as :func:`generalized_zero_shot`) plus ``route``,
    ``calibration`` (:func:`route_label`), ``head_options``, its ``calib_hIoU`` (in-sample) and
    ``calib_cv_hIoU``, and ``routes``: per route its options, calib H (in-sample and
    cross-fitted) and val metrics."""
    judged = judge_routes(split_scores(config, checkpoint, options, bank, 'calib'), routes)
    opts = dict(options, **zero_shot_options(bank, None))
    for route, r in judged.items():
        r['val'] = evaluate(config, checkpoint, dict(opts, **{
            f'model.decode_head.{k}': v for k, v in r['options'].items()}),
            osp.join(work_dir, route))
    chosen = max(routes, key=lambda r: judged[r]['calib_cv_hIoU'])
    best = judged[chosen]
    return dict(best['val'], route=chosen, calibration=route_label(chosen, best['options']),
                head_options=best['options'], calib_hIoU=best['calib_hIoU'],
                calib_cv_hIoU=best['calib_cv_hIoU'], routes=judged)


def route_label(route: str, head_options: Mapping) -> str:
    """Short text of a route's setting, e.g. ``apollonius gamma=1.3``."""
    cal = head_options.get('calibration')
    if cal is None:
        return f"{route} g={head_options.get('seen_calibration', 0.0)}"
    if cal['type'] == 'ApolloniusCalibration':
        return f"{route} gamma={cal['gamma']}"
    return f"{route} ({len(cal.get('biases', {}))} biases)"


# ------------------------------------------------------------------ transductive (separate row)
def pseudo_labels(data: SplitScores, keep: float = 0.5, ignore_index: int = 255) -> np.ndarray:
    """Transductive pseudo-labels (ZS5Net / STRICT style) of ``data`` (a training split scored
    by :func:`split_scores`): each pixel not labelled with a seen category gets its
    best-scoring unseen category, kept only among the ``keep`` most confident pixels of that
    category (per category, so large categories do not crowd out small ones); seen labels stay,
    the rest is ``ignore_index``. Unseen labels of ``data`` are never read.

    Returns:
        [N, H, W] uint8 class ids of ``data.classes``.
    """
    if not 0 < keep <= 1:
        raise ValueError(f'keep must be in (0, 1], got {keep}')
    unseen = np.flatnonzero(~data.seen)
    labelled_seen = np.isin(data.labels, np.flatnonzero(data.seen))
    scores = data.image[:, unseen].numpy()
    guess, conf = unseen[scores.argmax(1)], scores.max(1)
    out = np.where(labelled_seen, data.labels, ignore_index).astype(np.uint8)
    for c in unseen:
        pick = ~labelled_seen & (guess == c)
        if pick.any():
            out[pick & (conf >= np.quantile(conf[pick], 1 - keep))] = c
    return out


def self_training_data(info: DataInfo, labels: np.ndarray, out: str,
                       split: str = 'train_all') -> DataInfo:
    """A data root at ``out`` whose ``split`` holds ``info``'s images with ``labels`` (written
    as PNG) and whose other splits link to ``info``'s; returns its :class:`DataInfo` (pixel
    counts of ``split``: those of ``labels``)."""
    import json

    from PIL import Image
    names = sorted(os.listdir(osp.join(info.root, 'img_dir', split)))
    if len(names) != len(labels):
        raise ValueError(f'{info.root}/img_dir/{split}: {len(names)} images, {len(labels)} label '
                         'maps')
    for sub in ('img_dir', 'ann_dir'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
        for s in os.listdir(osp.join(info.root, sub)):
            link = osp.join(out, sub, s)
            if not (sub == 'ann_dir' and s == split) and not osp.lexists(link):
                os.symlink(osp.abspath(osp.join(info.root, sub, s)), link)  # any cwd
    ann = osp.join(out, 'ann_dir', split)
    os.makedirs(ann, exist_ok=True)
    for name, lab in zip(names, labels):
        Image.fromarray(lab).save(osp.join(ann, name))
    counts = np.bincount(labels.reshape(-1), minlength=256)
    pixels = dict(info.pixels, **{split: {c: int(counts[i]) for i, c in enumerate(info.classes)}})
    with open(osp.join(out, 'meta.json'), 'w') as fh:
        json.dump(dict(read_meta(info.root), pixels_per_class=pixels), fh, indent=1)
    return DataInfo(out, info.classes, info.seen, info.unseen, info.attributes, pixels)


def transductive_self_training(config: str, checkpoint: str, options: dict, bank: str,
                               info: DataInfo, work_dir: str, rounds: int = 3,
                               iters: int = 150, keep: float = 0.5, seed: int = 0) -> str:
    """TRANSDUCTIVE (uses the unlabelled pixels of training images; report apart from the
    inductive rows): ``rounds`` times, pseudo-label the ``train_all`` images' pixels not
    labelled seen (:func:`pseudo_labels` with the model's GZSL scores over ``bank``), then
    fine-tune the model ``iters`` iterations on them, every category's vector of ``bank`` as
    target. ``options``: the model's training options (seen label space). Returns the last
    checkpoint, which loads with ``options``. Default rounds from calib: the adopted route's
    cross-fitted calib H after 1 / 2 / 3 rounds was 17.6 / 26.0 / 28.3 (seed 0) and
    18.6 / 20.6 / 20.7 (seed 1) on the v2 data (ProLab, 300 iterations)."""
    for r in range(rounds):
        data = split_scores(config, checkpoint, options, bank, 'train_all')
        st_info = self_training_data(info, pseudo_labels(data, keep),
                                     osp.join(work_dir, f'data_{r}'))
        opts = dict(schedule_options(st_info.root, iters, seed),
                    **upper_bound_options(st_info, bank), load_from=checkpoint)
        checkpoint = train(config, opts, osp.join(work_dir, f'round_{r}'))
    return checkpoint


# ------------------------------------------------------------------ feature generation (ZS3Net)
#: Features generated per unseen category, as a multiple of the real features kept per seen
#: category, tried on calib by :func:`feature_generation`.
GENERATED_SHARES = (0.5, 1.0, 2.0)
#: Losses of the classifier re-fit tried on calib by :func:`feature_generation`.
REFIT_LOSSES = ('CosineSimilarityLoss', 'CategoryCrossEntropyLoss')
#: Feature generators tried on calib by :func:`feature_generation`: ZS3Net's moment-matching
#: network and the compositional (linear) one.
GENERATORS = ('gmmn', 'linear')


def cell_features(model, dataset, min_fraction: float = 0.75):
    """``([N, D] features, [N] class ids)``: the cells of the model's feature map (before its
    ``conv_seg``) that one category covers (:func:`~prolab_seg.models.prolab.feature_generation.
    feature_labels`), over every image of ``dataset`` (labels as the model's inference bank)."""
    import torch

    from prolab_seg.models.prolab.feature_generation import feature_labels
    head = model.decode_head
    xs, ys = [], []
    with torch.no_grad():
        for data in preprocessed_batches(model, dataset):
            feats = head.pixel_features(model.extract_feat(data['inputs']))
            label = torch.stack([s.gt_sem_seg.data[0] for s in data['data_samples']])
            cells = feature_labels(label, feats.shape[2:], head.num_classes, min_fraction,
                                   head.ignore_index)
            keep = cells != head.ignore_index
            xs.append(feats.permute(0, 2, 3, 1)[keep])
            ys.append(cells[keep])
    return torch.cat(xs), torch.cat(ys)


def feature_generation(config: str, checkpoint: str, options: dict, bank: str, work_dir: str,
                       shares: Sequence[float] = GENERATED_SHARES,
                       losses: Sequence[str] = REFIT_LOSSES,
                       generators: Sequence[str] = GENERATORS, per_class: int = 256,
                       seed: int = 0) -> dict:
    """ZS3Net's route on a trained ProLab model: a feature generator fitted on the ``train``
    split's seen cells (:func:`cell_features`; the unseen categories enter only by their
    vectors in ``bank``), then ``conv_seg`` re-fitted on ``per_class`` real cells per seen
    category plus ``share * per_class`` generated ones per unseen category, against every
    category's vector of ``bank``, with a registered property loss of ``losses``
    (:mod:`prolab_seg.models.prolab.feature_generation`). The model as it is and each
    (loss, share) are judged by the best cross-fitted calib GZSL H of the calibration routes
    (:func:`judge_routes`); the best wins (ties: the earlier, so the model as it is unless a
    re-fit beats it).

    Returns:
        ``checkpoint`` of the chosen candidate (loads with ``options``, as ``checkpoint``),
        its ``loss`` and ``share`` (None: the model as it is) and ``calib``: per candidate its
        routes' cross-fitted calib H.
    """
    import copy

    import torch
    from mmseg.registry import MODELS

    from prolab_seg.models.prolab import feature_generation as fg
    model, dataset = bank_model(config, checkpoint, options, bank, 'train')
    head = model.decode_head
    feats, labels = cell_features(model, dataset)
    vectors = head.test_vectors.float()
    trained = set(head.train_class_names)
    unseen = torch.from_numpy(np.flatnonzero([c not in trained for c in head.test_class_names]))
    fitted = dict(gmmn=lambda: fg.fit_feature_generator(feats, labels, vectors, seed=seed),
                  linear=lambda: fg.LinearFeatureGenerator().fit(feats, labels, vectors))
    made = {name: fitted[name]() for name in generators}
    real = torch.from_numpy(fg.balanced_subset(labels.numpy(), per_class, seed))
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)
    os.makedirs(work_dir, exist_ok=True)
    calib, best = [], None
    for generator, loss, share in [(None, None, None)] + [
            (g, lo, sh) for g in generators for lo in losses for sh in shares]:
        ckpt = checkpoint
        if share is not None:
            fake, rows = made[generator].sample(vectors[unseen], max(1, round(share * per_class)),
                                                seed)
            conv = copy.deepcopy(head.head.conv_seg)
            fg.refit_classifier(conv, head.activate, torch.cat([feats[real], fake]),
                                torch.cat([labels[real], unseen[rows]]), vectors,
                                MODELS.build(dict(type=loss)), seed=seed)
            weights = dict(state['state_dict'], **{
                f'decode_head.head.conv_seg.{k}': v for k, v in conv.state_dict().items()})
            ckpt = osp.join(work_dir, f'{generator}_{loss}_{share}.pth')
            torch.save(dict(meta=state.get('meta', {}), state_dict=weights), ckpt)
        judged = judge_routes(split_scores(config, ckpt, options, bank, 'calib'))
        calib.append(dict(generator=generator, loss=loss, share=share, checkpoint=ckpt,
                          calib_cv_hIoU={r: v['calib_cv_hIoU'] for r, v in judged.items()}))
        if best is None or max(calib[-1]['calib_cv_hIoU'].values()) > max(
                best['calib_cv_hIoU'].values()):
            best = calib[-1]
    return dict(checkpoint=best['checkpoint'], generator=best['generator'], loss=best['loss'],
                share=best['share'], calib=calib)


def zero_shot_metrics(config: str, checkpoint: str, options: dict, zs_options: dict, bank: str,
                      info: DataInfo, work_dir: str,
                      calibrations: Sequence[float] = CALIBRATIONS,
                      routes: Sequence[str] | None = None) -> dict:
    """A trained model's zero-shot mIoU and IoU per unseen category (``zs_options``: see
    :func:`zero_shot_options`) and its generalised zero-shot metrics with ``bank``:
    :func:`generalized_zero_shot` over ``calibrations``, or with ``routes``
    :func:`generalized_zero_shot_routes` (e.g. :data:`GZSL_ROUTES`)."""
    zs = evaluate(config, checkpoint, dict(options, **zs_options), osp.join(work_dir, 'zero_shot'))
    gzsl = generalized_zero_shot(config, checkpoint, options, bank, osp.join(
        work_dir, 'gzsl'), calibrations) if routes is None else generalized_zero_shot_routes(
        config, checkpoint, options, bank, osp.join(work_dir, 'gzsl_routes'), routes)
    return dict(zs_mIoU=zs['mIoU'], zs_IoU={c: zs[f'IoU.{c}'] for c in info.unseen}, gzsl=gzsl)


def chance_unseen_iou(info: DataInfo, seed: int = 0) -> dict[str, float]:
    """IoU (%) per unseen category of a uniform-random guess among the unseen categories, on
    ``val``'s unseen-category pixels (NaN for a category with neither pixels nor guesses)."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    n = len(info.unseen)
    lut = np.full(256, -1)
    lut[[info.classes.index(c) for c in info.unseen]] = np.arange(n)
    conf = np.zeros((n, n), np.int64)
    ann = osp.join(info.root, 'ann_dir', 'val')
    for f in sorted(os.listdir(ann)):
        lab = lut[np.asarray(Image.open(osp.join(ann, f)))]
        lab = lab[lab >= 0]
        conf += confusion_matrix(rng.integers(0, n, lab.shape), lab, n, n)
    return dict(zip(info.unseen, (iou_from_confusion(conf) * 100).tolist()))


def chance_unseen_miou(info: DataInfo, seed: int = 0) -> float:
    """mIoU (%) of :func:`chance_unseen_iou`: the zero-shot chance level."""
    return nan_mean(list(chance_unseen_iou(info, seed).values()))


def images_with_unseen(info: DataInfo) -> list[tuple[str, str]]:
    """``(image path, unseen category)`` for each val image holding an unseen category."""
    from PIL import Image
    out = []
    ann = osp.join(info.root, 'ann_dir', 'val')
    unseen_ids = {info.classes.index(c): c for c in info.unseen}
    for f in sorted(os.listdir(ann)):
        ids = np.unique(np.asarray(Image.open(osp.join(ann, f))))
        found = [unseen_ids[i] for i in ids.tolist() if i in unseen_ids]
        if found:
            out.append((osp.join(info.root, 'img_dir', 'val', f), found[0]))
    return out


def label_res_features(model, image: str):
    """``[D, H, W]`` per-pixel features of ``image`` at its size (one
    :func:`~prolab_seg.apis.inference.predict` pass): a ProLab head's property activations (D = K), a
    category head's class scores (D = C)."""
    sample = predict(model, image)
    return image_maps(sample.property_activations if 'property_activations' in sample
                      else sample.class_maps).cpu()


def pixel_features(model, info: DataInfo, split: str, classes: Sequence[str],
                   per_image: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``([N, D] features, [N] class index)`` (:func:`label_res_features`) of up to
    ``per_image`` random pixels of ``classes`` per ``split`` image."""
    import torch
    from PIL import Image
    rng = np.random.default_rng(seed)
    wanted = [info.classes.index(c) for c in classes]
    xs, ys = [], []
    img_dir = osp.join(info.root, 'img_dir', split)
    for f in sorted(os.listdir(img_dir)):
        label = np.asarray(Image.open(osp.join(info.root, 'ann_dir', split, f)))
        idx = np.flatnonzero(np.isin(label, wanted))
        if not len(idx):
            continue
        idx = rng.choice(idx, min(per_image, len(idx)), replace=False)
        out = label_res_features(model, osp.join(img_dir, f))
        xs.append(out.flatten(1)[:, torch.from_numpy(idx)].T.numpy())
        ys.append(label.reshape(-1)[idx].astype(np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def fired_properties(model, info: DataInfo, image: str, category: str,
                     top: int = 3) -> list[tuple[str, float]]:
    """The ``top`` properties with the highest mean activation on the pixels labelled
    ``category`` in val ``image`` (a ProLab model), by name."""
    import torch
    from PIL import Image
    label = np.asarray(Image.open(osp.join(info.root, 'ann_dir', 'val', osp.basename(image))))
    act = predict(model, image).property_activations
    mask = torch.from_numpy(label == info.classes.index(category))
    means = mean_by_label(act, mask, 2)[1]
    return [(act.property_names[k], a) for k, a in top_properties(means, top)]


def attribute_probe_row(config: str, checkpoint: str, options: dict, info: DataInfo,
                        seed: int = 0) -> dict[str, float]:
    """Per-attribute probe of a trained model: fitted on ``train`` seen-category pixels, scored
    on ``val`` unseen-category pixels (see :func:`prolab_seg.evaluation.attribute_probe`)."""
    from mmseg.apis import init_model

    from prolab_seg.evaluation import attribute_probe
    model = init_model(apis.load_config(config, options), checkpoint, device='cpu')
    model.eval()
    tr_x, tr_y = pixel_features(model, info, 'train', info.seen, seed=seed)
    te_x, te_y = pixel_features(model, info, 'val', info.unseen, seed=seed)
    return attribute_probe(tr_x, tr_y, te_x, te_y, [info.attributes[c] for c in info.classes],
                           seed=seed)


#: Words a sentence uses for an attribute value (a value's own name always counts).
VALUE_WORDS = dict(striped=('stripe', 'bands'), dotted=('spot', 'dots'),
                   checkered=('checker', 'squares'), grainy=('speck', 'grain'),
                   wavy=('undulat', 'wave'), elongated=('long body',),
                   stuff=('no fixed', 'outline', 'no definite shape'),
                   round=('circular', 'rounded', 'curve'), square=('corners', 'straight edges'),
                   top=('upper',), bottom=('lower',), any=('anywhere', 'any part', 'any height'),
                   medium=('medium',), large=('large',), small=('small',))


def property_report(space_path: str, info: DataInfo) -> list[dict]:
    """Per property of a space: the categories it covers and the attribute values of the data
    its sentences mention (by ``VALUE_WORDS``; colours by name, ``colour:<name>``)."""
    import re

    from prolab_seg.properties import PropertySpace
    space = PropertySpace.load(space_path)
    values = {(('colour' if 'color' in t else t), v) for a in info.attributes.values()
              for t, v in a.items()}
    rows = []
    for k in range(space.num_properties):
        texts = {space.texts[i].lower() for i in np.flatnonzero(space.text_cluster == k)}
        said = sorted(f'{t}:{v}' for t, v in values if any(
            re.search(r'\b' + re.escape(w), s) for s in texts
            for w in (v,) + VALUE_WORDS.get(v, ())))
        covered = [c for c, on in zip(space.class_names, space.vectors[:, k]) if on]
        rows.append(dict(property=k, categories=covered, values=said, sentences=len(texts)))
    return rows


def attribute_agreement(space_path: str, info: DataInfo) -> float:
    """Spearman correlation, over category pairs, between a space's category similarities and
    those of the oracle attribute space: does the text side group categories by attributes?"""
    from scipy.stats import spearmanr

    from prolab_seg.properties import PropertySpace
    space = PropertySpace.load(space_path, classes=info.classes)
    iu = np.triu_indices(len(info.classes), 1)
    return float(spearmanr(space.similarity()[iu], oracle_space(info).similarity()[iu]).correlation)
