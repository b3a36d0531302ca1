"""Per-attribute probe: does a model's per-pixel representation encode each visual attribute
(colour, texture, shape, ...) on categories it never saw? A linear classifier per attribute type
(logistic regression) is fitted on seen-category pixels and scored on unseen-category pixels."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .unsupervised import linear_probe

#: Attribute types probed by default (appearance: what a single pixel's context shows).
PROBED_TYPES = ('color', 'texture', 'shape')


def attribute_probe(train_x: np.ndarray, train_class: np.ndarray, test_x: np.ndarray,
                    test_class: np.ndarray, attributes: Sequence[Mapping[str, str]],
                    types: Sequence[str] = PROBED_TYPES, seed: int = 0) -> dict[str, float]:
    """Accuracy (%) per attribute type of a linear probe (:func:`.unsupervised.linear_probe`).

    Args:
        train_x, test_x: ``[N, D]`` / ``[M, D]`` pixel features (e.g. property activations).
        train_class, test_class: ``[N]`` / ``[M]`` category index of each pixel.
        attributes: per category index, its ``{type: value}`` (``Category.attributes()``).
        types: attribute types to probe (categories without the type are skipped); a test
            pixel whose value never occurs in training counts as wrong.
    """
    out = {}
    for t in types:
        values = [a.get(t) for a in attributes]
        known = sorted({values[c] for c in np.unique(train_class)} - {None})
        if len(known) < 2:
            continue
        ids = np.array([known.index(v) if v in known else -1 for v in values])
        keep_te = np.array([values[c] is not None for c in test_class], bool)
        if not keep_te.any():
            continue
        y_tr, y_te = ids[train_class], ids[test_class][keep_te]
        keep_tr = y_tr >= 0
        unknown = y_te < 0  # a value never seen in training: always wrong
        acc = 0.0
        if (~unknown).any():
            acc = linear_probe(train_x[keep_tr], y_tr[keep_tr], test_x[keep_te][~unknown],
                               y_te[~unknown], num_classes=len(known),
                               seed=seed)['acc'] * (~unknown).mean()
        out[t] = float(acc * 100)
    return out
