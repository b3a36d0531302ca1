"""ProLab's published property clustering (``properties/property_<dataset>.json``) as a
:class:`~.space.PropertySpace`.

The file maps each property, keyed by its representative sentence, to its member
descriptions, each ``"<category>: <sentence>"``::

    {"Vertical flat structure": ["wall: Vertical structure ...", "fence: ..."], ...}

:func:`import_prolab_properties` keeps ProLab's memberships exactly: category c has property k
iff some member of k is ``"c: ..."``. Categories are matched to the dataset's class names
(:func:`~.class_names.match_class_names`) and put in class order; a class without a member is
an error. Centroids ``[K, E]`` come from an embedding file (``.npy``, or ``.npz`` holding one
array or one named ``centroids``: row k is property k in the file's order; rows are
L2-normalised), else from a text encoder: the normalised mean of the embeddings of each
property's member sentences (ProLab: k-means centres over bge-base-en-v1.5 mean-pooled,
lower-cased sentences, i.e. ``model='hf-mean:<bge folder>?lower'``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from prolab_seg.utils import l2_normalize

from .descriptions import DescriptionsError, dataset_class_matches, read_json
from .embedding import ModelLike, embed_texts, model_name
from .files import sha256_file
from .space import PropertySpace

#: ``meta['method']`` of an imported space.
METHOD = 'prolab-import'


class ProLabMembers(NamedTuple):
    """The members of a ProLab property file: ``properties`` (K representative sentences, in
    file order), ``categories`` / ``texts`` / ``property_of`` (one entry per member: the
    category as written, its sentence, its property index)."""

    properties: list[str]
    categories: list[str]
    texts: list[str]
    property_of: list[int]


def read_prolab_properties(path: str | os.PathLike) -> ProLabMembers:
    """Read and check a ProLab property file (see the module docstring).

    Raises:
        DescriptionsError: naming the file, and the property / member at fault.
    """
    source = str(path)
    data = read_json(Path(path))
    if not isinstance(data, dict) or not data:
        raise DescriptionsError(f'{source}: expected a non-empty object {{property sentence: '
                                '["category: sentence", ...]}')
    members = ProLabMembers([], [], [], [])
    for k, (prop, items) in enumerate(data.items()):
        where = f'{source}: property {k} {prop!r:.60}'
        if not isinstance(items, list) or not items:
            raise DescriptionsError(f'{where}: expected a non-empty list of "category: '
                                    f'sentence" strings, got {items!r:.60}')
        for i, item in enumerate(items):
            category, sep, text = item.partition(':') if isinstance(item, str) else ('', '', '')
            if not sep or not category.strip() or not text.strip():
                raise DescriptionsError(f'{where}: member {i} is not "category: sentence": '
                                        f'{item!r:.80}')
            members.categories.append(category)
            members.texts.append(text.strip())
            members.property_of.append(k)
        members.properties.append(prop)
    return members


def load_centroid_file(path: str | os.PathLike, num_properties: int) -> np.ndarray:
    """Centroids ``[K, E]`` from a ``.npy`` / ``.npz`` file (see the module docstring),
    rows L2-normalised.

    Raises:
        ValueError: naming the file: unreadable, several unnamed arrays, wrong shape,
            non-finite or zero rows.
    """
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError) as e:
        raise ValueError(f'{path}: cannot read embeddings ({e})') from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            names = loaded.files
            key = 'centroids' if 'centroids' in names else (names[0] if len(names) == 1
                                                             else None)
            if key is None:
                raise ValueError(f'{path}: holds arrays {names}; name one of them "centroids"')
            loaded = loaded[key]
    arr = np.asarray(loaded, np.float32)
    arr = np.asarray(arr, np.float32)
    if arr.ndim != 2 or arr.shape[0] != num_properties:
        raise ValueError(f'{path}: embeddings must be [K, E] with K = {num_properties} '
                         f'properties (file order), got shape {arr.shape}')
    norms = np.linalg.norm(arr, axis=1)
    if not np.isfinite(arr).all() or (norms == 0).any():
        raise ValueError(f'{path}: embeddings hold non-finite values or zero rows')
    return l2_normalize(arr)


def import_prolab_properties(path: str | os.PathLike, dataset: str,
                             embeddings: str | os.PathLike | None = None,
                             model: ModelLike = None, batch_size: int = 64,
                             classes: Sequence[str] | None = None) -> PropertySpace:
    """ProLab's property clustering as a property space with ProLab's exact category vectors.

    Args:
        path: ``property_<dataset>.json``.
        dataset: a key of ``DATASETS``; its class list and aliases name the categories.
        embeddings: centroid file ``[K, E]`` in the file's property order; None: centroids from
            ``model``.
        model: text encoder (see :mod:`.embedding`) for the centroids when ``embeddings`` is
            None; with ``embeddings`` too, it scores each member against its centroid (and is
            recorded, so that ``assign`` can map new categories).
        batch_size: texts per encoder batch.
        classes: the class list instead of the dataset's (same matching rules).
    Returns:
        PropertySpace: C = the dataset's classes, K = the file's properties;
        ``meta['property_names']`` holds ProLab's representative sentences. ``text_score`` is
        each member's cosine to its centroid (0 when only ``embeddings`` is given).
    Raises:
        DescriptionsError: malformed file, a category that matches no class, a class without
            a member.
        ValueError: a bad embedding file, or one whose E differs from ``model``'s.
    """
    source = str(path)
    members = read_prolab_properties(path)
    classes, matched = dataset_class_matches(list(dict.fromkeys(members.categories)), dataset,
                                             source, classes)
    missing = [c for c in classes if c not in set(matched.values())]
    if missing:
        raise DescriptionsError(f'{source}: classes of {dataset} without any member: {missing}')
    K = len(members.properties)
    owner = np.array([classes.index(matched[c]) for c in members.categories], np.int32)
    cluster = np.array(members.property_of, np.int32)
    vectors = np.zeros((len(classes), K), np.float32)
    vectors[owner, cluster] = 1.0
    emb = None
    if embeddings is None or model is not None:
        unique, inverse = np.unique(np.array(members.texts, dtype=str), return_inverse=True)
        emb = embed_texts(unique.tolist(), model, batch_size)[inverse.ravel()]
    if embeddings is not None:
        centroids = load_centroid_file(embeddings, K)
        if emb is not None and emb.shape[1] != centroids.shape[1]:
            raise ValueError(f'{embeddings}: embeddings are {centroids.shape[1]}-d but model '
                             f'{model_name(model)!r} gives {emb.shape[1]}-d')
        origin = {'path': str(embeddings), 'sha256': sha256_file(embeddings)}
    else:
        sums = np.zeros((K, emb.shape[1]), np.float64)
        np.add.at(sums, cluster, emb)
        centroids = l2_normalize(sums)
        origin = 'mean of the member embeddings'
    score = np.zeros(len(cluster), np.float32) if emb is None else \
        (emb * centroids[cluster]).sum(1)
    renamed = {k: c for k, c in matched.items() if k != c}
    meta = {'dataset': dataset, 'method': METHOD, 'num_properties': K,
            'embedding_model': None if emb is None else model_name(model),
            'embed_dim': int(centroids.shape[1]), 'centroids_from': origin,
            'num_classes': len(classes), 'num_descriptions': len(members.texts),
            'property_names': members.properties,
            'sources': [dict({'path': source, 'sha256': sha256_file(path), 'dataset': dataset,
                              'format': 'prolab-properties', 'num_properties': K},
                             **({'renamed': renamed} if renamed else {}))]}
    return PropertySpace(classes, vectors, centroids, meta, members.texts, owner, cluster, score)
