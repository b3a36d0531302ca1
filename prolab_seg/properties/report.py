"""The label-space report: how much a label space's categories share their properties.

:func:`label_space_report` gives, for a multi-hot label space (C categories, K properties):

* ``named_sentences`` -- descriptions that contain their own category's name, plural, alias or
  synonym (:func:`~.class_names.sentences_naming_category`); a sentence encoder clusters such
  sentences by name, which makes properties that hold one category;
* ``single_category`` -- properties holding exactly one category (a space where many do is
  close to one-hot; :data:`SINGLE_CATEGORY_WARNING` is the share that earns a warning);
* ``properties_per_category`` -- mean / min over categories, and the categories at the min;
* ``identical`` -- groups of categories with identical vectors (a head cannot tell them apart);
* ``nearest`` -- each category's nearest other categories by the cosine of their vectors.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .class_names import sentences_naming_category
from .label_space import LabelSpace

#: Share of single-category properties above which the report warns.
SINGLE_CATEGORY_WARNING = 0.2


def identical_groups(class_names: Sequence[str], vectors: np.ndarray) -> list[list[str]]:
    """Groups of categories whose rows of ``vectors[C, K]`` are identical."""
    if not len(class_names):
        return []
    _, inverse, counts = np.unique(vectors, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    return [[class_names[i] for i in np.flatnonzero(inverse == g)]
            for g in np.flatnonzero(counts > 1)]


def label_space_report(space: LabelSpace, descriptions: Mapping[str, Sequence] | None = None,
                       synonyms: Mapping[str, Sequence[str]] | None = None,
                       dataset: str | None = None, nearest: int = 3) -> dict:
    """Report on ``space`` (see the module docstring); JSON-serialisable.

    Args:
        space: a label space with 0/1 vectors ``[C, K]`` (``ValueError`` otherwise).
        descriptions: ``{category: [sentence, ...]}`` checked for names; default: the space's
            own descriptions (``space.texts`` of a property space), if any.
        synonyms: ``{category: [other names]}`` for the name check.
        dataset: dataset key whose class aliases also count as names (default:
            ``space.meta['dataset']``).
        nearest: nearest categories listed per category.
    """
    if not np.isin(space.vectors, (0.0, 1.0)).all():
        raise ValueError(f'label space {space.source}: the report needs 0/1 property vectors '
                         f'(a {type(space).__name__} has real-valued ones)')
    vectors = np.asarray(space.vectors) > 0
    names = space.class_names
    C, K = vectors.shape
    if descriptions is None:
        texts = getattr(space, 'texts', [])
        owner = getattr(space, 'text_class', [])
        descriptions = {c: [] for c in names}
        for text, c in zip(texts, owner):
            descriptions[names[c]].append(text)
    named = sentences_naming_category(descriptions, synonyms,
                                      dataset or space.meta.get('dataset'))
    per_property = vectors.sum(0)
    single = np.flatnonzero(per_property == 1)
    per_category = vectors.sum(1)
    low = int(per_category.min()) if C else 0
    sim = space.similarity() if C else np.zeros((0, 0))
    near = {}
    for i, c in enumerate(names):
        order = [j for j in np.argsort(-sim[i], kind='stable') if j != i][:nearest]
        near[c] = [[names[j], round(float(sim[i, j]), 4)] for j in order]
    return {
        'num_classes': C, 'num_properties': K,
        'num_descriptions': sum(len(v) for v in descriptions.values()),
        'named_sentences': {'count': len(named),
                            'sentences': [{'category': c, 'text': s} for c, s in named]},
        'single_category': {'count': int(len(single)),
                            'percent': round(100.0 * len(single) / K, 2) if K else 0.0,
                            'properties': {int(k): names[int(np.flatnonzero(vectors[:, k])[0])]
                                           for k in single}},
        'empty_properties': int((per_property == 0).sum()),
        'properties_per_category': {'mean': round(float(per_category.mean()), 3) if C else 0.0,
                                    'min': low,
                                    'at_min': [names[i] for i in np.flatnonzero(
                                        per_category == low)]},
        'identical': identical_groups(names, vectors),
        'nearest': near,
    }


def report_warnings(report: dict) -> list[str]:
    """One line per problem in ``report``: too many single-category properties, identical
    vectors, sentences naming their category."""
    lines = []
    single = report['single_category']
    if single['percent'] > 100 * SINGLE_CATEGORY_WARNING:
        lines.append(f'{single["count"]} of {report["num_properties"]} properties '
                     f'({single["percent"]:.1f} %) hold a single category (more than '
                     f'{100 * SINGLE_CATEGORY_WARNING:.0f} %): the space is close to one-hot; '
                     'name-free descriptions or a smaller K share more properties')
    for group in report['identical']:
        lines.append(f'identical property vectors: {", ".join(group)}')
    named = report['named_sentences']['count']
    if named:
        lines.append(f'{named} of {report["num_descriptions"]} descriptions name their own '
                     'category')
    return lines


def _some(names: Sequence[str], limit: int = 10) -> str:
    """Up to ``limit`` of ``names``, comma-separated, and how many more."""
    more = f' and {len(names) - limit} more' if len(names) > limit else ''
    return ', '.join(names[:limit]) + more


def report_lines(report: dict) -> list[str]:
    """The headline numbers of ``report``, one ``- ...`` line each."""
    single, per = report['single_category'], report['properties_per_category']
    lines = [f'- categories: {report["num_classes"]}, properties: {report["num_properties"]}',
             f'- properties holding a single category: {single["count"]} '
             f'({single["percent"]:.1f} %)',
             f'- properties per category: mean {per["mean"]:.2f}, min {per["min"]} '
             f'({_some(per["at_min"])})',
             f'- descriptions naming their own category: {report["named_sentences"]["count"]} '
             f'of {report["num_descriptions"]}',
             '- categories with identical vectors: '
             + ('; '.join(', '.join(g) for g in report['identical']) or 'none')]
    if report['empty_properties']:
        lines.append(f'- properties holding no category: {report["empty_properties"]}')
    return lines


def report_markdown(report: dict) -> list[str]:
    """``report`` as Markdown lines (a section of a space's summary)."""
    lines = ['## Label-space report', ''] + report_lines(report)
    lines += [f'- WARNING: {w}' for w in report_warnings(report)]
    if report['named_sentences']['sentences']:
        lines += ['', '### Descriptions naming their category', '']
        lines += [f'- {s["category"]}: {s["text"]}'
                  for s in report['named_sentences']['sentences']]
    lines += ['', '### Nearest categories (cosine of property vectors)', '',
              '| category | nearest |', '|---|---|']
    lines += [f'| {c} | ' + ', '.join(f'{n} {v:.2f}' for n, v in near) + ' |'
              for c, near in report['nearest'].items()]
    return lines
