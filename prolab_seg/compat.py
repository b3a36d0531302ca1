"""The only patches prolab-seg applies to the OpenMMLab stack (torch 2.13, numpy 2, Python 3.11).

Applied once by ``import prolab_seg``; nothing in site-packages is edited.

1. ``mmcv._ext`` stand-in. With the pure-Python ``mmcv-lite`` wheel, mmseg 1.2.2 cannot be
   imported at all: ``mmseg/utils/mask_classification.py`` runs ``from mmcv.ops import
   point_sample`` at module top, and ``mmcv.ops`` loads the compiled ``mmcv._ext``. We register
   a module under that name whose attributes are callables that raise a ``RuntimeError``
   naming the op and the remedy. Every mmseg family that needs no compiled op (FCN, PSP,
   DeepLabV3/V3+, UPerNet, SegFormer, Swin, ViT, ...) then imports and trains; PSANet, DCN,
   CARAFE, roi ops fail loudly when *called*. Inert when full mmcv (with ``_ext``) is
   installed: the real module is found first and nothing is registered.
2. Safe checkpoint loading. torch >= 2.6 loads with ``weights_only=True``; mmengine 0.10.7
   checkpoints (``resume``) contain ``HistoryBuffer`` and numpy scalars/arrays. We keep the
   safe loader and allow-list exactly those classes instead of turning it off. A
   ``HistoryBuffer`` also pickles its bound statistics methods (``getattr`` globals, which must
   never be allow-listed); it now pickles only its data and re-registers the methods on load.
3. torchrun on a CPU-only torch: mmengine's pytorch launcher calls ``torch.cuda.set_device``
   before ``init_process_group`` even for the gloo backend, which raises without CUDA. When no
   CUDA device exists, ``set_device`` becomes a no-op (there is no device to select).
4. ``pkg_resources``: mmengine resolves ``mmseg::`` base configs through it, and
   setuptools >= 82 removed it. The install pins ``setuptools>=77.0.3,<81``;
   :func:`check_pkg_resources` turns the obscure failure into a clear message.

The oldest torch this works with is ``MIN_TORCH`` (2.4: ``torch.serialization.add_safe_globals``,
which patch 2 needs, appeared there); ``pyproject.toml`` states the same floor and
:func:`check_torch` refuses an older torch by name.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import sys
import types

STUB_NAME = 'mmcv._ext'
#: The oldest torch prolab-seg supports (``torch.serialization.add_safe_globals``).
MIN_TORCH = (2, 4)
_applied = False


class MissingCompiledOpError(RuntimeError):
    """Raised when a compiled mmcv op is called while only mmcv-lite is installed."""


def _missing_op(name: str):
    def op(*args, **kwargs):
        raise MissingCompiledOpError(
            f"mmcv compiled op '{name}' is not available: mmcv-lite (no compiled ops) is "
            "installed. Models using it (PSANet, DCN/DCNv2, CARAFE, roi ops, mmcv SyncBN) "
            "need full mmcv: run `bash tools/install.sh --full-mmcv`.")
    op.__name__ = name
    return op


class _MissingExtModule(types.ModuleType):
    """Module object whose every public attribute is a raising stand-in op."""

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        return _missing_op(name)


def full_mmcv_available() -> bool:
    """True when the real compiled ``mmcv._ext`` is importable (full mmcv installed)."""
    mod = sys.modules.get(STUB_NAME)
    if isinstance(mod, _MissingExtModule):
        return False
    try:
        return importlib.util.find_spec(STUB_NAME) is not None
    except (ImportError, ValueError):
        return False


def install_mmcv_ext_stub() -> bool:
    """Register the stand-in ``mmcv._ext`` if the real one is missing. Returns True if done."""
    if STUB_NAME in sys.modules or full_mmcv_available():
        return False
    stub = _MissingExtModule(STUB_NAME, 'prolab-seg stand-in for the compiled mmcv ops')
    # A real ModuleSpec: mmengine's mmcv_full_available() calls pkgutil.find_loader on it.
    stub.__spec__ = importlib.machinery.ModuleSpec(STUB_NAME, loader=None)
    sys.modules[STUB_NAME] = stub
    return True


def _history_buffer_getstate(self) -> dict:
    return {k: v for k, v in self.__dict__.items() if 'statistics_methods' not in k}


def _history_buffer_setstate(self, state: dict) -> None:
    self.__dict__.update(state)
    self._set_default_statistics()


def allow_mmengine_checkpoint_classes() -> None:
    """Allow-list the non-tensor objects mmengine writes into checkpoints for weights_only load."""
    import numpy as np
    import torch
    from mmengine.logging.history_buffer import HistoryBuffer
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    HistoryBuffer.__setstate__ = _history_buffer_setstate
    kinds = ('float64', 'float32', 'float16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool')
    torch.serialization.add_safe_globals(
        [HistoryBuffer, np.ndarray, np.dtype, _reconstruct, scalar, bytes]
        + [type(np.dtype(k)) for k in kinds] + [np.dtype(k).type for k in kinds])


def check_pkg_resources() -> None:
    """Fail clearly if ``pkg_resources`` (needed for ``mmseg::`` base configs) is missing."""
    if importlib.util.find_spec('pkg_resources') is None:  # find only: importing it warns
        raise ImportError(
            "pkg_resources is missing (setuptools >= 82 removed it); mmengine needs it to "
            "resolve 'mmseg::' base configs. Run: pip install 'setuptools>=77.0.3,<81'")


def check_torch(version: str | None = None) -> None:
    """Fail clearly if torch (``version``, default: the installed one) is older than
    ``MIN_TORCH``."""
    import torch
    version = torch.__version__ if version is None else version
    found = tuple(int(part) for part in re.findall(r'\d+', version)[:2])
    if found < MIN_TORCH:
        raise ImportError(f'prolab-seg needs torch >= {".".join(map(str, MIN_TORCH))} '
                          f'(torch.serialization.add_safe_globals, for safe checkpoint loading); '
                          f'torch {version} is installed: pip install "torch>=2.4"')


def check_mmcv() -> None:
    """Fail clearly if no mmcv distribution is installed."""
    if importlib.util.find_spec('mmcv') is None:
        raise ImportError("mmcv is not installed: run `bash tools/install.sh` (mmcv-lite wheel) "
                          "or `bash tools/install.sh --full-mmcv` (compiled ops)")


def allow_cpu_only_distributed() -> None:
    """Make ``torch.cuda.set_device`` a no-op when torch sees no CUDA device (gloo on CPU)."""
    import torch
    if not torch.cuda.is_available():
        torch.cuda.set_device = lambda device: None


def apply() -> None:
    """Apply all patches once, before mmseg is imported."""
    global _applied
    if _applied:
        return
    check_torch()
    check_mmcv()
    check_pkg_resources()
    install_mmcv_ext_stub()
    allow_mmengine_checkpoint_classes()
    allow_cpu_only_distributed()
    _applied = True
