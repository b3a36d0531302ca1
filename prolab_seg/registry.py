"""prolab-seg's own registries (mmengine ``Registry``), beside the mmseg ones it registers into.

* ``LABEL_SPACES``  -- what a ``PropertyHead`` matches pixels against (``LabelSpace`` kinds);
* ``TEXT_ENCODERS`` -- sentence encoders that embed descriptions and category names.

A new label-space kind or encoder is a new registered class; configs select it by ``type``.
"""
from mmengine.registry import Registry

LABEL_SPACES = Registry('label space', locations=['prolab_seg.properties'])
TEXT_ENCODERS = Registry('text encoder', locations=['prolab_seg.properties.encoders'])
