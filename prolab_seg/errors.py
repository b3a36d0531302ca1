"""The base of prolab-seg's own error types.

Every error prolab-seg raises for bad user input (a file, a field, a flag) derives from
:class:`ProlabError` as well as from the built-in type callers already catch (``ValueError``,
``RuntimeError``); its message is one line naming the file or field at fault, so the CLIs
(:mod:`prolab_seg.cli`) print it as it is, without a traceback.
"""
from __future__ import annotations


class ProlabError(Exception):
    """Bad input to prolab-seg; the message names the file or field at fault."""
