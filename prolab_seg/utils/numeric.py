"""Numeric helpers shared by label spaces, clustering and evaluation (numpy in, numpy out)."""
from __future__ import annotations

import numpy as np


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """``x[..., E]`` with every vector along the last axis L2-normalised, as float32 (zero
    vectors stay zero). ``np.linalg.norm`` rather than ``sklearn.preprocessing.normalize``:
    the latter differs in the last bits, which changes the trained benchmark numbers."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), eps)
