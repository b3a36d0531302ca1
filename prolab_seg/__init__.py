"""prolab-seg: language-property label spaces (ProLab) and expand-and-quantize (EQUSS) on mmseg.

``import prolab_seg`` applies the stack patches in :mod:`prolab_seg.compat` (before mmseg is
imported) and registers every prolab-seg module into mmseg's registries. Configs load it with
``custom_imports = dict(imports=['prolab_seg'], allow_failed_imports=False)``.
"""
from . import compat

compat.apply()

from . import datasets  # noqa: E402,F401  (registers datasets)
from . import models  # noqa: E402,F401  (registers models, losses, ProLab's hook)
from . import engine  # noqa: E402,F401  (registers generic hooks)
from . import evaluation  # noqa: E402,F401  (registers metrics)
from . import visualization  # noqa: E402,F401  (registers the visualizer)

__version__ = '0.1.0'
