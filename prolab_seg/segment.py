"""Segment images with a trained model, optionally with another category set, and show why.

The library behind ``tools/segment.py``: :func:`load_segmentor` (a ProLab model's inference
category bank can be swapped for any property-space file sharing the training centroids, e.g.
one written by ``tools/gen_properties.py assign`` for categories never trained), :func:`predict`
(one forward pass per image through mmseg's whole / slide inference; a ProLab model's per-pixel
property activations come with the prediction: the interpretability ProLab promises),
:func:`summarize` and :func:`write_results`; :func:`segment_images` runs them over images.
Pictures are drawn by :class:`~prolab_seg.visualization.PropertySegLocalVisualizer`.
"""
from __future__ import annotations

import contextlib
import json
import os
import os.path as osp
from typing import Sequence

import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from prolab_seg.models.prolab import PropertyHead
from prolab_seg.visualization import PropertySegLocalVisualizer


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
    """Build + load a segmentor (its ``dataset_meta`` names the inference categories).

    ``categories`` (a label-space file) / ``classes`` (a subset of it, or of the model's
    inference space) swap a ProLab model's inference space; category-supervised models have a
    fixed category set and refuse them.
    """
    from mmseg.apis import init_model

    from prolab_seg import apis
    from prolab_seg.models.prolab import set_inference_categories
    apis.check_checkpoint(checkpoint)
    model = init_model(config, checkpoint, device=device, cfg_options=cfg_options)
    head = model.decode_head
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


@contextlib.contextmanager
def _with_activations(model: torch.nn.Module):
    """``decode_head.with_activations()`` on a segmentor sized for its C + K output channels
    (slide inference allocates ``model.out_channels``)."""
    out_channels = model.out_channels
    model.out_channels = out_channels + model.decode_head.num_properties
    try:
        with model.decode_head.with_activations():
            yield
    finally:
        model.out_channels = out_channels


def predict(model: torch.nn.Module, image: str) -> SegDataSample:
    """Segment ``image`` with one forward pass, as ``mmseg.apis.inference_model`` does.

    The data goes through ``model.cfg.test_pipeline`` (without ``LoadAnnotations``) and the
    data preprocessor, then mmseg's ``inference`` (whole or slide, per ``model.test_cfg``) and
    ``postprocess_result`` (padding removed, flip undone, resized to the image), so
    ``pred_sem_seg`` (``[1, H, W]``) and ``seg_logits`` (``[C, H, W]``) are those of
    ``model.test_step``. For a ``PropertyHead`` model the sample also holds
    ``property_activations`` (``[K, H, W]``, from the same pass; metainfo ``property_names``:
    the training space's name of each property).
    """
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate

    pipeline = Compose([t for t in model.cfg.test_pipeline if t['type'] != 'LoadAnnotations'])
    data = pseudo_collate([pipeline(dict(img_path=image))])
    with torch.no_grad():
        if not isinstance(model.decode_head, PropertyHead):
            return model.test_step(data)[0]
        batch = model.data_preprocessor(data, False)
        samples = batch['data_samples']
        with _with_activations(model):
            logits = model.inference(batch['inputs'], [s.metainfo for s in samples])
        c = model.decode_head.num_classes
        full = model.postprocess_result(logits, [SegDataSample(metainfo=s.metainfo)
                                                 for s in samples])[0]
        sample = model.postprocess_result(logits[:, :c], samples)[0]
    sample.property_activations = PixelData(
        data=full.seg_logits.data[c:],
        metainfo=dict(property_names=model.decode_head.train_space.property_names()))
    return sample


def top_properties(act: torch.Tensor, mask, top: int = 5) -> list[tuple[int, float]]:
    """``(property, mean activation)`` of the ``top`` properties most active (``act``:
    ``[K, H, W]``) on the pixels of the ``[H, W]`` boolean ``mask``."""
    mean = act[:, torch.as_tensor(mask, device=act.device)].mean(1).cpu().numpy()
    return [(int(k), float(mean[k])) for k in np.argsort(-mean)[:top]]


def summarize(sample: SegDataSample, classes: Sequence[str], top: int = 5) -> dict:
    """The categories of ``sample``'s prediction, largest first: ``{class: dict(pixel_share)}``
    plus, when it holds property activations, their ``top_properties`` (named)."""
    pred = sample.pred_sem_seg.data[0].cpu().long()  # float for a one-category bank
    ids, counts = torch.unique(pred, return_counts=True)
    out = {}
    for c, n in sorted(zip(ids.tolist(), counts.tolist()), key=lambda t: -t[1]):
        entry = dict(pixel_share=round(n / pred.numel(), 4))
        if 'property_activations' in sample:
            act = sample.property_activations
            entry['top_properties'] = [
                dict(property=k, name=act.property_names[k], activation=round(a, 3))
                for k, a in top_properties(act.data, pred == c, top)]
        out[classes[c]] = entry
    return out


def write_results(out_dir: str, image: str, sample: SegDataSample, summary: dict,
                  visualizer: PropertySegLocalVisualizer) -> None:
    """Write into ``out_dir``: ``<stem>_mask.png`` (colour mask, the visualizer's palette),
    ``<stem>_labels.png`` (uint8 category index), ``<stem>.json`` (``summary``) and, when
    ``sample`` holds property activations, ``<stem>_properties.png`` (the visualizer's
    picture)."""
    import mmcv
    from PIL import Image
    stem = osp.splitext(osp.basename(image))[0]
    pred = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
    palette = np.asarray(visualizer.dataset_meta['palette'], np.uint8)
    Image.fromarray(palette[pred]).save(osp.join(out_dir, f'{stem}_mask.png'))
    Image.fromarray(pred).save(osp.join(out_dir, f'{stem}_labels.png'))
    with open(osp.join(out_dir, f'{stem}.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    if 'property_activations' in sample:
        visualizer.add_datasample(stem, mmcv.imread(image, channel_order='rgb'), sample,
                                  out_file=osp.join(out_dir, f'{stem}_properties.png'))


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


def segment_images(model: torch.nn.Module, images: Sequence[str], out_dir: str,
                   top_k: int = 6, ann_dir: str | None = None) -> list[dict]:
    """:func:`predict`, :func:`summarize` and :func:`write_results` for each of ``images``
    (``top_k``: activation maps drawn; ``ann_dir``: ground truth drawn in the property
    pictures, see :func:`label_path`). Returns ``dict(image, categories)`` per image. Every
    image and label map is checked before anything is written."""
    for path in images:
        check_image(path)
        if ann_dir:
            check_image(label_path(ann_dir, path))
    classes = list(model.dataset_meta['classes'])
    visualizer = PropertySegLocalVisualizer(top_k=top_k)
    visualizer.set_dataset_meta(
        classes, palette_for(len(classes), model.dataset_meta.get('palette')).tolist())
    os.makedirs(out_dir, exist_ok=True)
    summaries = []
    for path in images:
        sample = predict(model, path)
        if ann_dir:
            sample.gt_sem_seg = read_label_map(label_path(ann_dir, path), sample.ori_shape,
                                               len(classes))
        summary = dict(image=path, categories=summarize(sample, classes))
        write_results(out_dir, path, sample, summary, visualizer)
        summaries.append(summary)
    return summaries
