"""``PropertySegLocalVisualizer``: mmseg's segmentation drawing plus the property panels."""
from __future__ import annotations

import textwrap
from typing import Optional

import mmcv
import numpy as np
from mmengine.dist import master_only
from mmengine.structures import PixelData
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

from prolab_seg.image_maps import image_maps


def distinctive_properties(act: np.ndarray, seg: np.ndarray,
                           top_k: int) -> list[tuple[int, int, float, float]]:
    """Up to ``top_k`` ``(property, category, mean on the category, mean elsewhere)``, distinct
    properties, each more active (by over 1e-6) on the pixels of a category of ``seg``
    (``[H, W]`` label map) than on the other pixels (``act``: ``[K, H, W]``). The categories
    take turns, the one with the largest such difference first, each giving its properties by
    decreasing difference. A category covering the whole image ranks by its mean (``mean
    elsewhere`` is NaN)."""
    ranked = []
    for c in np.unique(seg):
        inside = seg == c
        mean_in = act[:, inside].mean(1)
        mean_out = act[:, ~inside].mean(1) if not inside.all() else np.full(len(act), np.nan)
        gain = mean_in - np.nan_to_num(mean_out)
        order = [k for k in np.argsort(-gain, kind='stable') if gain[k] > 1e-6]
        ranked.append([(int(k), int(c), float(mean_in[k]), float(mean_out[k]))
                       for k in order])
    ranked.sort(key=lambda r: -(r[0][2] - np.nan_to_num(r[0][3])) if r else 0.0)
    out, taken = [], set()
    for depth in range(len(act)):
        for row in ranked:
            if len(out) < top_k and depth < len(row) and row[depth][0] not in taken:
                taken.add(row[depth][0])
                out.append(row[depth])
    return out


