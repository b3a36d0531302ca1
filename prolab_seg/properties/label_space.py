"""``LabelSpace``: what a ``PropertyHead`` is trained on and matches pixels against.

A label space holds, for C categories,

* ``class_names`` -- C names, in dataset order;
* ``vectors``     -- ``[C, K]`` float32 target vectors;
* ``centroids``   -- ``[K, E]`` L2-normalised directions the head projects its E-d pixel
  embedding onto, or ``None`` (the head regresses the K-d target directly, K == E);
* ``meta``        -- provenance (embedding model, sources, num_classes, ...), kept true by
  :meth:`~LabelSpace.subset` and :meth:`~LabelSpace.concat`.

Kinds are registered classes in ``prolab_seg.registry.LABEL_SPACES``, each with its own
format tag and activation: :class:`~prolab_seg.properties.space.PropertySpace` (ProLab,
k-means of description embeddings), :class:`AttributeSpace` (one property per known attribute
value: an oracle), :class:`NameEmbeddingSpace` (the sentence embedding of each category name).
A new kind is a new subclass. ``LABEL_SPACES.build`` (:func:`build_label_space`) turns a path,
a config dict (``dict(type='PropertySpace', path='space.npz')``), a list (concatenated) or a
space into one.

One file format for every kind (:meth:`LabelSpace.save`): a compressed ``.npz`` (no pickle)
holding ``class_names``, ``vectors``, ``centroids`` (if any), the kind's own
:meth:`~LabelSpace.extra_arrays` and ``meta`` (JSON) with the kind's ``format`` tag and a
``content_sha256`` checked on load. Files of the earlier layout of the kinds other than
``PropertySpace`` (a ``format`` array, uncompressed, no hash) still load.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import os.path as osp
import zipfile
import zlib
from pathlib import Path
from typing import Any, ClassVar, Optional, Sequence, Union

import numpy as np
from mmengine.registry import Registry, build_from_cfg

from prolab_seg.errors import ProlabError
from prolab_seg.registry import LABEL_SPACES
from prolab_seg.utils import l2_normalize

from .files import atomic_write_bytes, check_outputs
from .names import category_names

#: Two spaces share their centroids (concat, inference bank swap, checkpoint check) when every
#: entry agrees within this absolute tolerance.
CENTROID_ATOL = 1e-5
#: Meta keys that describe one file's content and do not survive subset / concat.
_CONTENT_KEYS = ('content_sha256', 'timing')
#: The array that held the format tag in the earlier layout (uncompressed, no content hash)
#: of the kinds other than ``PropertySpace``; a file holding it is read as that layout.
LEGACY_FORMAT_ARRAY = 'format'


class LabelSpaceError(ProlabError, ValueError):
    """A label space (file, config or arrays) cannot be used; the message names its source."""


class LabelSpace:
    """C categories as ``[C, K]`` target vectors, with optional ``[K, E]`` centroids.

    Args:
        class_names: C distinct category names.
        vectors: ``[C, K]`` target vectors.
        centroids: ``[K, E]`` L2-normalised projection, or ``None`` (identity, K == E).
        meta: provenance.
        source: where it was loaded from (error messages).
    """

    #: File format tag written into (and recognised in) saved ``.npz`` files.
    FORMAT: ClassVar[str] = ''
    #: Constructor arguments a kind saves as arrays of its own (:meth:`extra_arrays`) beside
    #: the common ones; :meth:`from_arrays` passes them back by these names.
    EXTRA_ARRAYS: ClassVar[tuple[str, ...]] = ()
    #: Activation of the head's K outputs before matching: ``'sigmoid'`` or ``'none'``.
    activation: ClassVar[str] = 'sigmoid'

    def __init__(self, class_names: Sequence[str], vectors: np.ndarray,
                 centroids: Optional[np.ndarray] = None, meta: Optional[dict] = None,
                 source: str = '<memory>'):
        self.class_names = category_names(class_names, f'label space {source}', LabelSpaceError)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.centroids = None if centroids is None else np.asarray(centroids, dtype=np.float32)
        self.meta = dict(meta or {})
        self.source = str(source)
        C = len(self.class_names)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != C:
            raise LabelSpaceError(f'label space {self.source}: vectors must be [C, K] with '
                                  f'C = {C} class names, got shape {self.vectors.shape}')
        if self.centroids is not None:
            if self.centroids.ndim != 2 or self.centroids.shape[0] != self.vectors.shape[1]:
                raise LabelSpaceError(f'label space {self.source}: centroids must be [K, E] '
                                      f'with K = {self.vectors.shape[1]} (vector length), got '
                                      f'{self.centroids.shape}')
            norms = np.linalg.norm(self.centroids, axis=1)
            if not np.allclose(norms, 1.0, atol=1e-3):
                raise LabelSpaceError(f'label space {self.source}: centroids must be '
                                      f'L2-normalised (norms in [{norms.min():.4f}, '
                                      f'{norms.max():.4f}])')
        if not np.isfinite(self.vectors).all() or (
                self.centroids is not None and not np.isfinite(self.centroids).all()):
            raise LabelSpaceError(f'label space {self.source}: non-finite values')

    # ------------------------------------------------------------------ sizes
    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_properties(self) -> int:
        """K: length of the target vectors."""
        return int(self.vectors.shape[1])

    @property
    def embed_dim(self) -> int:
        """E: channels the decode head's classifier outputs before the projection."""
        return int(self.num_properties if self.centroids is None else self.centroids.shape[1])

    def index(self, name: str) -> int:
        """Row of category ``name``."""
        try:
            return self.class_names.index(name)
        except ValueError:
            raise KeyError(f'category {name!r} is not in label space {self.source} '
                           f'({self.num_classes} classes)') from None

    def property_names(self) -> list[str]:
        """A readable name per property (K)."""
        return [f'property {k}' for k in range(self.num_properties)]

    def similarity(self) -> np.ndarray:
        """``[C, C]`` cosine similarity between the categories' vectors."""
        v = l2_normalize(self.vectors)
        return v @ v.T

    # ------------------------------------------------------------------ subsets and unions
    def subset(self, names: Sequence[str]) -> 'LabelSpace':
        """The space restricted to ``names``, in that order (same properties / centroids)."""
        missing = [n for n in names if n not in self.class_names]
        if missing:
            raise KeyError(f'categories not in label space {self.source}: {missing[:10]}')
        rows = np.array([self.class_names.index(n) for n in names], np.int64)
        return self._take(rows, self.meta_for(len(rows)))

    def select(self, names: Union[str, Sequence[str]], trained: Sequence[str]) -> 'LabelSpace':
        """:meth:`subset` of ``names``, or with ``'new'`` of the categories not in ``trained``."""
        if names == 'new':
            names = [n for n in self.class_names if n not in trained]
            if not names:
                raise LabelSpaceError(f"test_classes='new': label space {self.source} holds no "
                                      'category outside the training space')
        elif isinstance(names, str):
            raise LabelSpaceError(f"test_classes must be a list of names or 'new', got "
                                  f"{names!r}")
        missing = [n for n in names if n not in self.class_names]
        if missing:
            raise LabelSpaceError(f'test_classes {missing[:10]} are not in label space '
                                  f'{self.source} ({self.num_classes} categories); add them with '
                                  '`tools/gen_properties.py assign`')
        return self.subset(list(names))

    def check_compatible(self, other: 'LabelSpace', what: str = 'label space') -> None:
        """Raise ``ValueError`` unless ``other`` can stand in for ``self`` in a trained head:
        same kind, same K and E, centroids equal within :data:`CENTROID_ATOL`."""
        if type(other) is not type(self):
            raise LabelSpaceError(f'{what} {other.source} is a {type(other).__name__} but '
                                  f'{self.source} is a {type(self).__name__}')
        if (other.num_properties, other.embed_dim) != (self.num_properties, self.embed_dim):
            raise LabelSpaceError(f'{what} {other.source} has K={other.num_properties}, '
                                  f'E={other.embed_dim}; {self.source} has '
                                  f'K={self.num_properties}, E={self.embed_dim}')
        if self.centroids is not None and not np.allclose(other.centroids, self.centroids,
                                                          atol=CENTROID_ATOL):
            raise LabelSpaceError(f'{what} {other.source} uses different property centroids '
                                  f'than {self.source}; build new categories with '
                                  '`tools/gen_properties.py assign` on that space')

    def extend(self, other: 'LabelSpace') -> 'LabelSpace':
        """The categories of ``self`` followed by those of ``other`` (see :meth:`concat`)."""
        return type(self).concat([self, other])

    @classmethod
    def concat(cls, spaces: Sequence['LabelSpace']) -> 'LabelSpace':
        """Union of spaces sharing their properties (e.g. seen + ``assign``-ed unseen ones).
        ``meta`` stays true: ``num_classes`` is the new count, ``sources`` the union,
        ``assigned`` lists the categories that came after the first space,
        ``min_similarity`` holds each assigned category's abstention threshold (when
        one was used)."""
        if not spaces:
            raise LabelSpaceError('concat: no label spaces given')
        first = spaces[0]
        for s in spaces[1:]:
            first.check_compatible(s, 'cannot concatenate: label space')
        names = [n for s in spaces for n in s.class_names]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise LabelSpaceError(f'cannot concatenate: categories already present: {dups[:10]}')
        meta = first.meta_for(len(names))
        sources = [src for s in spaces for src in s.meta.get('sources', [])]
        if sources:
            meta['sources'] = [json.loads(k) for k in dict.fromkeys(
                json.dumps(src, sort_keys=True) for src in sources)]
        later = [n for s in spaces[1:] for n in s.class_names]
        if later:
            meta['assigned'] = list(first.meta.get('assigned', [])) + later
        thresholds = {n: t for s in spaces for n, t in s.meta.get('min_similarity', {}).items()
                      if n in names}
        meta.pop('min_similarity', None)
        if thresholds:
            meta['min_similarity'] = thresholds
        return first._concat(spaces, meta, '+'.join(s.source for s in spaces))

    def meta_for(self, num_classes: int) -> dict:
        """This space's ``meta`` for a derived space of ``num_classes`` categories (without the
        keys that describe one file's content)."""
        meta = {k: v for k, v in self.meta.items() if k not in _CONTENT_KEYS}
        meta['num_classes'] = num_classes
        return meta

    def _take(self, rows: np.ndarray, meta: dict) -> 'LabelSpace':
        """A space of rows ``rows`` (subclasses carry their per-category data along)."""
        return type(self)([self.class_names[i] for i in rows], self.vectors[rows],
                          self.centroids, meta, source=f'{self.source}[subset]')

    def _concat(self, spaces: Sequence['LabelSpace'], meta: dict, source: str) -> 'LabelSpace':
        return type(self)([n for s in spaces for n in s.class_names],
                          np.concatenate([s.vectors for s in spaces]), self.centroids, meta,
                          source=source)

    # ------------------------------------------------------------------ files
    @classmethod
    def output_path(cls, path: Union[str, os.PathLike]) -> Path:
        """The file :meth:`save` writes for ``path``."""
        path = Path(path)
        if path.suffix != '.npz':
            raise LabelSpaceError(f'{path}: a label space is saved as a .npz file')
        return path

    def extra_arrays(self) -> dict[str, np.ndarray]:
        """The kind's own arrays, one per name in :attr:`EXTRA_ARRAYS` (none here)."""
        return {}

    def content_sha256(self) -> str:
        """Hash of the class names, vectors, centroids and :meth:`extra_arrays` (text arrays
        hashed as JSON with the names, others by their bytes); checked on load."""
        extra = self.extra_arrays()
        texts = [a.tolist() for a in extra.values() if a.dtype.kind == 'U']
        h = hashlib.sha256(json.dumps([self.class_names, *texts], ensure_ascii=False).encode())
        for a in (self.vectors, self.centroids,
                  *(a for a in extra.values() if a.dtype.kind != 'U')):
            if a is not None:
                h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    def input_files(self) -> list[str]:
        """Files this space was read or built from (its own file, its descriptions files):
        :meth:`save` never replaces them."""
        files = [src['path'] for src in self.meta.get('sources', []) if src.get('path')]
        return files + ([self.source] if osp.isfile(self.source) else [])

    def save(self, path: Union[str, os.PathLike],
             inputs: Sequence[Union[str, os.PathLike]] = ()) -> Path:
        """Write ``path`` (:meth:`output_path`; a compressed ``.npz``, no pickle): class names,
        vectors, centroids (if any), :meth:`extra_arrays` and ``meta`` with ``format`` and
        ``content_sha256``.

        Returns:
            the path written.
        Raises:
            OutputPathError: the file would replace one of ``inputs`` (files the command
                read) or of :meth:`input_files`; nothing is written.
        """
        path = self.output_path(path)
        check_outputs([path], [*inputs, *self.input_files()])
        meta = dict(self.meta, format=self.FORMAT, content_sha256=self.content_sha256())
        arrays = dict(class_names=np.array(self.class_names, dtype=str), vectors=self.vectors,
                      **self.extra_arrays(), meta=np.array(json.dumps(meta)))
        if self.centroids is not None:
            arrays['centroids'] = self.centroids
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(path, buf.getvalue())
        return path

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> 'LabelSpace':
        """Read a file written by :meth:`save` (or of the earlier layout)."""
        return cls.from_arrays(read_arrays(path), str(path))

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], path: str) -> 'LabelSpace':
        """The space held by the arrays of the saved file ``path``: arrays, format tag, shapes
        and content hash checked (a file of the earlier layout has no hash)."""
        legacy = LEGACY_FORMAT_ARRAY in arrays
        required = {'class_names', 'vectors', *cls.EXTRA_ARRAYS} | (set() if legacy else {'meta'})
        missing = sorted(required - arrays.keys())
        if missing:
            raise LabelSpaceError(f'{path}: missing arrays {missing}')
        fmt = file_format(arrays, path)
        if fmt != cls.FORMAT:
            raise LabelSpaceError(f'{path}: format {fmt!r}, expected {cls.FORMAT!r}')
        meta = read_meta(arrays, path)
        try:
            space = cls(arrays['class_names'].tolist(), arrays['vectors'],
                        arrays.get('centroids'), meta, source=str(path),
                        **{name: arrays[name] for name in cls.EXTRA_ARRAYS})
        except LabelSpaceError:
            raise
        except ValueError as e:
            raise LabelSpaceError(f'{path}: {e}') from None
        if not legacy and space.content_sha256() != meta.get('content_sha256'):
            raise LabelSpaceError(f'{path}: content hash mismatch (file modified or corrupted)')
        return space


