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


@VISUALIZERS.register_module()
class PropertySegLocalVisualizer(SegLocalVisualizer):
    """:class:`~mmseg.visualization.SegLocalVisualizer` that also shows why a ProLab model
    predicted what it did.

    A data sample holding ``property_activations`` (``[K, h, w]``, metainfo
    ``property_names``; at the image size, or at the model's output resolution with the
    ``resize`` plan of :func:`prolab_seg.segment.predict`) is drawn as one picture: the input,
    the ground truth if any and the prediction (drawn as mmseg draws them, with a legend), the
    strongest property at each pixel, and the activation maps of the ``top_k`` most active
    properties, each property named. Every panel is drawn at most ``panel_size`` pixels a side
    (the panels are about 290 pixels wide), so a large image costs no more memory than a small
    one. Other samples are drawn as mmseg draws them.

    Args:
        top_k: how many activation maps to draw.
        panel_size: longest side of the panels drawn (larger images are scaled down).
        **kwargs: :class:`~mmseg.visualization.SegLocalVisualizer` arguments.
    """

    def __init__(self, name: str = 'visualizer', top_k: int = 6, panel_size: int = 512,
                 **kwargs):
        super().__init__(name, **kwargs)
        self.top_k = top_k
        self.panel_size = panel_size

    @master_only
    def add_datasample(self, name: str, image: np.ndarray,
                       data_sample: Optional[SegDataSample] = None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       out_file: Optional[str] = None, step: int = 0,
                       with_labels: Optional[bool] = True) -> None:
        """As :meth:`SegLocalVisualizer.add_datasample`; the property picture (RGB ``image``)
        when ``data_sample`` holds ``property_activations``."""
        if data_sample is None or 'property_activations' not in data_sample:
            super().add_datasample(name, image, data_sample, draw_gt, draw_pred, show,
                                   wait_time, out_file, step, with_labels)
            return
        drawn = self.draw_properties(image, data_sample, draw_gt, draw_pred, with_labels)
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

    def _seg_panel(self, title: str, image: np.ndarray, sem_seg: PixelData,
                   with_labels: bool) -> tuple:
        """``(title, mmseg's drawing of sem_seg over image, legend entries)``; ``image`` may be
        a downscaled copy: ``sem_seg`` is drawn at its size (nearest), the legend names every
        label present at full size."""
        classes, palette = self.dataset_meta['classes'], self.dataset_meta['palette']
        full = sem_seg.cpu().data.numpy().astype(np.int64)  # [1, H, W]
        (h, w), (H, W) = image.shape[:2], full.shape[1:]
        rows, cols = np.arange(h) * H // h, np.arange(w) * W // w
        # as numpy: mmseg indexes its mask with sem_seg == label, which a one-pixel tensor
        # turns into an integer index
        labels = PixelData(data=full[:, rows[:, None], cols[None, :]])
        drawn = self._draw_sem_seg(image, labels, classes, palette, with_labels)
        ids = np.flatnonzero(np.bincount(full[full >= 0]))
        return title, drawn, [(classes[c], palette[c]) for c in ids if c < len(classes)]

    def draw_properties(self, image: np.ndarray, data_sample: SegDataSample,
                        draw_gt: bool = True, draw_pred: bool = True,
                        with_labels: bool = True) -> np.ndarray:
        """The property picture (see the class docstring) of an RGB ``[H, W, 3]`` image, as an
        RGB array."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch

        maps = data_sample.property_activations.cpu()
        names = maps.property_names
        scale = self.panel_size / max(image.shape[:2])
        size = [max(1, round(n * min(1.0, scale))) for n in image.shape[:2]]
        act = image_maps(maps, size).numpy()
        if list(image.shape[:2]) != size:
            image = mmcv.imresize(image, (size[1], size[0]), interpolation='area')
        panels = [('input', image, [])]
        if draw_gt and 'gt_sem_seg' in data_sample:
            panels.append(self._seg_panel('ground truth', image, data_sample.gt_sem_seg,
                                          with_labels))
        if draw_pred and 'pred_sem_seg' in data_sample:
            panels.append(self._seg_panel('prediction', image, data_sample.pred_sem_seg,
                                          with_labels))
        strongest = act.argmax(0)
        colours = np.random.default_rng(7).integers(32, 256, (len(act), 3), dtype=np.uint8)
        panels.append(('strongest property per pixel', colours[strongest],
                       [(names[i][:60], colours[i]) for i in np.unique(strongest)]))
        order = np.argsort(-act.mean((1, 2)))[:self.top_k]

        ncols = max(len(panels), len(order))
        fig = Figure(figsize=(3.2 * ncols, 7.5), dpi=90)
        FigureCanvasAgg(fig)
        axes = fig.subplots(2, ncols, squeeze=False)
        for ax in axes.ravel():
            ax.axis('off')
        for ax, (title, img, legend) in zip(axes[0], panels):
            ax.imshow(img)
            ax.set_title(title)
            if legend:
                ax.legend(handles=[Patch(color=np.asarray(c) / 255, label=label)
                                   for label, c in legend],
                          loc='upper left', bbox_to_anchor=(0, -0.02), fontsize=6, frameon=False)
        vmax = max(1e-6, float(act.max()))
        for ax, i in zip(axes[1], order):
            ax.imshow(act[i], vmin=0, vmax=vmax, cmap='magma')
            ax.set_title('\n'.join(textwrap.wrap(names[i], 34)[:2]), fontsize=7)
        fig.tight_layout()
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