@VISUALIZERS.register_module()
class PropertySegLocalVisualizer(SegLocalVisualizer):
    """:class:`~mmseg.visualization.SegLocalVisualizer` that also shows why a ProLab model
    predicted what it did.

    A data sample holding ``property_activations`` (``[K, h, w]``, metainfo
    ``property_names``; at the image size, or at the model's output resolution with the
    ``resize`` plan of :func:`prolab_seg.apis.inference.predict`) is drawn as one picture. Top row:
    the input, the ground truth if the sample has one and the prediction (each a colour overlay
    as mmseg draws it, without labels inside), then a legend beside them (colour swatch and
    name of every category in either). Bottom row: the activation maps of ``top_k``
    properties, on one shared colour scale (one colour bar): by turns, for each predicted
    category, the properties most distinctive of its region (:func:`distinctive_properties`),
    each titled with its name, that category and its mean there and elsewhere. Every image and
    map is drawn at most ``panel_size`` pixels a side (larger images are scaled down first,
    the maps brought straight to that size), so a large image costs no more memory than a
    small one. After drawing, ``self.layout`` records what was drawn where (see
    :meth:`draw_properties`). Other samples are drawn as mmseg draws them.

    Args:
        top_k: how many activation maps to draw.
        font_size: points of the titles and legend (the map titles one point less).
        panel_inches: width of one image panel.
        panel_size: longest side, in pixels, of the images and maps drawn.
        **kwargs: :class:`~mmseg.visualization.SegLocalVisualizer` arguments.
    """

    def __init__(self, name: str = 'visualizer', top_k: int = 6, font_size: float = 11,
                 panel_inches: float = 2.8, panel_size: int = 512, **kwargs):
        super().__init__(name, **kwargs)
        self.top_k = top_k
        self.font_size = font_size
        self.panel_inches = panel_inches
        self.panel_size = panel_size
        self.layout: dict = {}

    @master_only
    def add_datasample(self, name: str, image: np.ndarray,
                       data_sample: Optional[SegDataSample] = None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       out_file: Optional[str] = None, step: int = 0,
                       with_labels: Optional[bool] = True) -> None:
        """As :meth:`SegLocalVisualizer.add_datasample`; the property picture (RGB ``image``)
        when ``data_sample`` holds ``property_activations`` (``with_labels`` then unused: its
        legend is outside the images)."""
        if data_sample is None or 'property_activations' not in data_sample:
            super().add_datasample(name, image, data_sample, draw_gt, draw_pred, show,
                                   wait_time, out_file, step, with_labels)
            return
        drawn = self.draw_properties(image, data_sample, draw_gt, draw_pred)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)

    def _get_center_loc(self, mask: np.ndarray) -> np.ndarray:
        """Where mmseg writes a label: the middle pixel of the row of ``mask`` with the most
        pixels (the first such row), as mmseg's, without its list of every pixel."""
        rows = mask.sum(1)
        y = int(rows.argmax())
        cols = np.flatnonzero(mask[y])
        return np.array([cols[len(cols) // 2], y])

    def _overlay(self, image: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """mmseg's colour overlay of ``labels`` (``[1, h, w]`` at ``image``'s size; values
        outside the classes, e.g. 255, left as the image), without labels."""
        # as numpy: mmseg indexes its mask with sem_seg == label, which a one-pixel tensor
        # turns into an integer index
        return self._draw_sem_seg(image, PixelData(data=labels), self.dataset_meta['classes'],
                                  self.dataset_meta['palette'], with_labels=False)

    def draw_properties(self, image: np.ndarray, data_sample: SegDataSample,
                        draw_gt: bool = True, draw_pred: bool = True) -> np.ndarray:
        """The property picture (see the class docstring) of an RGB ``[H, W, 3]`` image, as an
        RGB array. Records ``self.layout``: ``panels`` (top-row titles), ``legend`` (category
        names), ``sizes`` (``(h, w)`` pixels drawn of each image panel, then of each map),
        ``properties`` / ``categories`` (per map: property index, the category it is
        distinctive of), ``clims`` (per map, its colour scale's limits: one
        shared scale, the shown maps' minimum and maximum) and ``boxes``
        (``{element: (x0, y0, x1, y1)}`` in pixels of the picture, origin bottom left: every
        image area ``image:<title>`` / ``map:<i>``, every title ``title:<...>``, the
        ``legend`` and the ``colorbar`` with its ticks and label)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import Normalize
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch

        classes, palette = self.dataset_meta['classes'], self.dataset_meta['palette']
        activations = data_sample.property_activations.cpu()
        names = activations.property_names
        scale = min(1.0, self.panel_size / max(image.shape[:2]))
        h, w = [max(1, round(n * scale)) for n in image.shape[:2]]
        act = image_maps(activations, (h, w)).numpy()
        if image.shape[:2] != (h, w):
            image = mmcv.imresize(image, (w, h), interpolation='area')
        panels, shown, seg = [('input', image)], set(), np.zeros((h, w), np.int64)
        for key, title, wanted in (('gt_sem_seg', 'ground truth', draw_gt),
                                   ('pred_sem_seg', 'prediction', draw_pred)):
            if key not in data_sample:
                continue
            full = getattr(data_sample, key).cpu().data.numpy().astype(np.int64)  # [1, H, W]
            rows, cols = (np.arange(n) * N // n for n, N in zip((h, w), full.shape[1:]))
            labels = full[:, rows[:, None], cols[None, :]]  # nearest, at the drawn size
            if key == 'pred_sem_seg':
                seg = labels[0]
            if wanted:
                panels.append((title, self._overlay(image, labels)))
                shown.update(np.flatnonzero(np.bincount(full[full >= 0])).tolist())
        legend = [c for c in sorted(shown) if c < len(classes)]
        picks = distinctive_properties(act, seg, self.top_k)
        maps = act[[k for k, *_ in picks]]
        low, high = (float(maps.min()), float(maps.max())) if picks else (0.0, 1.0)
        norm = Normalize(low, max(high, low + 1e-6))

        p = self.panel_inches
        aspect = image.shape[0] / image.shape[1]
        legend_cols = max(1, -(-len(legend) // 14))  # 14 entries a column
        width = max(p * (len(panels) + 1.2 * legend_cols), p * len(picks) + 1.2)
        heights = [p * aspect + 0.6, p * aspect + 1.5]  # room for 1 and up to 5 title lines
        fig = Figure(figsize=(width, sum(heights)), dpi=100, layout='constrained')
        FigureCanvasAgg(fig)
        top, bottom = fig.subfigures(2, 1, height_ratios=heights)
        ratios = [1] * len(panels) + [1.2 * legend_cols]
        spare = len(picks) - sum(ratios)  # a blank column: top panels as wide as the maps
        axes = top.subplots(1, len(ratios) + (spare > 0),
                            width_ratios=ratios + [spare] * (spare > 0))
        for ax in axes:
            ax.axis('off')
        for ax, (title, img) in zip(axes, panels):
            ax.imshow(img, interpolation='nearest')
            ax.set_title(title, fontsize=self.font_size)
        handles = [Patch(facecolor=np.asarray(palette[c]) / 255, edgecolor='0.3',
                         label=classes[c]) for c in legend]
        leg = axes[len(panels)].legend(
            handles=handles, loc='center left', fontsize=self.font_size, title='categories',
            title_fontsize=self.font_size, ncols=legend_cols, frameon=False, handlelength=1.4)
        map_axes = bottom.subplots(1, max(len(picks), 1), squeeze=False)[0]
        for ax, (k, c, mean_in, mean_out), m in zip(map_axes, picks, maps):
            ax.imshow(m, norm=norm, cmap='viridis', interpolation='nearest')
            wrapped = textwrap.wrap(names[k], 34)
            where = (f'{classes[c] if c < len(classes) else c}: {mean_in:.2f}'
                     + ('' if np.isnan(mean_out) else f', elsewhere {mean_out:.2f}'))
            ax.set_title('\n'.join(wrapped[:3]) + ('...' if len(wrapped) > 3 else '') + '\n'
                         + '\n'.join(textwrap.wrap(where, 34)), fontsize=self.font_size - 1)
        for ax in map_axes:
            ax.axis('off')
        bar = None
        if picks:  # one colour bar, as tall as the maps, right of the last
            last = map_axes[len(picks) - 1]
            bar = bottom.colorbar(last.images[0], cax=last.inset_axes([1.06, 0, 0.06, 1]))
            bar.set_label('property activation', fontsize=self.font_size - 1)
            bar.ax.tick_params(labelsize=self.font_size - 2)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        boxes = {'legend': leg.get_window_extent(renderer)}
        for i, ax in enumerate(list(axes[:len(panels)]) + list(map_axes[:len(picks)])):
            key = f'image:{panels[i][0]}' if i < len(panels) else f'map:{i - len(panels)}'
            boxes[key] = ax.get_window_extent(renderer)
            boxes[f'title:{key}'] = ax.title.get_window_extent(renderer)
        if bar is not None:
            boxes['colorbar'] = bar.ax.get_tightbbox(renderer)
        self.layout = dict(
            panels=[t for t, _ in panels], legend=[classes[c] for c in legend],
            sizes=[ax.images[0].get_array().shape[:2]
                   for ax in list(axes[:len(panels)]) + list(map_axes[:len(picks)])],
            properties=[k for k, *_ in picks], categories=[c for _, c, *_ in picks],
            clims=[tuple(float(v) for v in ax.images[0].get_clim())
                   for ax in map_axes[:len(picks)]],
            boxes={k: tuple(float(v) for v in b.extents) for k, b in boxes.items()})
        return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
