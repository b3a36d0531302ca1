"""Segment images with a trained model, optionally with another category set, and show why.

The library behind ``tools/segment.py``. For a ProLab model (``PropertyHead``), the inference
category bank can be swapped for any property-space file sharing the training centroids (e.g.
one written by ``tools/gen_properties.py assign`` for categories never trained), and the
per-pixel property activations are drawn: the interpretability ProLab promises.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def palette_for(n: int, meta_palette=None) -> np.ndarray:
    """``n`` RGB colours: the dataset palette when it has enough, else fixed random ones."""
    if meta_palette is not None and len(meta_palette) >= n:
        return np.asarray(meta_palette[:n], dtype=np.uint8)
    rng = np.random.default_rng(12345)
    return rng.integers(32, 256, (n, 3), dtype=np.uint8)


def property_names(space_path, k: int) -> list:
    """A readable name per property: its most representative description (if available)."""
    from prolab_seg.properties import PropertySpace
    names = [f'property {i}' for i in range(k)]
    if isinstance(space_path, (list, tuple)):
        space_path = space_path[0]
    if not isinstance(space_path, (str, os.PathLike)):
        return names  # an in-memory bank: no descriptions to name the properties by
    try:
        s = PropertySpace.load(space_path)
    except ValueError:  # a label-embedding bank, not a property space: no descriptions
        return names
    given = s.meta.get('property_names')  # e.g. an attribute space: 'color=orange'
    if given:
        return [f'p{i}: {n}' for i, n in enumerate(given[:k])] + names[len(given):]
    for i in range(min(k, s.num_properties)):
        idx = np.flatnonzero(s.text_cluster == i)
        if len(idx):
            best = idx[np.argmax(s.text_score[idx])]
            names[i] = f'p{i}: {s.texts[best]}'
    return names


def load_segmentor(config: str, checkpoint: str, categories: str | None = None,
                   classes: Sequence[str] | None = None, device: str = 'cpu',
                   cfg_options: dict | None = None) -> tuple[torch.nn.Module, bool]:
    """Build + load a segmentor; returns ``(model, is_prolab)``.

    ``categories`` (a property-space file) / ``classes`` (a subset of it) swap a ProLab model's
    inference bank; category-supervised models have a fixed category set and refuse them.
    """
    from mmseg.apis import init_model

    from prolab_seg import apis
    from prolab_seg.models.prolab import PropertyHead, set_inference_categories
    apis.check_checkpoint(checkpoint)
    model = init_model(config, checkpoint, device=device, cfg_options=cfg_options)
    is_prolab = isinstance(model.decode_head, PropertyHead)
    if categories or classes:
        if not is_prolab:
            raise ValueError('categories/classes need a ProLab (PropertyHead) model; '
                             'category-supervised models have a fixed category set')
        bank = categories or model.cfg.model.decode_head.get(
            'test_property_space') or model.cfg.model.decode_head.property_space
        set_inference_categories(model, bank, classes)
    elif is_prolab:
        h = model.decode_head
        meta = dict(getattr(model, 'dataset_meta', None) or {})
        if list(meta.get('classes', [])) != h.test_class_names:
            meta = dict(classes=tuple(h.test_class_names))
        model.dataset_meta = meta
    return model, is_prolab


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


def segment_images(model: torch.nn.Module, is_prolab: bool, images: Sequence[str], out_dir: str,
                   top_k: int = 6) -> list[dict]:
    """Segment ``images`` and write, per image, into ``out_dir``:

    ``<stem>_mask.png`` (colour mask), ``<stem>_labels.png`` (uint8 category index),
    ``<stem>.json`` (categories present with pixel share and, for ProLab, the properties that
    fired most on their pixels) and, for ProLab, ``<stem>_properties.png`` (input, prediction,
    strongest property per pixel, activation maps of the ``top_k`` most active properties).
    Returns the per-image summaries. Every image is checked before anything is written.
    """
    from mmseg.apis.inference import _preprare_data
    from PIL import Image

    classes = list(model.dataset_meta['classes'])
    palette = palette_for(len(classes), model.dataset_meta.get('palette'))
    prop_names = None
    if is_prolab:
        space = model.cfg.model.decode_head.property_space
        prop_names = property_names(space, model.decode_head.num_properties)
    for path in images:
        check_image(path)
    os.makedirs(out_dir, exist_ok=True)
    summaries = []
    for path in images:
        stem = osp.splitext(osp.basename(path))[0]
        data, _ = _preprare_data(path, model)
        with torch.no_grad():
            result = model.test_step(data)[0]
            pred = result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
            act = None
            if is_prolab:
                batch = model.data_preprocessor(data, False)
                feats = model.extract_feat(batch['inputs'])
                act = model.decode_head.property_activations(feats)
                act = F.interpolate(act, size=pred.shape, mode='bilinear',
                                    align_corners=model.decode_head.align_corners)[0]
        Image.fromarray(palette[pred]).save(osp.join(out_dir, f'{stem}_mask.png'))
        Image.fromarray(pred).save(osp.join(out_dir, f'{stem}_labels.png'))
        summary = dict(image=path, categories={})
        ids, counts = np.unique(pred, return_counts=True)
        for c, n in sorted(zip(ids.tolist(), counts.tolist()), key=lambda t: -t[1]):
            entry = dict(pixel_share=round(n / pred.size, 4))
            if act is not None:
                mean = act[:, torch.from_numpy(pred == c)].mean(1).cpu().numpy()
                top = np.argsort(-mean)[:5]
                entry['top_properties'] = [
                    dict(property=int(k), name=prop_names[k], activation=round(float(mean[k]), 3))
                    for k in top]
            summary['categories'][classes[c]] = entry
        with open(osp.join(out_dir, f'{stem}.json'), 'w') as f:
            json.dump(summary, f, indent=2)
        if act is not None:
            draw_properties(path, pred, act.cpu().numpy(), classes, palette, prop_names,
                            top_k, osp.join(out_dir, f'{stem}_properties.png'))
        summaries.append(summary)
    return summaries


def draw_properties(path, pred, act, classes, palette, prop_names, top_k, out):
    """The interpretability picture of one image (see :func:`segment_images`)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from PIL import Image

    img = np.asarray(Image.open(path).convert('RGB').resize(pred.shape[::-1]))
    strongest = act.argmax(0)
    used = [int(k) for k in np.unique(strongest)]
    rng = np.random.default_rng(7)
    pcol = rng.integers(32, 256, (act.shape[0], 3), dtype=np.uint8)
    order = np.argsort(-act.mean((1, 2)))[:top_k]
    ncols = max(3, len(order))
    fig, axes = plt.subplots(2, ncols, figsize=(3.2 * ncols, 7.5), squeeze=False)
    for ax in axes.ravel():
        ax.axis('off')
    axes[0, 0].imshow(img)
    axes[0, 0].set_title('input')
    axes[0, 1].imshow(palette[pred])
    axes[0, 1].set_title('prediction')
    axes[0, 1].legend(handles=[Patch(color=palette[c] / 255, label=classes[c])
                               for c in np.unique(pred)], loc='upper left',
                      bbox_to_anchor=(0, -0.02), fontsize=7, frameon=False)
    axes[0, 2].imshow(pcol[strongest])
    axes[0, 2].set_title('strongest property per pixel')
    axes[0, 2].legend(handles=[Patch(color=pcol[k] / 255, label=prop_names[k][:60])
                               for k in used], loc='upper left', bbox_to_anchor=(0, -0.02),
                      fontsize=6, frameon=False)
    for j, k in enumerate(order):
        axes[1, j].imshow(act[k], vmin=0, vmax=max(1e-6, float(act.max())), cmap='magma')
        axes[1, j].set_title('\n'.join([prop_names[k][i:i + 34]
                                        for i in range(0, min(len(prop_names[k]), 68), 34)]),
                             fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
