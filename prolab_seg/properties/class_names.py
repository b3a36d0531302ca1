"""Category names: a file's names matched to a dataset's class list, how a list of names
differs from a class list (:func:`class_list_mismatch`), and sentences that name their own
category.

Matching (:func:`match_class_names`), first rule that applies:

1. the class name itself;
2. tolerant spelling: case, surrounding spaces, ``-`` / ``_`` / space, and a missing space
   (``'Wall_Other'``, ``'wall other'`` -> ``'wall-other'``; ``'potted plant'`` ->
   ``'pottedplant'``; ``'bed'`` -> ADE20K's ``'bed '``);
3. an alias of the dataset (``CLASS_ALIASES``, e.g. ADE20K ``'storage tank'`` -> ``'tank'``);
4. a COCO-Stuff class without its ``-other`` / ``-stuff`` suffix (``'wall'`` ->
   ``'wall-other'``) when only one class has that base;
5. a comma-separated list of names (ADE20K's objectInfo150 full names, ``'ashcan, trash can'``):
   its first part that matches by rules 1-4.

The name check (:func:`sentences_naming_category`) finds sentences that contain their
category's name, an alias of it or a listed synonym: case-insensitive, whole words, ``-`` /
``_`` read as spaces, the last word also in its plural (``+s``, ``+es``, ``y`` -> ``ies``), and
COCO-Stuff's ``-other`` / ``-stuff`` suffix dropped (``'wall-other'`` is named by "wall").
"""
from __future__ import annotations

import difflib
import re
from typing import Iterable, Mapping, Sequence

#: ``{dataset: {alias: class name}}``: other names of a dataset's classes, as other label
#: sets and ProLab's descriptor / property files spell them (ProLab's ADE20K files key class 122
#: as 'storage tank'). Spelling differences of case, hyphens and spaces need no entry.
CLASS_ALIASES: dict[str, dict[str, str]] = {
    'ade20k': {'storage tank': 'tank'},
    'coco_stuff': {'aeroplane': 'airplane', 'motorbike': 'motorcycle', 'tv monitor': 'tv',
                   'television': 'tv', 'sofa': 'couch', 'hair dryer': 'hair drier',
                   'playing field': 'playingfield', 'water drops': 'waterdrops'},
    'pascal_context59': {'airplane': 'aeroplane', 'motorcycle': 'motorbike',
                         'tv monitor': 'tvmonitor', 'tv': 'tvmonitor',
                         'potted plant': 'pottedplant', 'bed clothes': 'bedclothes'},
    'cityscapes': {'motorbike': 'motorcycle'},
    'bdd100k': {'motorbike': 'motorcycle'},
}
#: COCO-Stuff's suffixes for the remainder of a stuff group (``wall-other``, ``desk-stuff``).
GROUP_SUFFIXES = ('other', 'stuff')
#: Names listed at most per kind of difference by :func:`class_list_mismatch`.
MAX_LISTED = 20


def normalize_name(name: str) -> str:
    """``name`` case-folded, ``-`` / ``_`` as spaces, whitespace collapsed and stripped."""
    return ' '.join(re.sub(r'[-_]', ' ', name).casefold().split())


def base_name(name: str) -> str:
    """:func:`normalize_name` without a trailing COCO-Stuff group suffix
    (``'wall-other'`` -> ``'wall'``)."""
    words = normalize_name(name).split()
    if len(words) > 1 and words[-1] in GROUP_SUFFIXES:
        words = words[:-1]
    return ' '.join(words)