@LABEL_SPACES.register_module()
class NameEmbeddingSpace(LabelSpace):
    """The text-embedding label space: each category is the L2-normalised sentence embedding of
    its name; the head regresses it (no centroids, no sigmoid) and matches by cosine."""

    FORMAT = 'prolab-seg/label-embedding@1'
    activation = 'none'

    def __init__(self, class_names, vectors, centroids=None, meta=None, source='<memory>'):
        if centroids is not None:
            raise LabelSpaceError(f'{type(self).__name__} {source}: has no centroids')
        super().__init__(class_names, vectors, None, meta, source)

    @classmethod
    def from_names(cls, class_names: Sequence[str], model: Any = None,
                   template: str = '{}') -> 'NameEmbeddingSpace':
        """Embed ``template.format(name)`` for each name with a text encoder (see
        :func:`~prolab_seg.properties.embedding.embed_texts`; rows L2-normalised)."""
        from .embedding import embed_texts, model_name
        emb = embed_texts([template.format(n) for n in class_names], model=model)
        return cls(class_names, emb, meta=dict(embedding_model=model_name(model),
                                               template=template,
                                               num_classes=len(class_names)))


@LABEL_SPACES.register_module()
class AttributeSpace(LabelSpace):
    """Oracle label space: one property per attribute value (``'type=value'``), each category
    the multi-hot of its own values; identity centroids (the head predicts the values)."""

    FORMAT = 'prolab-seg/attribute-space@1'

    def property_names(self) -> list[str]:
        return list(self.meta['property_names'])

    @classmethod
    def from_attributes(cls, attributes: dict[str, dict[str, str]],
                        meta: Optional[dict] = None) -> 'AttributeSpace':
        """``{category: {attribute type: value}}`` (class order) -> the space of every value."""
        values = sorted({(t, v) for a in attributes.values() for t, v in a.items()})
        vectors = np.array([[float(a.get(t) == v) for t, v in values]
                            for a in attributes.values()], np.float32)
        names = [f'{t}={v}' for t, v in values]
        return cls(list(attributes), vectors, np.eye(len(names), dtype=np.float32),
                   dict(meta or {}, property_names=names, num_classes=len(attributes)))


