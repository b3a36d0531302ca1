"""The property label space: k-means over description embeddings -> multi-hot class vectors.

A :class:`PropertySpace` holds, for C categories, K properties and E-dimensional embeddings:

* ``vectors[C, K]`` float32 multi-hot: category c has property k iff one of its descriptions
  falls in cluster k (ProLab);
* ``centroids[K, E]`` float32, L2-normalised cluster centres (the segmentation head projects
  pixel embeddings onto them);
* the descriptions themselves with their category, cluster and cosine to the centroid;
* ``meta``: embedding model, K, seed, clustering method, description-file hashes, ...

Saved in the label-space file format (:meth:`~.label_space.LabelSpace.save`; the descriptions
are its extra arrays); :meth:`PropertySpace.summary` / :meth:`PropertySpace.summary_markdown`
render the readable summary ``tools/gen_properties.py`` writes beside it.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .class_names import class_list_mismatch, sentences_of
from .descriptions import validate_categories
from .embedding import ModelLike, embed_texts, model_name
from prolab_seg.clustering.kmeans import SphericalKMeans
from prolab_seg.registry import LABEL_SPACES
from prolab_seg.utils import l2_normalize

from .files import sha256_file
from .label_space import LabelSpace, LabelSpaceError
from .report import identical_groups, label_space_report, report_markdown

ARTIFACT_FORMAT = 'prolab-seg/property-space@1'
DEFAULT_FILENAME = 'property_space.npz'
#: ``build_property_space``'s clustering methods: the :class:`SphericalKMeans` algorithm of each.
METHODS = {'kmeans': 'lloyd', 'minibatch': 'minibatch'}


@LABEL_SPACES.register_module()
class PropertySpace(LabelSpace):
    """Categories x properties multi-hot matrix with the property centroids (ProLab).

    Args:
        class_names: C category names.
        vectors: ``[C, K]`` multi-hot (0/1), stored float32.
        centroids: ``[K, E]`` L2-normalised property centroids.
        meta: provenance (embedding_model, num_properties, seed, sources, ...).
        texts: N descriptions (optional, for summaries / traceability).
        text_class: ``[N]`` int category index of each description.
        text_cluster: ``[N]`` int property index of each description.
        text_score: ``[N]`` cosine of each description to its property centroid.
        source: where it was loaded from (error messages).
    """

    FORMAT = ARTIFACT_FORMAT
    EXTRA_ARRAYS = ('texts', 'text_class', 'text_cluster', 'text_score')

    def __init__(self, class_names: Sequence[str], vectors: np.ndarray, centroids: np.ndarray,
                 meta: dict | None = None, texts: Sequence[str] = (),
                 text_class: np.ndarray | None = None, text_cluster: np.ndarray | None = None,
                 text_score: np.ndarray | None = None, source: str = '<memory>'):
        if centroids is None:
            raise LabelSpaceError(f'property space {source}: needs centroids [K, E]')
        super().__init__(class_names, vectors, centroids, meta, source)
        self.texts = [str(t) for t in texts]
        N = len(self.texts)
        self.text_class = np.asarray(np.zeros(N) if text_class is None else text_class, np.int32)
        self.text_cluster = np.asarray(np.zeros(N) if text_cluster is None else text_cluster,
                                       np.int32)
        self.text_score = np.asarray(np.zeros(N) if text_score is None else text_score,
                                     np.float32)
        if not np.isin(self.vectors, (0.0, 1.0)).all():
            raise LabelSpaceError(f'property space {source}: vectors must be multi-hot (0/1)')
        for name in ('text_class', 'text_cluster', 'text_score'):
            if getattr(self, name).shape != (N,):
                raise LabelSpaceError(f'property space {source}: {name} shape '
                                      f'{getattr(self, name).shape} != ({N},) texts')
        if N and not (0 <= self.text_class.min() and self.text_class.max() < self.num_classes):
            raise LabelSpaceError(f'property space {source}: text_class indexes outside the '
                                  'class list')
        if N and not (0 <= self.text_cluster.min()
                      and self.text_cluster.max() < self.num_properties):
            raise LabelSpaceError(f'property space {source}: text_cluster indexes outside the '
                                  'properties')

    def property_names(self) -> list[str]:
        """Each property named by ``meta['property_names']`` (an imported ProLab clustering's
        representative sentences) or else its most central description (``p<k>: <text>``)."""
        if self.meta.get('property_names'):
            return [f'p{k}: {n}' for k, n in enumerate(self.meta['property_names'])]
        names = super().property_names()
        for k in range(self.num_properties):
            idx = np.flatnonzero(self.text_cluster == k)
            if len(idx):
                names[k] = f'p{k}: {self.texts[idx[np.argmax(self.text_score[idx])]]}'
        return names

    def _take(self, rows: np.ndarray, meta: dict) -> 'PropertySpace':
        new_index = np.full(self.num_classes, -1, np.int64)
        new_index[rows] = np.arange(len(rows))
        keep = new_index[self.text_class] >= 0
        return PropertySpace(
            [self.class_names[i] for i in rows], self.vectors[rows], self.centroids, meta,
            [t for t, k in zip(self.texts, keep) if k], new_index[self.text_class[keep]],
            self.text_cluster[keep], self.text_score[keep], source=f'{self.source}[subset]')

    def _concat(self, spaces: Sequence['PropertySpace'], meta: dict,
                source: str) -> 'PropertySpace':
        offsets = np.cumsum([0] + [s.num_classes for s in spaces[:-1]])
        return PropertySpace(
            [n for s in spaces for n in s.class_names], np.concatenate([s.vectors for s in spaces]),
            self.centroids, meta, [t for s in spaces for t in s.texts],
            np.concatenate([s.text_class + o for s, o in zip(spaces, offsets)]),
            np.concatenate([s.text_cluster for s in spaces]),
            np.concatenate([s.text_score for s in spaces]), source=source)

    def indistinguishable(self) -> list[list[str]]:
        """Groups of categories with identical property vectors (a ProLab head cannot tell
        them apart; more/finer descriptions or another K separate them)."""
        return identical_groups(self.class_names, self.vectors)

    # ------------------------------------------------------------------ summary
    def summary(self, top: int = 3, report: dict | None = None) -> dict:
        """Readable summary: each property named by its ``top`` most central descriptions,
        with its categories; each category with its property ids; the label-space ``report``
        (default: :func:`~.report.label_space_report` of the space alone)."""
        props = []
        for k in range(self.num_properties):
            idx = np.flatnonzero(self.text_cluster == k)
            idx = idx[np.argsort(-self.text_score[idx], kind='stable')]
            central, seen = [], set()
            for i in idx:
                if self.texts[i] not in seen and len(central) < top:
                    seen.add(self.texts[i])
                    central.append({'text': self.texts[i],
                                    'category': self.class_names[self.text_class[i]],
                                    'cosine': round(float(self.text_score[i]), 4)})
            props.append({'id': k, 'num_descriptions': int(len(idx)), 'central': central,
                          'categories': [self.class_names[c]
                                         for c in np.flatnonzero(self.vectors[:, k])]})
        return {'format': ARTIFACT_FORMAT, 'meta': self.meta,
                'indistinguishable': self.indistinguishable(), 'properties': props,
                'categories': {c: np.flatnonzero(self.vectors[i]).tolist()
                               for i, c in enumerate(self.class_names)},
                'report': label_space_report(self) if report is None else report}

    def summary_markdown(self, top: int = 3, report: dict | None = None) -> str:
        """The :meth:`summary` as a Markdown document."""
        s = self.summary(top, report)
        m = self.meta
        lines = [f'# Property space: {m.get("dataset", "?")}', '',
                 f'- classes: {self.num_classes}, properties K: {self.num_properties}, '
                 f'embedding dim: {self.embed_dim}',
                 f'- embedding model: {m.get("embedding_model")}; clustering: '
                 f'{m.get("method")} (seed {m.get("seed")}, n_init {m.get("n_init")})']
        for src in m.get('sources', []):
            lines.append(f'- descriptions: {src.get("path")} (sha256 {src.get("sha256")}, '
                         f'by {src.get("model")}, prompt {src.get("prompt_version")})')
        lines += [''] + report_markdown(s['report'])
        lines += ['', '## Properties', '', '| id | n | most central descriptions | categories |',
                  '|---|---|---|---|']
        for p in s['properties']:
            central = '<br>'.join(f'{c["text"]} ({c["category"]})' for c in p['central'])
            cats = ', '.join(p['categories'])
            lines.append(f'| {p["id"]} | {p["num_descriptions"]} | {central} | {cats} |')
        lines += ['', '## Categories', '', '| category | properties |', '|---|---|']
        for c, ks in s['categories'].items():
            lines.append(f'| {c} | {" ".join(map(str, ks))} |')
        return '\n'.join(lines) + '\n'

    # ------------------------------------------------------------------ I/O
    def extra_arrays(self) -> dict[str, np.ndarray]:
        """The descriptions: ``texts`` [N] and their ``text_class``, ``text_cluster`` and
        ``text_score`` [N]."""
        return dict(texts=np.array(self.texts, dtype=str), text_class=self.text_class,
                    text_cluster=self.text_cluster, text_score=self.text_score)

    @classmethod
    def output_path(cls, path: str | os.PathLike) -> Path:
        """``path`` if it ends in ``.npz``, else the folder ``path`` holding
        ``property_space.npz``."""
        return _artifact_path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, classes: Sequence[str] | None = None,
             check_sources: bool = False) -> 'PropertySpace':
        """Load a saved space (no pickle), validating shapes and the content hash.

        Args:
            path: the ``.npz`` (any file) or the folder holding ``property_space.npz``.
            classes: if given, must equal the space's class list (same names and order).
            check_sources: also require every descriptions file recorded in
                ``meta['sources']`` to exist with its recorded sha256 (stale-artifact check).
        """
        path = Path(path) if Path(path).is_file() else _artifact_path(path)
        space = super().load(path)
        mismatch = None if classes is None else class_list_mismatch(space.class_names, classes)
        if mismatch:
            raise LabelSpaceError(f'{path}: class list mismatch: {mismatch}')
        for src in space.meta.get('sources', []) if check_sources else []:
            if not Path(src['path']).is_file():
                raise LabelSpaceError(f'{path}: descriptions file {src["path"]} not found')
            if sha256_file(src['path']) != src['sha256']:
                raise LabelSpaceError(f'{path}: {src["path"]} changed since the space was '
                                      f'built (sha256 {src["sha256"][:12]}...); rebuild it')
        return space

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], path: str) -> 'PropertySpace':
        """:meth:`LabelSpace.from_arrays`, with ``meta['num_properties']`` checked."""
        space = super().from_arrays(arrays, path)
        if space.meta.get('num_properties') not in (None, space.num_properties):
            raise LabelSpaceError(f'{path}: meta num_properties {space.meta["num_properties"]} '
                                  f'!= {space.num_properties} centroids')
        return space


def _artifact_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path if path.suffix == '.npz' else path / DEFAULT_FILENAME


def _flatten(descriptions: Mapping[str, Sequence[str]]):
    """-> (class_names, texts[N], text_class[N])."""
    names = list(descriptions)
    texts, owner = [], []
    for c, value in enumerate(descriptions.values()):
        sentences = sentences_of(value)
        texts += sentences
        owner += [c] * len(sentences)
    return names, texts, np.asarray(owner, np.int32)


def _embed_unique(texts: list[str], model: ModelLike, batch_size: int, show_progress: bool):
    """Embed each distinct text once -> (unique_emb[U, E], inverse[N])."""
    unique, inverse = np.unique(np.array(texts, dtype=str), return_inverse=True)
    return embed_texts(unique.tolist(), model, batch_size, show_progress), inverse.ravel()


def _facet_sizes(counts: Mapping[str, int], k: int) -> dict[str, int]:
    """Split exactly ``k`` clusters over facets in proportion to their distinct sentences: at
    least 1 and at most its sentence count each; each further cluster goes to the facet
    furthest below its proportional share (largest remainder; ties: facet order).

    Raises:
        ValueError: ``k`` is smaller than the number of facets or larger than the sentences.
    """
    total = sum(counts.values())
    if not len(counts) <= k <= total:
        raise ValueError(f'facet-wise clustering needs K between the number of facets '
                         f'({len(counts)}: {", ".join(counts)}) and the distinct sentences '
                         f'({total}); got K={k}')
    sizes = {f: 1 for f in counts}
    for _ in range(k - len(counts)):
        room = [f for f in counts if sizes[f] < counts[f]]
        f = max(room, key=lambda f: k * counts[f] / total - sizes[f])
        sizes[f] += 1
    return sizes


def _cluster(emb: np.ndarray, k: int, method: str, n_init: int, seed: int,
             weight: np.ndarray | None) -> tuple:
    """k-means of unit embeddings ``emb[U, E]``, each weighted by ``weight[U]`` (None: 1)
    -> (labels[U], centers[k, E])."""
    if method not in METHODS:
        raise ValueError(f'unknown clustering method {method!r}; use kmeans or minibatch')
    km = SphericalKMeans(k, algorithm=METHODS[method], n_init=n_init, random_state=seed,
                         normalize=False)
    return km.fit_predict(emb, sample_weight=weight), km.cluster_centers_


def _text_facets(descriptions: Mapping) -> list[str]:
    """Facet of each flattened sentence (``_flatten`` order); needs facet-grouped categories."""
    plain = [c for c, v in descriptions.items() if not isinstance(v, Mapping)]
    if plain:
        raise ValueError(f'facet-wise clustering needs facet-grouped descriptions '
                         f'({{facet: [sentences]}}); plain lists for {plain[:5]}')
    return [f for v in descriptions.values() for f, sents in v.items() for _ in sents]


def build_property_space(descriptions: Mapping[str, Sequence[str]], num_properties: int,
                         seed: int = 0, model: ModelLike = None, *, method: str = 'kmeans',
                         n_init: int = 3, batch_size: int = 64, show_progress: bool = False,
                         meta: dict | None = None, facet_wise: bool = False,
                         weight_repeats: bool = False) -> PropertySpace:
    """Cluster all descriptions into ``num_properties`` properties (k-means on unit embeddings).

    Args:
        descriptions: ``{category: [sentence, ...]}`` in class order (>= 1 sentence each).
        num_properties: K, at most the number of distinct descriptions.
        seed: k-means random state; same inputs + seed -> identical space.
        model: embedding model (see :mod:`.embedding`).
        method: ``'kmeans'`` (sklearn KMeans, Lloyd) or ``'minibatch'`` (MiniBatchKMeans).
        n_init: k-means restarts.
        meta: extra provenance merged into ``space.meta`` (e.g. ``sources``, ``dataset``).
        facet_wise: cluster each facet's sentences (facet-grouped descriptions) on its own,
            exactly K split over facets by their distinct sentences (K smaller than the number
            of facets is refused), so that a property never mixes facets
            (``meta['property_facets']``; ``assign`` then keeps facets apart too).
        weight_repeats: each distinct sentence is embedded once; True: it weighs in k-means as
            often as it occurs (as clustering every sentence does, ProLab); False (default, the
            setting of the reported benchmarks): once.
    Returns:
        PropertySpace with C = len(descriptions) classes. Clusters are numbered by decreasing
        size; ``meta['timing']`` has embed/cluster seconds.
    """
    descriptions = validate_categories(descriptions, '<descriptions>', min_count=1,
                                       max_count=None)
    names, texts, owner = _flatten(descriptions)
    n_distinct = len(set(texts))
    if not 1 <= num_properties <= n_distinct:
        raise ValueError(f'num_properties K={num_properties} must be in [1, {n_distinct}] '
                         f'(number of distinct descriptions)')
    t0 = time.perf_counter()
    emb, inverse = _embed_unique(texts, model, batch_size, show_progress)
    t1 = time.perf_counter()
    weight = np.bincount(inverse, minlength=len(emb)).astype(np.float64) if weight_repeats \
        else None
    if facet_wise:
        facet_of = np.empty(len(emb), object)
        facet_of[inverse] = _text_facets(descriptions)
        groups = {f: np.flatnonzero(facet_of == f) for f in dict.fromkeys(facet_of.tolist())}
        sizes_f = _facet_sizes({f: len(i) for f, i in groups.items()}, num_properties)
        labels, centers, facets = np.empty(len(emb), np.int64), [], []
        for f, idx in groups.items():
            k_f = sizes_f[f]
            lab, cen = _cluster(emb[idx], k_f, method, n_init, seed,
                                None if weight is None else weight[idx])
            labels[idx] = lab + len(centers)
            centers += list(cen)
            facets += [f] * k_f
        centers = np.asarray(centers)
    else:
        labels, centers = _cluster(emb, num_properties, method, n_init, seed, weight)
        facets = None
    t2 = time.perf_counter()
    sizes = np.bincount(labels[inverse], minlength=num_properties)
    if (sizes == 0).any():
        raise ValueError(f'{method} left {int((sizes == 0).sum())} of K={num_properties} '
                         f'clusters empty (too few distinct embeddings, or minibatch on little '
                         f'data); lower num_properties or use method="kmeans"')
    # renumber clusters by decreasing number of descriptions (ties: first distinct text)
    first = np.array([np.flatnonzero(labels == k)[0] for k in range(num_properties)])
    order = np.lexsort((first, -sizes))
    relabel = np.empty(num_properties, np.int64)
    relabel[order] = np.arange(num_properties)
    labels = relabel[labels]
    centroids = l2_normalize(centers[order])
    text_cluster = labels[inverse]
    text_score = (emb[inverse] * centroids[text_cluster]).sum(1)
    vectors = np.zeros((len(names), num_properties), np.float32)
    vectors[owner, text_cluster] = 1.0
    info = {'embedding_model': model_name(model), 'num_properties': num_properties,
            'seed': seed, 'method': method, 'n_init': n_init, 'embed_dim': emb.shape[1],
            'weight_repeats': weight_repeats,
            'num_classes': len(names), 'num_descriptions': len(texts),
            'num_distinct_descriptions': n_distinct,
            'timing': {'embed_s': round(t1 - t0, 3), 'cluster_s': round(t2 - t1, 3)}}
    if facets is not None:
        info['property_facets'] = [facets[i] for i in order]
    return PropertySpace(names, vectors, centroids, {**info, **(meta or {})}, texts, owner,
                         text_cluster, text_score)


def assign_categories(space: PropertySpace, descriptions: Mapping[str, Sequence[str]],
                      model: ModelLike = None, batch_size: int = 64,
                      meta: dict | None = None,
                      min_similarity: float | None = None) -> PropertySpace:
    """Map NEW categories into ``space`` by nearest centroid (cosine), without re-clustering.

    Args:
        space: an existing property space.
        descriptions: ``{new category: [sentence, ...]}``, names not already in ``space``.
        model: embedding model; default (None): the one recorded in ``space.meta``. Must be
            the model the space was built with.
        meta: provenance of the new categories (e.g. ``sources``: their descriptions files),
            merged over the space's model / clustering settings.
        min_similarity: abstention: a sentence whose cosine to its nearest centroid is below
            it adds nothing to its category's vector (see :func:`kept_sentences`; a category
            whose sentences are all below keeps its single most similar one).
            ``meta['min_similarity']`` records it per new category. None: every sentence
            counts.
    Returns:
        PropertySpace of only the new categories (same centroids); ``space.extend(result)``
        gives the union. Every sentence keeps its nearest property and cosine
        (``text_cluster`` / ``text_score``), abstained or not (:func:`landing_report`).
    """
    descriptions = validate_categories(descriptions, '<descriptions>', min_count=1,
                                       max_count=None)
    overlap = [c for c in descriptions if c in space.class_names]
    if overlap:
        raise ValueError(f'categories already in the property space: {overlap}')
    built_with = space.meta.get('embedding_model')
    if model is None:
        model = built_with
    if built_with is not None and built_with != model_name(model):
        raise ValueError(f'space was built with embedding model {built_with!r}, '
                         f'got {model_name(model)!r}')
    names, texts, owner = _flatten(descriptions)
    emb, inverse = _embed_unique(texts, model, batch_size, False)
    if emb.shape[1] != space.embed_dim:
        raise ValueError(f'embedding dim {emb.shape[1]} != space embed_dim {space.embed_dim}')
    sim = emb[inverse] @ space.centroids.T
    facets = space.meta.get('property_facets')
    if facets:  # a facet-wise space: a sentence joins a property of its own facet
        allowed = np.array(_text_facets(descriptions), object)[:, None] == \
            np.array(facets, object)[None, :]
        sim = np.where(allowed, sim, -np.inf)
    text_cluster, text_score = sim.argmax(1), sim.max(1)
    keep = kept_sentences(text_score, owner, min_similarity)
    vectors = np.zeros((len(names), space.num_properties), np.float32)
    vectors[owner[keep], text_cluster[keep]] = 1.0
    inherited = {k: v for k, v in space.meta_for(len(names)).items()
                 if k not in ('sources', 'assigned', 'min_similarity')}
    if min_similarity is not None:
        inherited['min_similarity'] = {n: float(min_similarity) for n in names}
    return PropertySpace(names, vectors, space.centroids, {**inherited, **(meta or {})}, texts,
                         owner, text_cluster, text_score)


def kept_sentences(score: np.ndarray, owner: np.ndarray,
                   min_similarity: float | None) -> np.ndarray:
    """Which assigned sentences count (abstention rule of :func:`assign_categories`).

    Args:
        score: ``[N]`` cosine of each sentence to its nearest property centroid.
        owner: ``[N]`` category index of each sentence.
        min_similarity: threshold; None keeps every sentence.
    Returns:
        ``[N]`` bool: ``score >= min_similarity``, plus, for a category with no sentence at or
        above it, its most similar sentence (the first on ties) so that no category is left
        without a property.
    """
    score = np.asarray(score)
    if min_similarity is None:
        return np.ones(len(score), bool)
    keep = score >= min_similarity
    for c in np.unique(owner):
        idx = np.flatnonzero(owner == c)
        if not keep[idx].any():
            keep[idx[np.argmax(score[idx])]] = True
    return keep


def landing_report(space: PropertySpace,
                   categories: Sequence[str] | None = None) -> list[dict]:
    """Where each sentence of assigned categories landed.

    Args:
        space: a union holding the assigned categories (``space.extend(assign_categories(
            space, ...))``, or a saved one such as ``all.npz``).
        categories: whose sentences to list; default ``meta['assigned']``.
    Returns:
        one dict per sentence, in category then sentence order: ``category``, ``sentence``,
        ``property`` (index of the nearest centroid), ``property_name`` (as
        :meth:`PropertySpace.property_names` names it from the other categories'
        sentences), ``cosine``, ``min_similarity`` (None: no abstention), ``abstained``
        (adds nothing to the vector) and ``fallback`` (below the threshold, kept as its
        category's only sentence).
    """
    categories = list(space.meta.get('assigned', []) if categories is None else categories)
    if not categories:
        raise ValueError(f'{space.source}: no assigned categories recorded; name them')
    others = [n for n in space.class_names if n not in categories]
    names = (space.subset(others) if others else space).property_names()
    thresholds = space.meta.get('min_similarity', {})
    rows = []
    for name in categories:
        idx = np.flatnonzero(space.text_class == space.index(name))
        t = thresholds.get(name)
        score = space.text_score[idx]
        keep = kept_sentences(score, np.zeros(len(idx), np.int64), t)
        for i, s, k in zip(idx, score, keep):
            below = t is not None and s < t
            rows.append(dict(category=name, sentence=space.texts[i],
                             property=int(space.text_cluster[i]),
                             property_name=names[space.text_cluster[i]],
                             cosine=round(float(s), 4), min_similarity=t,
                             abstained=bool(not k), fallback=bool(below and k)))
    return rows


def landing_markdown(rows: Sequence[dict]) -> str:
    """:func:`landing_report` rows as a Markdown document, one table per category."""
    def cell(text: str) -> str:
        return str(text).replace('|', '\\|')

    lines = ['# Where the assigned categories\' sentences landed']
    for name in dict.fromkeys(r['category'] for r in rows):
        mine = [r for r in rows if r['category'] == name]
        t = mine[0]['min_similarity']
        dropped = sum(r['abstained'] for r in mine)
        lines += ['', f'## {name}', '',
                  f'min_similarity {"none" if t is None else f"{t:.4f}"}: {dropped} of '
                  f'{len(mine)} sentences abstained', '',
                  '| sentence | nearest property | cosine | counts |', '|---|---|---|---|']
        lines += [f'| {cell(r["sentence"])} | {cell(r["property_name"])} | {r["cosine"]:.3f} | '
                  + ('no (abstained)' if r['abstained'] else
                     'yes (only sentence kept)' if r['fallback'] else 'yes') + ' |'
                  for r in mine]
    return '\n'.join(lines) + '\n'
