"""Small helpers with no dependency on the rest of prolab-seg (as mmseg's ``utils``)."""
from .numeric import l2_normalize

__all__ = ['l2_normalize']