def read_arrays(path: Union[str, os.PathLike]) -> dict[str, np.ndarray]:
    """All arrays of a saved label space (``.npz``, never unpickled).

    Raises:
        FileNotFoundError: no such file.
        LabelSpaceError: naming the file and the problem: not an ``.npz`` (e.g. a descriptions
            ``.json`` passed as a space), a truncated or corrupted archive, a pickled array.
    """
    path = str(path)
    if not osp.isfile(path):
        hint = (' Build it first with tools/gen_properties.py build (property-world: see '
                'projects/property_world/configs/README.md).') if path.endswith('.npz') else ''
        raise FileNotFoundError(f'label space file not found: {path}.{hint}')
    with open(path, 'rb') as f:
        head = f.read(64)
    if not head.startswith((b'PK\x03\x04', b'PK\x05\x06')):
        what = ('an empty file' if not head else 'JSON text (a descriptions file?)'
                if head.lstrip()[:1] in (b'{', b'[') else 'a single .npy array'
                if head.startswith(b'\x93NUMPY') else f'it starts with {head[:16]!r}')
        raise LabelSpaceError(f'{path}: not a label-space .npz file ({what}); label spaces '
                              'are written by tools/gen_properties.py build, assign or names')
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ValueError as e:
        if 'allow_pickle' not in str(e):
            raise LabelSpaceError(f'{path}: unreadable array ({e})') from None
        raise LabelSpaceError(f'{path}: holds a pickled object array, which is never loaded '
                              '(it could run code); not a prolab-seg label space') from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as e:
        raise LabelSpaceError(f'{path}: truncated or corrupted .npz file (damaged zip '
                              f'archive: {e}); write it again') from None


