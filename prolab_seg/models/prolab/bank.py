"""Category banks: what a :class:`PropertyHead` matches pixels against.

A *bank* is the part of a label space the head needs at run time:

* ``class_names`` -- C category names, in dataset order;
* ``vectors``     -- C x K float32 target vectors (multi-hot property vectors for ProLab, or
  L2-normalised name embeddings for the text-embedding label space);
* ``centroids``   -- K x E L2-normalised property centroids (ProLab), or ``None`` (the
  text-embedding label space: the head regresses the E-d embedding directly, K == E).

Banks come from

* a ProLab property-space artifact (``prolab_seg.properties.PropertySpace`` ``.npz``) -- written by
  ``tools/gen_properties.py build`` (training categories) or ``... assign`` (new categories mapped
  onto the same centroids);
* a label-embedding ``.npz`` written by :func:`save_label_embedding_bank`
  (``format = 'prolab-seg/label-embedding@1'``), i.e. the sentence embedding of each category name;
* a list of any of these (concatenated: e.g. ``[seen.npz, unseen.npz]`` for generalised
  zero-shot evaluation over seen + unseen categories);
* a ``PropertySpace`` object or a plain ``dict(class_names=..., vectors=..., centroids=...)``
  (tests, notebooks).
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

LABEL_EMBEDDING_FORMAT = 'prolab-seg/label-embedding@1'


@dataclass
class CategoryBank:
    class_names: list
    vectors: np.ndarray  # C x K
    centroids: Optional[np.ndarray] = None  # K x E, or None (identity / label embedding)
    source: str = '<memory>'
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.class_names = [str(n) for n in self.class_names]
        self.vectors = np.asarray(self.vectors, dtype=np.float32)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.class_names):
            raise ValueError(
                f'category bank {self.source}: vectors must be C x K with C = '
                f'{len(self.class_names)} class names, got shape {self.vectors.shape}')
        if len(set(self.class_names)) != len(self.class_names):
            raise ValueError(f'category bank {self.source}: duplicate class names')
        if self.centroids is not None:
            self.centroids = np.asarray(self.centroids, dtype=np.float32)
            if self.centroids.ndim != 2 or self.centroids.shape[0] != self.vectors.shape[1]:
                raise ValueError(
                    f'category bank {self.source}: centroids must be K x E with K = '
                    f'{self.vectors.shape[1]} (vector length), got {self.centroids.shape}')
        if not np.isfinite(self.vectors).all() or (
                self.centroids is not None and not np.isfinite(self.centroids).all()):
            raise ValueError(f'category bank {self.source}: non-finite values')

    @property
    def kind(self) -> str:
        return 'property' if self.centroids is not None else 'embedding'

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_properties(self) -> int:
        """K: length of the target vectors (== E for an embedding bank)."""
        return int(self.vectors.shape[1])

    @property
    def embed_dim(self) -> int:
        """E: channels the decode head's classifier must output."""
        if self.centroids is not None:
            return int(self.centroids.shape[1])
        return int(self.vectors.shape[1])

    def subset(self, names: Sequence[str]) -> 'CategoryBank':
        idx = []
        for n in names:
            if n not in self.class_names:
                raise KeyError(f'category {n!r} not in bank {self.source}')
            idx.append(self.class_names.index(n))
        return CategoryBank(list(names), self.vectors[idx], self.centroids,
                            source=f'{self.source}[subset]', meta=dict(self.meta))


def concat_banks(banks: Sequence[CategoryBank]) -> CategoryBank:
    """Union of banks sharing the same centroids (e.g. seen space + ``assign``-ed unseen space)."""
    if not banks:
        raise ValueError('empty list of category banks')
    first = banks[0]
    for b in banks[1:]:
        if b.kind != first.kind or b.vectors.shape[1] != first.vectors.shape[1] or (
                first.centroids is not None and not np.allclose(b.centroids, first.centroids,
                                                                atol=1e-5)):
            raise ValueError(f'cannot concatenate category banks {first.source} and {b.source}: '
                             'different centroids / vector length')
    names = [n for b in banks for n in b.class_names]
    return CategoryBank(names, np.concatenate([b.vectors for b in banks]), first.centroids,
                        source='+'.join(b.source for b in banks))


def _from_property_space(space: Any, source: str) -> CategoryBank:
    centroids = getattr(space, 'centroids', None)
    return CategoryBank(list(space.class_names), np.asarray(space.vectors), centroids,
                        source=source, meta=dict(getattr(space, 'meta', {}) or {}))


