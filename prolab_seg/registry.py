"""prolab-seg's own registries (mmengine ``Registry``), beside the mmseg ones it registers into.

* ``LABEL_SPACES``  -- what a ``PropertyHead`` matches pixels against (``LabelSpace`` kinds);
* ``TEXT_ENCODERS`` -- sentence encoders that embed descriptions and category names.

A new label-space kind or encoder is a new registered class; configs select it by ``type``.
``LABEL_SPACES.build`` also takes a path, a list (concatenated) or a space object.
"""
from mmengine.registry import Registry


def _build_label_space(cfg, registry, default_args=None):
    """``LABEL_SPACES.build``: :func:`prolab_seg.properties.label_space.build_label_space`
    (imported here when first used: that module registers into ``LABEL_SPACES``)."""
    from prolab_seg.properties.label_space import build_label_space
    return build_label_space(cfg, registry, default_args)


LABEL_SPACES = Registry('label space', build_func=_build_label_space,
                        locations=['prolab_seg.properties'])
TEXT_ENCODERS = Registry('text encoder', locations=['prolab_seg.properties.encoders'])