def read_meta(arrays: dict[str, np.ndarray], path: str) -> dict:
    """The ``meta`` JSON object of a saved space (``{}`` if it has none)."""
    if 'meta' not in arrays:
        return {}
    try:
        meta = json.loads(str(arrays['meta'][()]))
    except (json.JSONDecodeError, ValueError) as e:
        raise LabelSpaceError(f'{path}: array "meta" is not valid JSON ({e})') from None
    if not isinstance(meta, dict):
        raise LabelSpaceError(f'{path}: array "meta" is not a JSON object')
    return meta


def file_format(arrays: dict[str, np.ndarray], path: str) -> str:
    """The format tag of a saved space: ``meta['format']``, or the
    :data:`LEGACY_FORMAT_ARRAY` of a file of the earlier layout."""
    if LEGACY_FORMAT_ARRAY in arrays:
        return str(arrays[LEGACY_FORMAT_ARRAY][()])
    return str(read_meta(arrays, path).get('format', ''))


def load_label_space(path: Union[str, os.PathLike]) -> LabelSpace:
    """Load a saved space of any registered kind, recognised by its format tag (a folder holding
    ``property_space.npz`` is that file)."""
    path = str(path)
    if osp.isdir(path) and osp.isfile(osp.join(path, 'property_space.npz')):
        path = osp.join(path, 'property_space.npz')
    arrays = read_arrays(path)
    fmt = file_format(arrays, path)
    for kind in LABEL_SPACES.module_dict.values():
        if kind.FORMAT and kind.FORMAT == fmt:
            return kind.from_arrays(arrays, path)
    known = sorted(k.FORMAT for k in LABEL_SPACES.module_dict.values())
    raise LabelSpaceError(f'{path}: unknown label-space format {fmt!r}; known: {known}')


