"""Segment images with a trained model, optionally with another category set, and show why.

The library behind ``tools/segment.py``: :func:`load_segmentor` (the checkpoint must fit the
config; a ProLab model's inference category bank can be swapped for any property-space file
sharing the training centroids, e.g. one written by ``tools/gen_properties.py assign`` for
categories never trained), :func:`predict` (one forward pass per image, or per tile of a large
image; a ProLab model's per-pixel property activations come with the prediction: the
interpretability ProLab promises), :func:`summarize` and :func:`write_results`;
:func:`segment_images` runs them over images and folders (ground truth for the pictures from an
``ann_dir``: :func:`read_label_map`).

Memory. The prediction is mmseg's (``test_step``: maps resized to the image, argmax), but the
full-resolution maps are never held at once: :func:`predict` keeps the model's maps at the
resolution it outputs them (feature resolution in ``whole`` mode) with the resize that brings
them to the image, and every image-size quantity (the label map, the per-category mean
activations) is computed a few channels at a time (:mod:`prolab_seg.image_maps`). In ``whole``
mode an image larger than ``tile_size`` pixels a side runs through the network in tiles (each
with ``tile_margin`` pixels of context) stitched at feature resolution; near tile seams the
result can differ slightly from one whole pass. Pictures are drawn by
:class:`~prolab_seg.visualization.PropertySegLocalVisualizer` (at most 512 pixels a side).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import os.path as osp
from collections import Counter
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.structures import SegDataSample

from prolab_seg.image_maps import argmax_labels, mean_by_label, resize_plan
from prolab_seg.models.prolab import PropertyHead
from prolab_seg.properties.files import OutputPathError, atomic_write_bytes, check_outputs
from prolab_seg.visualization import PropertySegLocalVisualizer

from .train_test import load_weights

#: Image files a folder argument contributes (by suffix, case-insensitive).
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
#: What :func:`write_results` writes per image, after the image's output name.
OUTPUT_SUFFIXES = ('_mask.png', '_labels.png', '.json', '_properties.png')
#: ``whole`` mode: images larger than this many pixels a side run in tiles (0: never).
TILE_SIZE = 1024
#: Context around each tile, in input pixels.
TILE_MARGIN = 128
_TILE_STEP = 32  # tiles and margins are multiples of this (every output stride divides it)


def palette_for(n: int, meta_palette=None) -> np.ndarray:
    """``n`` RGB colours: the dataset palette when it has enough, else matplotlib's
    qualitative colours (tab10, the light tab20 ones, tab20b, tab20c: 60 distinct ones), then
    fixed random ones."""
    if meta_palette is not None and len(meta_palette) >= n:
        return np.asarray(meta_palette[:n], dtype=np.uint8)
    from matplotlib import colormaps
    tab20 = colormaps['tab20'].colors
    distinct = (tab20[0::2] + tab20[1::2] + colormaps['tab20b'].colors
                + colormaps['tab20c'].colors)
    rng = np.random.default_rng(12345)
    extra = rng.integers(32, 256, (max(0, n - len(distinct)), 3))
    return np.concatenate([np.round(np.asarray(distinct) * 255), extra])[:n].astype(np.uint8)


def load_segmentor(config: str, checkpoint: str, categories: str | None = None,
                   classes: Sequence[str] | None = None, device: str = 'cpu',
                   cfg_options: dict | None = None) -> torch.nn.Module:
    """Build the config's segmentor and load ``checkpoint`` strictly (its ``dataset_meta``
    names the inference categories).

    ``categories`` (a label-space file) / ``classes`` (a subset of it, or of the model's
    inference space) swap a ProLab model's inference space; category-supervised models have a
    fixed category set and refuse them.

    Raises:
        CheckpointError: the checkpoint is missing, unreadable or does not fit the config's
            model (e.g. a baseline checkpoint with a ProLab config): nothing is predicted with
            random layers.
    """
    from mmseg.apis import init_model

    from prolab_seg.models.prolab import set_inference_categories
    model = init_model(config, None, device='cpu', cfg_options=cfg_options)
    meta = load_weights(model, checkpoint).get('meta') or {}
    head = model.decode_head
    if 'dataset_meta' in meta:
        model.dataset_meta = meta['dataset_meta']
    elif 'CLASSES' in meta:  # mmseg < 1.0 checkpoints
        model.dataset_meta = dict(classes=meta['CLASSES'], palette=meta.get('PALETTE'))
    else:
        model.dataset_meta = dict(classes=tuple(f'class {i}' for i in range(head.num_classes)))
    model.to(device)
    if not isinstance(head, PropertyHead):
        if categories or classes:
            raise ValueError('categories/classes need a ProLab (PropertyHead) model; '
                             'category-supervised models have a fixed category set')
        return model
    if categories or classes:
        set_inference_categories(model, categories or head.test_space, classes)
    meta = dict(getattr(model, 'dataset_meta', None) or {})
    if list(meta.get('classes', [])) != head.test_class_names:
        model.dataset_meta = dict(classes=tuple(head.test_class_names))
    return model


def check_image(path: str) -> None:
    """Raise ``FileNotFoundError``/``ValueError`` naming ``path`` unless it decodes fully."""
    from PIL import Image
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    try:
        with Image.open(path) as im:
            im.load()
    except (OSError, SyntaxError, ValueError) as e:
        raise ValueError(f'{path}: not a readable image ({e}); pass complete PNG or JPEG '
                         'files') from None


def list_images(paths: Sequence[str]) -> list[str]:
    """``paths`` with every folder replaced by the image files in it (``IMAGE_SUFFIXES``,
    sorted, not recursive), each file once; a folder without images is an error."""
    images = []
    for path in paths:
        if not osp.isdir(path):
            images.append(path)
            continue
        found = sorted(osp.join(path, f) for f in os.listdir(path)
                       if f.lower().endswith(IMAGE_SUFFIXES) and osp.isfile(osp.join(path, f)))
        if not found:
            raise FileNotFoundError(f'no image files ({", ".join(IMAGE_SUFFIXES)}) in folder '
                                    f'{path}')
        images += found
    unique: dict[str, str] = {}
    for path in images:
        unique.setdefault(osp.realpath(path), path)
    return list(unique.values())


def output_names(images: Sequence[str]) -> list[str]:
    """A distinct output name per image: its file stem; where stems collide (same name in two
    folders, or ``x.png`` and ``x.jpg``), its path relative to the images' common folder
    (``a/x.png`` -> ``a__x``), then with its suffix (``x_png``), then numbered."""
    paths = [osp.abspath(p) for p in images]
    root = osp.commonpath([osp.dirname(p) for p in paths]) if paths else ''

    def relative(p: str, suffix: bool) -> str:
        rel = osp.relpath(p, root)
        rel = rel.replace('.', '_') if suffix else osp.splitext(rel)[0]
        return rel.replace(os.sep, '__')

    names = [osp.splitext(osp.basename(p))[0] for p in paths]
    for suffix in (False, True):
        counts = Counter(names)
        names = [relative(p, suffix) if counts[n] > 1 else n for p, n in zip(paths, names)]
    used: set[str] = set()
    unique = []
    for name in names:  # the same file twice, or a name another one took: numbered
        candidate, number = name, 1
        while candidate in used or (candidate != name and candidate in names):
            number += 1
            candidate = f'{name}-{number}'
        used.add(candidate)
        unique.append(candidate)
    return unique


@contextlib.contextmanager
def _with_activations(model: torch.nn.Module):
    """``decode_head.with_activations()`` on a segmentor sized for its C + K output channels
    (slide inference allocates ``model.out_channels``); nothing for other heads."""
    if not isinstance(model.decode_head, PropertyHead):
        yield
        return
    out_channels = model.out_channels
    model.out_channels = out_channels + model.decode_head.num_properties
    try:
        with model.decode_head.with_activations():
            yield
    finally:
        model.out_channels = out_channels


def _head_maps(model: EncoderDecoder, inputs: torch.Tensor) -> torch.Tensor:
    """The decode head's maps at its own (feature) resolution: what mmseg's whole inference
    resizes to the input (a ProLab head: :meth:`PropertyHead.output_maps`)."""
    head = model.decode_head
    logits = head.forward(model.extract_feat(inputs))
    return head.output_maps(logits) if isinstance(head, PropertyHead) else logits


def _output_stride(in_hw: tuple[int, int], out_hw: tuple[int, int]) -> int:
    """The stride s (dividing ``_TILE_STEP``) with ``out = ceil(in / s)`` on both sides."""
    for s in (1, 2, 4, 8, 16, 32):
        if _TILE_STEP % s == 0 and all(-(-i // s) == o for i, o in zip(in_hw, out_hw)):
            return s
    raise ValueError(f'cannot run the model in tiles: its output {tuple(out_hw)} is not its '
                     f'input {tuple(in_hw)} divided by a power of two up to {_TILE_STEP}; '
                     'turn tiling off (--tile-size 0)')


def _whole_maps(model: EncoderDecoder, inputs: torch.Tensor, tile_size: int,
                tile_margin: int) -> torch.Tensor:
    """``[1, C', h, w]`` head maps of the whole (padded) input at feature resolution; an input
    larger than ``tile_size`` a side runs in tiles with ``tile_margin`` pixels of context,
    stitched at feature resolution."""
    H, W = inputs.shape[2:]
    if not tile_size or (H <= tile_size and W <= tile_size):
        return _head_maps(model, inputs)
    if tile_size % _TILE_STEP or tile_margin % _TILE_STEP:
        raise ValueError(f'tile size {tile_size} and margin {tile_margin} must be multiples of '
                         f'{_TILE_STEP}')
    canvas, s = None, 0
    for y0 in range(0, H, tile_size):
        for x0 in range(0, W, tile_size):
            top, left = max(0, y0 - tile_margin), max(0, x0 - tile_margin)
            bottom = min(H, y0 + tile_size + tile_margin)
            right = min(W, x0 + tile_size + tile_margin)
            out = _head_maps(model, inputs[:, :, top:bottom, left:right])
            if canvas is None:
                s = _output_stride((bottom - top, right - left), out.shape[2:])
                canvas = out.new_zeros(1, out.shape[1], -(-H // s), -(-W // s))
            elif s != _output_stride((bottom - top, right - left), out.shape[2:]):
                raise ValueError('cannot run the model in tiles: its output stride varies '
                                 'with the tile size; turn tiling off (--tile-size 0)')
            ys, xs = y0 // s, x0 // s
            ye, xe = -(-min(H, y0 + tile_size) // s), -(-min(W, x0 + tile_size) // s)
            canvas[:, :, ys:ye, xs:xe] = out[:, :, ys - top // s:ye - top // s,
                                             xs - left // s:xe - left // s]
    return canvas


def _feature_maps_path(model: torch.nn.Module) -> bool:
    """Whole-mode inference of a single decode head: its maps are taken before mmseg resizes
    them (other models run mmseg's ``inference`` at input resolution)."""
    return (isinstance(model, EncoderDecoder) and not isinstance(model.decode_head, nn.ModuleList)
            and model.test_cfg.get('mode', 'whole') == 'whole')


def predict(model: torch.nn.Module, image: str, tile_size: int = TILE_SIZE,
            tile_margin: int = TILE_MARGIN) -> SegDataSample:
    """Segment ``image`` as ``model.test_step`` does, within bounded memory.

    The data goes through ``model.cfg.test_pipeline`` (without ``LoadAnnotations``) and the data
    preprocessor, then the network: in ``whole`` mode once (or in tiles, see the module
    docstring) up to the decode head's maps, otherwise mmseg's ``inference``. The maps are
    brought to the image as mmseg does (padding removed, flip undone, resized), channel groups
    at a time.

    Returns:
        a sample with ``pred_sem_seg`` (``[1, H, W]`` at the image size, ``test_step``'s) and,
        at the resolution the model outputs them (:func:`~prolab_seg.image_maps.image_maps`
        gives them at the image size; metainfo ``resize``): ``class_maps``
        (``[C, h, w]``: a ProLab head's category scores, else the logits) and for a
        ``PropertyHead`` model ``property_activations`` (``[K, h, w]``, same pass; metainfo
        ``property_names``: the training space's name of each property).
    """
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate

    pipeline = Compose([t for t in model.cfg.test_pipeline if t['type'] != 'LoadAnnotations'])
    head = model.decode_head
    with torch.no_grad(), _with_activations(model):
        batch = model.data_preprocessor(pseudo_collate([pipeline(dict(img_path=image))]), False)
        inputs, meta = batch['inputs'], batch['data_samples'][0].metainfo
        del batch  # the input is freed once the network has run
        if _feature_maps_path(model):
            maps = _whole_maps(model, inputs, tile_size, tile_margin)
            pre_size = tuple(meta['pad_shape'][:2] if 'pad_shape' in meta else
                             meta['img_shape'][:2])
        else:
            maps = model.inference(inputs, [meta])
            pre_size = None
        del inputs
    plan = resize_plan(meta, pre_size, getattr(head, 'align_corners', False),
                       model.align_corners)
    c = head.num_classes if isinstance(head, PropertyHead) else model.out_channels
    sample = SegDataSample(metainfo=meta)
    sample.class_maps = PixelData(data=maps[0, :c], metainfo=dict(resize=plan))
    sample.pred_sem_seg = PixelData(data=argmax_labels(sample.class_maps,
                                                       getattr(head, 'threshold', None)))
    if isinstance(head, PropertyHead):
        sample.property_activations = PixelData(data=maps[0, c:], metainfo=dict(
            resize=plan, property_names=head.train_space.property_names()))
    return sample


def top_properties(means: torch.Tensor, top: int = 5) -> list[tuple[int, float]]:
    """``(property, mean activation)`` of the ``top`` largest of ``means`` (``[K]``, e.g. a
    row of :func:`mean_by_label`), largest first."""
    means = means.cpu().numpy()
    return [(int(k), float(means[k])) for k in np.argsort(-means)[:top]]


def summarize(sample: SegDataSample, classes: Sequence[str], top: int = 5) -> dict:
    """The categories of ``sample``'s prediction, largest first: ``{class: dict(pixel_share)}``
    plus, when it holds property activations, the ``top`` properties with the highest mean
    activation on the category's pixels (named)."""
    pred = sample.pred_sem_seg.data[0].cpu().long()  # float for a one-category bank
    counts = torch.bincount(pred.reshape(-1), minlength=len(classes)).tolist()
    act = sample.get('property_activations')
    means = None if act is None else mean_by_label(act, pred, len(classes))
    out = {}
    for c, n in sorted(((c, n) for c, n in enumerate(counts) if n), key=lambda t: -t[1]):
        entry = dict(pixel_share=round(n / pred.numel(), 4))
        if means is not None:
            entry['top_properties'] = [
                dict(property=k, name=act.property_names[k], activation=round(a, 3))
                for k, a in top_properties(means[c], top)]
        out[classes[c]] = entry
    return out


def _png(array: np.ndarray) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format='PNG')
    return buf.getvalue()


def write_results(out_dir: str, name: str, image: str, sample: SegDataSample, summary: dict,
                  visualizer: PropertySegLocalVisualizer) -> None:
    """Write into ``out_dir``: ``<name>_mask.png`` (colour mask, the visualizer's palette),
    ``<name>_labels.png`` (uint8 category index), ``<name>.json`` (``summary``) and, when
    ``sample`` holds property activations, ``<name>_properties.png`` (the visualizer's
    picture). Everything is drawn before the first file is written; each file is written
    atomically."""
    import mmcv
    pred = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
    palette = np.asarray(visualizer.dataset_meta['palette'], np.uint8)
    files = {'_mask.png': _png(palette[pred]), '_labels.png': _png(pred),
             '.json': (json.dumps(summary, indent=2) + '\n').encode()}
    if 'property_activations' in sample:
        files['_properties.png'] = _png(visualizer.draw_properties(
            mmcv.imread(image, channel_order='rgb'), sample))
    for suffix, data in files.items():
        atomic_write_bytes(osp.join(out_dir, name + suffix), data)


def label_path(ann_dir: str | None, image: str) -> str | None:
    """The label map of ``image`` in ``ann_dir`` (``<stem>.png``); None without ``ann_dir``."""
    return ann_dir and osp.join(ann_dir, osp.splitext(osp.basename(image))[0] + '.png')


def read_label_map(path: str, shape: tuple[int, int], num_classes: int) -> PixelData:
    """The ``[1, H, W]`` ground truth in ``path`` (category index per pixel, 255 ignored);
    ``ValueError`` naming the file unless it is ``shape`` with indices below ``num_classes``."""
    from PIL import Image
    check_image(path)
    label = np.asarray(Image.open(path))
    if label.shape != tuple(shape):
        raise ValueError(f'{path}: label map is {label.shape}, the image {tuple(shape)}; pass '
                         'one single-channel category-index PNG per image')
    if (label[label != 255] >= num_classes).any():
        raise ValueError(f'{path}: label values up to {label[label != 255].max()}, the model '
                         f'has {num_classes} categories; pass indices of its categories')
    return PixelData(data=torch.from_numpy(label.astype(np.int64))[None])


def segment_images(model: torch.nn.Module, paths: Sequence[str], out_dir: str,
                   top_k: int = 6, inputs: Sequence[str] = (), tile_size: int = TILE_SIZE,
                   tile_margin: int = TILE_MARGIN, ann_dir: str | None = None) -> list[dict]:
    """:func:`predict`, :func:`summarize` and :func:`write_results` for each image of ``paths``
    (files and folders, :func:`list_images`; ``top_k``: activation maps drawn; ``ann_dir``:
    ground truth drawn in the property pictures, see :func:`label_path`), under the distinct
    names of :func:`output_names`. Returns ``dict(image, name, categories)`` per image.

    Every image and label map is checked, and no output may replace an image, a label map or
    one of ``inputs`` (other files the command read, e.g. config and checkpoint), before
    anything is written.
    """
    images = list_images(paths)
    labels = [label_path(ann_dir, path) for path in images]
    for path, label in zip(images, labels):
        check_image(path)
        if label:
            check_image(label)
    for folder in filter(osp.isdir, paths):
        if osp.realpath(folder) == osp.realpath(out_dir):
            raise OutputPathError(f'refusing to write into the image folder {folder}: its '
                                  'outputs would be read as images by the next run; choose '
                                  'another --out-dir')
    names = output_names(images)
    check_outputs([osp.join(out_dir, n + s) for n in names for s in OUTPUT_SUFFIXES],
                  [*images, *filter(None, labels), *inputs])
    classes = list(model.dataset_meta['classes'])
    visualizer = PropertySegLocalVisualizer(top_k=top_k)
    visualizer.set_dataset_meta(
        classes, palette_for(len(classes), model.dataset_meta.get('palette')).tolist())
    os.makedirs(out_dir, exist_ok=True)
    summaries = []
    for path, name, label in zip(images, names, labels):
        sample = predict(model, path, tile_size, tile_margin)
        if label:
            sample.gt_sem_seg = read_label_map(label, sample.ori_shape, len(classes))
        summary = dict(image=path, name=name, categories=summarize(sample, classes))
        write_results(out_dir, name, path, sample, summary, visualizer)
        summaries.append(summary)
    return summaries