def load_bank(spec: Any) -> CategoryBank:
    """Turn a path / PropertySpace / dict / CategoryBank into a :class:`CategoryBank`."""
    if isinstance(spec, CategoryBank):
        return spec
    if isinstance(spec, (list, tuple)):
        return concat_banks([load_bank(s) for s in spec])
    if isinstance(spec, dict):
        return CategoryBank(spec['class_names'], spec['vectors'], spec.get('centroids'),
                            source=spec.get('source', '<dict>'), meta=dict(spec.get('meta', {})))
    if isinstance(spec, (str, bytes)) or hasattr(spec, '__fspath__'):
        path = str(spec)
        if osp.isdir(path) and osp.isfile(osp.join(path, 'property_space.npz')):
            path = osp.join(path, 'property_space.npz')
        if not osp.isfile(path):
            hint = ''
            if path.endswith('.npz'):
                hint = (' Build it first with tools/gen_properties.py build (property-world: '
                        'see configs/property_world/README.md).')
            raise FileNotFoundError(f'property space / category bank file not found: {path}.{hint}')
        try:
            with np.load(path, allow_pickle=False) as z:
                keys = set(z.files)
                fmt = str(z['format']) if 'format' in keys else ''
                if fmt == LABEL_EMBEDDING_FORMAT:
                    return CategoryBank([str(n) for n in z['class_names']], z['vectors'], None,
                                        source=path, meta={'format': fmt})
        except (ValueError, OSError) as e:  # not a readable npz
            raise ValueError(f'cannot read category bank {path}: {e}') from e
        from prolab_seg.properties import PropertySpace  # noqa: WPS433 (lazy: optional deps)
        return _from_property_space(PropertySpace.load(path), path)
    if hasattr(spec, 'vectors') and hasattr(spec, 'class_names'):
        return _from_property_space(spec, '<PropertySpace>')
    raise TypeError(f'cannot make a category bank from {type(spec).__name__}')


def save_label_embedding_bank(path: str, class_names: Sequence[str],
                              embeddings: np.ndarray) -> str:
    """Write a text-embedding label space (one L2-normalised embedding per category name)."""
    emb = np.asarray(embeddings, dtype=np.float32)
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    np.savez(path, format=np.array(LABEL_EMBEDDING_FORMAT), class_names=np.array(list(class_names)),
             vectors=emb)
    return path


def build_label_embedding_bank(class_names: Sequence[str], model: Optional[str] = None,
                               template: str = '{}') -> CategoryBank:
    """Embed each category name (``template.format(name)``) with the project's sentence encoder."""
    from prolab_seg.properties import embed_texts
    emb = np.asarray(embed_texts([template.format(n) for n in class_names], model=model))
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    return CategoryBank(list(class_names), emb, None, source='<label-embedding>')


def main(argv=None) -> None:
    """CLI: write a text-embedding label space (category-name embeddings).

    python -m prolab_seg.models.prolab.bank --descriptions descriptions/property_world.json \\
        [--only NAME ...] [--exclude NAME ...] [--template '{}'] --out names.npz
    """
    import argparse
    import json
    p = argparse.ArgumentParser(description='Write a label-embedding bank of category names.')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--descriptions', help='descriptions JSON (its category names, in order)')
    src.add_argument('--names', nargs='+', help='category names')
    p.add_argument('--only', nargs='+')
    p.add_argument('--exclude', nargs='+', default=[])
    p.add_argument('--template', default='{}', help="e.g. 'a photo of a {}.'")
    p.add_argument('--model', default=None, help='sentence encoder (default: the project one)')
    p.add_argument('--out', required=True)
    args = p.parse_args(argv)
    if args.descriptions:
        with open(args.descriptions) as f:
            names = list(json.load(f)['categories'])
    else:
        names = list(args.names)
    if args.only:
        missing = [n for n in args.only if n not in names]
        if missing:
            raise SystemExit(f'--only names not found: {missing}')
        names = [n for n in names if n in args.only]
    names = [n for n in names if n not in args.exclude]
    bank = build_label_embedding_bank(names, model=args.model, template=args.template)
    import os
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    save_label_embedding_bank(args.out, bank.class_names, bank.vectors)
    print(f'wrote {args.out}: {bank.num_classes} categories x {bank.embed_dim}-d name embeddings')


if __name__ == '__main__':
    main()
