"""prolab-seg model parts, registered into mmseg's ``MODELS`` on import."""
from . import backbones, equss, iic, prolab  # noqa: F401
