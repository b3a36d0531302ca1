"""prolab-seg's own registries (mmengine ``Registry``), beside the mmseg ones it registers into.

* ``LABEL_SPACES``  -- what a ``PropertyHead`` matches pixels against (``LabelSpace`` kinds);
* ``TEXT_ENCODERS`` -- sentence encoders that embed descriptions and category names.

A new label-space kind or encoder is a new registered class; configs select it by ``type``.
``LABEL_SPACES.build`` also takes a path, a list (concatenated) or a space object.
"""
from mmengine.registry import Registry


#: Its ``build_func`` (:func:`prolab_seg.properties.label_space.build_label_space`) is set by
#: that module, which defines the kinds the builder needs (no import back from here).
LABEL_SPACES = Registry('label space', locations=['prolab_seg.properties'])
TEXT_ENCODERS = Registry('text encoder', locations=['prolab_seg.properties.encoders'])