def _unique_index(keys: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``{key: class}`` of the keys that belong to exactly one class."""
    owners: dict[str, set[str]] = {}
    for key, cls in keys:
        owners.setdefault(key, set()).add(cls)
    return {k: next(iter(v)) for k, v in owners.items() if len(v) == 1}


class ClassNameMatcher:
    """Match names to ``classes`` by the rules of the module docstring.

    Args:
        classes: the class names, in label order.
        dataset: a key of ``CLASS_ALIASES`` (None: no aliases).
    """

    def __init__(self, classes: Sequence[str], dataset: str | None = None):
        self.classes = list(classes)
        self.dataset = dataset
        self._tolerant = _unique_index(
            [(normalize_name(c), c) for c in self.classes]
            + [(normalize_name(c).replace(' ', ''), c) for c in self.classes])
        aliases = CLASS_ALIASES.get(dataset or '', {})
        self._aliases = {normalize_name(a): c for a, c in aliases.items() if c in self.classes}
        self._bases = _unique_index((base_name(c), c) for c in self.classes)

    def _match_one(self, name: str) -> str | None:
        key = normalize_name(name)
        for found in (self._tolerant.get(key), self._tolerant.get(key.replace(' ', '')),
                      self._aliases.get(key), self._bases.get(key)):
            if found is not None:
                return found
        return None

    def match(self, name: str) -> str | None:
        """The class ``name`` stands for, or None."""
        if name in self.classes:
            return name
        for part in [name] + (name.split(',') if ',' in name else []):
            found = self._match_one(part)
            if found is not None:
                return found
        return None

    def close(self, name: str, n: int = 5) -> list[str]:
        """Up to ``n`` class names spelt like ``name`` (for error messages)."""
        by_key = {normalize_name(c): c for c in self.classes}
        return [by_key[k] for k in difflib.get_close_matches(normalize_name(name), list(by_key),
                                                              n=n, cutoff=0.5)]


def match_class_names(names: Sequence[str], classes: Sequence[str], dataset: str | None = None,
                      source: str = '<names>') -> dict[str, str]:
    """Map each of ``names`` (a file's category names) to one of ``classes``.

    Returns:
        ``{name: class name}`` for every name, in the order of ``names``.
    Raises:
        ValueError: naming ``source``: a name that matches no class (with the closest class
            names), or two names that match the same class.
    """
    matcher = ClassNameMatcher(classes, dataset)
    out: dict[str, str] = {}
    for name in names:
        found = matcher.match(name)
        if found is None:
            close = matcher.close(name)
            raise ValueError(f'{source}: category {name!r} is not a class of '
                             f'{dataset or "the class list"}'
                             + (f'; close class names: {close}' if close else '')
                             + '; add it to prolab_seg.properties.class_names.CLASS_ALIASES '
                             'if it is another name of a class')
        twice = [n for n, c in out.items() if c == found]
        if twice:
            raise ValueError(f'{source}: categories {twice[0]!r} and {name!r} both stand for '
                             f'class {found!r}')
        out[name] = found
    return out


def class_list_mismatch(names: Sequence[str], classes: Sequence[str],
                        ordered: bool = True) -> str | None:
    """How the category names ``names`` (of a label space or a file) differ from the class list
    ``classes``, in one phrase for an error message; None when they are the same names (in the
    same order, with ``ordered``).

    The phrase is ``missing [...], unexpected [...]`` (classes not among ``names``, names that
    are no class; at most ``MAX_LISTED`` of each, then ``(+N more)``), or ``same names,
    different order``.
    """
    names, classes = [str(n) for n in names], [str(c) for c in classes]
    if names == classes:
        return None
    name_set, class_set = set(names), set(classes)
    missing = [c for c in classes if c not in name_set]
    unexpected = [n for n in names if n not in class_set]
    if missing or unexpected:
        return f'missing {_listed(missing)}, unexpected {_listed(unexpected)}'
    return 'same names, different order' if ordered else None


def _listed(names: list[str]) -> str:
    more = len(names) - MAX_LISTED
    return f'{names[:MAX_LISTED]}' + (f' (+{more} more)' if more > 0 else '')


def naming_pattern(phrases: Iterable[str]) -> re.Pattern | None:
    """A regex finding any of ``phrases`` (each normalised, its last word also in plural) as
    whole words in a :func:`normalize_name`-d sentence; None if no phrase has a word."""
    alternatives = []
    for phrase in phrases:
        words = normalize_name(phrase).split()
        if not words:
            continue
        last = words[-1]
        forms = {last, last + 's', last + 'es'}
        if re.search(r'[^aeiou]y$', last):
            forms.add(last[:-1] + 'ies')
        last_re = '(?:' + '|'.join(map(re.escape, sorted(forms, key=len, reverse=True))) + ')'
        alternatives.append(r'\s+'.join([re.escape(w) for w in words[:-1]] + [last_re]))
    if not alternatives:
        return None
    return re.compile(r'(?<![0-9a-z])(?:' + '|'.join(alternatives) + r')(?![0-9a-z])')


def category_name_forms(category: str, synonyms: Sequence[str] = (),
                        dataset: str | None = None) -> list[str]:
    """The phrases that name ``category``: its base name (:func:`base_name`), its aliases in
    ``CLASS_ALIASES[dataset]`` and ``synonyms``."""
    aliases = [a for a, c in CLASS_ALIASES.get(dataset or '', {}).items() if c == category]
    return list(dict.fromkeys([base_name(category), *aliases, *synonyms]))


def sentences_of(value: Sequence[str] | Mapping[str, Sequence[str]]) -> list[str]:
    """A category's sentences: the list itself, or a facet-grouped dict's lists concatenated."""
    return [s for facet in value.values() for s in facet] if isinstance(value, Mapping) \
        else list(value)


def sentences_naming_category(categories: Mapping[str, Sequence[str]],
                              synonyms: Mapping[str, Sequence[str]] | None = None,
                              dataset: str | None = None) -> list[tuple[str, str]]:
    """Sentences that name their own category (see the module docstring).

    Args:
        categories: ``{category: [sentence, ...]}`` (facet-grouped values are flattened).
        synonyms: ``{category: [other names]}``.
        dataset: a key of ``CLASS_ALIASES``, whose aliases also count as names.
    Returns:
        ``[(category, sentence), ...]`` in file order.
    """
    found = []
    for category, value in categories.items():
        pattern = naming_pattern(category_name_forms(category, (synonyms or {}).get(category, ()),
                                                     dataset))
        if pattern is None:
            continue
        found += [(category, s) for s in sentences_of(value) if pattern.search(normalize_name(s))]
    return found