def build_label_space(cfg: Any, registry: Registry = LABEL_SPACES,
                      default_args: Optional[dict] = None) -> LabelSpace:
    """``LABEL_SPACES.build``: a :class:`LabelSpace` from a space, a path, a list
    (concatenated), a config ``dict(type=KIND, path=...)`` (that kind's :meth:`~LabelSpace.load`)
    / ``dict(type=KIND, class_names=..., vectors=...)`` (mmengine's ``build_from_cfg``), or a
    plain ``dict(class_names, vectors[, centroids])`` (a ``PropertySpace`` with centroids, else
    a ``NameEmbeddingSpace``)."""
    if isinstance(cfg, LabelSpace):
        return cfg
    if isinstance(cfg, (list, tuple)):
        return LabelSpace.concat([registry.build(c) for c in cfg])
    if isinstance(cfg, (str, bytes, os.PathLike)):
        return load_label_space(os.fsdecode(cfg))
    if not isinstance(cfg, dict):
        raise TypeError(f'cannot make a label space from {type(cfg).__name__}')
    cfg = dict(cfg)
    cfg.setdefault('type', 'PropertySpace' if cfg.get('centroids') is not None
                   else 'NameEmbeddingSpace')
    if 'path' in cfg:  # that kind's file (an unknown kind: build_from_cfg's KeyError)
        kind = registry.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']
        cfg['type'] = getattr(kind, 'load', cfg['type'])
    return build_from_cfg(cfg, registry, default_args)


LABEL_SPACES.build_func = build_label_space
