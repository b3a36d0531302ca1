"""The descriptions file format (``descriptions/<dataset>.json``): load, validate, save.

Format ``prolab-seg/descriptions@1``::

    {"format": "prolab-seg/descriptions@1",
     "dataset": "ade20k",                  # dataset key (see DATASETS) or any name
     "model": "who/what wrote it",         # e.g. "gpt-4o-mini" or "hand-written"
     "prompt_version": "prolab-v3",
     "categories": {"wall": ["sentence", ...], ...},   # dataset class order
     "synonyms": {"wall": ["partition"], ...}}          # optional: other names of a category

A category's sentences may instead be grouped by ProLab's facets (``FACETS``, as the
``prolab-v2`` / ``prolab-v3-facets`` describe prompts answer):
``{"tiger": {"shape": [...], "color": [...], ...}}``; they are validated and embedded as the
concatenation of the facets' lists. ``synonyms`` feed the name check
(:func:`~.class_names.sentences_naming_category`: a sentence should not name its category).
Each category has ``MIN_DESCRIPTIONS``..``MAX_DESCRIPTIONS`` distinct, non-empty sentences
(other bounds: ``min_count`` / ``max_count``).

A plain ``{category: [sentence, ...]}`` object (ProLab's ``descriptors_<dataset>_*.json``)
loads given its ``dataset``: its names are matched to the dataset's class names
(:func:`~.class_names.match_class_names`; ``DescriptionSet.renamed`` lists the names that
changed) and the result is in class order.
Every validation error names the file, and the category / field at fault.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, NamedTuple, Sequence

from prolab_seg.errors import ProlabError

from .class_names import class_list_mismatch, match_class_names, sentences_of
from .files import atomic_write_text, sha256_file
from .names import category_names

FORMAT = 'prolab-seg/descriptions@1'
#: Default bounds on a category's sentences (ProLab's descriptors have 8-15).
MIN_DESCRIPTIONS = 8
MAX_DESCRIPTIONS = 20
#: ProLab's description facets (keys of a facet-grouped category): shape and orientation,
#: colour, texture, parts and features, context, material, variations. The first five are
#: those of the ``prolab-v2`` prompt; files keep facets in this order.
FACETS = ('shape', 'color', 'texture', 'parts', 'context', 'material', 'variations')
#: ``DescriptionSet.model`` / ``prompt_version`` of a plain ``{category: [sentences]}`` file.
UNKNOWN = 'unknown (plain file)'


class DatasetInfo(NamedTuple):
    """A known dataset key: ``classes``, where its category names come from -- the name of an
    mmseg dataset class (its ``METAINFO['classes']``) or a function returning them (keys added
    by :func:`register_dataset`) -- and ``num_properties``, the default K of its property
    space."""

    classes: str | Callable[[], Sequence[str]]
    num_properties: int


# K: ProLab uses 256 for ADE20K, 128 for Pascal Context, 32 for Cityscapes/BDD100K, i.e. about
# 6-10 descriptions per property at ~15 sentences per class. COCO-Stuff (171 classes, ~2.6k
# sentences) is ADE20K-sized -> 256 (~10 per property).
#: The known dataset keys; importing the project ``projects.property_world`` adds its specs'
#: keys (``projects.property_world.datasets.spec.DESCRIPTION_KEYS``).
DATASETS = {
    'ade20k': DatasetInfo('ADE20KDataset', 256),
    'coco_stuff': DatasetInfo('COCOStuffDataset', 256),
    'pascal_context59': DatasetInfo('PascalContextDataset59', 128),
    'cityscapes': DatasetInfo('CityscapesDataset', 32),
    'bdd100k': DatasetInfo('BDD100KDataset', 32),
}
#: dataset key -> default K (a view of ``DATASETS``).
DEFAULT_NUM_PROPERTIES = {key: info.num_properties for key, info in DATASETS.items()}


def register_dataset(key: str, classes: Callable[[], Sequence[str]],
                     num_properties: int) -> None:
    """Make ``key`` a known dataset key whose category names ``classes()`` returns (called when
    needed, in label order), with default K ``num_properties``. Lets a dataset defined outside
    the label-space code (e.g. a property-world spec) name its classes without this module
    importing it."""
    DATASETS[key] = DatasetInfo(classes, num_properties)
    DEFAULT_NUM_PROPERTIES[key] = num_properties


class DescriptionsError(ProlabError, ValueError):
    """A descriptions file or dict is malformed; the message names file and category."""


@dataclass
class DescriptionSet:
    """Descriptions of a dataset's categories plus their provenance."""

    categories: dict[str, list[str]]
    dataset: str
    model: str
    prompt_version: str
    path: str | None = None
    sha256: str | None = None
    #: ``{category: [other names]}`` (the file's optional ``synonyms``).
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    #: ``{name in the file: class name}`` for the names a plain file spelt differently.
    renamed: dict[str, str] = field(default_factory=dict)

    def source_meta(self) -> dict:
        """Provenance record stored in a property space's metadata."""
        meta = {'path': self.path, 'sha256': self.sha256, 'dataset': self.dataset,
                'model': self.model, 'prompt_version': self.prompt_version,
                'num_categories': len(self.categories),
                'num_descriptions': sum(len(v) for v in self.categories.values())}
        if self.renamed:
            meta['renamed'] = dict(self.renamed)
        return meta


def dataset_class_names(dataset: str) -> list[str]:
    """Category names of a known dataset key, in label order (``KeyError`` if unknown)."""
    if dataset not in DATASETS:
        raise KeyError(f'unknown dataset {dataset!r}; known: {sorted(DATASETS)}')
    classes = DATASETS[dataset].classes
    if callable(classes):
        return list(classes())
    import mmseg.datasets
    return list(getattr(mmseg.datasets, classes).METAINFO['classes'])


def validate_categories(categories: object, source: str = '<dict>',
                        classes: Sequence[str] | None = None,
                        min_count: int = MIN_DESCRIPTIONS,
                        max_count: int | None = MAX_DESCRIPTIONS) -> dict:
    """Check a ``{category: [sentence, ...] or {facet: [sentence, ...]}}`` mapping; return it
    with names in Unicode NFC and sentences stripped (facet-grouped categories stay grouped, in
    ``FACETS`` order).

    Args:
        categories: the mapping to check.
        source: file name (or other label) used in error messages.
        classes: if given, the categories must be exactly these names (order not enforced).
        min_count, max_count: allowed number of sentences per category (None: no maximum).
    Raises:
        DescriptionsError: naming ``source`` and the offending category (also for control
            characters in a name, and for NFC and NFD spellings of one name).
    """
    if not isinstance(categories, Mapping) or not categories:
        raise DescriptionsError(f'{source}: "categories" must be a non-empty object')
    names = category_names(categories, source, DescriptionsError)
    categories = dict(zip(names, categories.values()))
    if classes is not None:
        classes = category_names(classes, f'{source} (class list)', DescriptionsError)
        mismatch = class_list_mismatch(list(categories), classes, ordered=False)
        if mismatch:
            raise DescriptionsError(
                f'{source}: categories do not match the class list: {mismatch}')
    out = {}
    for name, sentences in categories.items():
        where = f'{source}: category {name!r}'
        facets = None
        if isinstance(sentences, Mapping):
            facets = sentences
            unknown = [f for f in facets if f not in FACETS]
            if unknown or not all(isinstance(v, list) for v in facets.values()):
                raise DescriptionsError(f'{where}: facet-grouped sentences need lists under '
                                        f'facets {list(FACETS)}; got {list(facets)}')
            sentences = sentences_of(facets)
        if not isinstance(sentences, list) or not sentences:
            raise DescriptionsError(f'{where}: expected a non-empty list of sentences, '
                                    f'got {type(sentences).__name__} {sentences!r:.60}')
        seen = {}
        for i, s in enumerate(sentences):
            if not isinstance(s, str):
                raise DescriptionsError(f'{where}: entry {i} is {type(s).__name__}, not a string')
            if not s.strip():
                raise DescriptionsError(f'{where}: entry {i} is empty')
            key = ' '.join(s.split()).casefold()
            if key in seen:
                raise DescriptionsError(
                    f'{where}: entries {seen[key]} and {i} are duplicates: {s.strip()!r}')
            seen[key] = i
        if len(sentences) < min_count or (max_count is not None and len(sentences) > max_count):
            raise DescriptionsError(f'{where}: has {len(sentences)} sentences, expected '
                                    f'{min_count}-{max_count}')
        out[name] = [s.strip() for s in sentences] if facets is None else {
            f: [s.strip() for s in facets[f]] for f in FACETS if f in facets}
    return out


def _no_duplicate_keys(source: str):
    def hook(pairs):
        keys = [k for k, _ in pairs]
        dups = sorted({k for k in keys if keys.count(k) > 1})
        if dups:
            raise DescriptionsError(f'{source}: duplicate keys {dups}')
        return dict(pairs)
    return hook


def validate_synonyms(synonyms: object, categories: Sequence[str],
                      source: str = '<dict>') -> dict[str, list[str]]:
    """Check a ``{category: [other name, ...]}`` mapping (categories among ``categories``,
    non-empty strings); return it with category names in Unicode NFC and names stripped.

    Raises:
        DescriptionsError: naming ``source`` and the offending category.
    """
    if not isinstance(synonyms, Mapping):
        raise DescriptionsError(f'{source}: "synonyms" must be an object '
                                '{category: [name, ...]}')
    keys = category_names(synonyms, f'{source} ("synonyms")', DescriptionsError)
    unknown = [c for c in keys if c not in set(categories)]
    if unknown:
        raise DescriptionsError(f'{source}: "synonyms" of categories not in the file: {unknown}')
    out = {}
    for name, names in zip(keys, synonyms.values()):
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip()
                                                  for n in names):
            raise DescriptionsError(f'{source}: synonyms of {name!r} must be a list of '
                                    f'non-empty strings, got {names!r:.60}')
        out[name] = [n.strip() for n in names]
    return out


def read_json(path: Path) -> object:
    """The JSON value in ``path``; ``DescriptionsError`` naming the file if unreadable."""
    source = str(path)
    try:
        text = path.read_bytes().decode('utf-8')
    except UnicodeDecodeError as e:
        raise DescriptionsError(f'{source}: not valid UTF-8 ({e})') from None
    except OSError as e:
        raise DescriptionsError(f'{source}: cannot read ({e.strerror})') from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys(source))
    except json.JSONDecodeError as e:
        raise DescriptionsError(f'{source}: invalid JSON ({e})') from None


def dataset_class_matches(names: Sequence[str], dataset: str | None, source: str,
                          classes: Sequence[str] | None = None
                          ) -> tuple[list[str], dict[str, str]]:
    """``names`` of a file matched to the class names of ``dataset`` (or to ``classes``,
    with ``dataset``'s aliases) by :func:`~.class_names.match_class_names`
    -> (class list, ``{name: class}``).

    Raises:
        DescriptionsError: naming ``source``: no ``classes`` and ``dataset`` unknown, or a name
            that matches no class / a class twice.
    """
    if classes is None:
        if dataset not in DATASETS:
            raise DescriptionsError(f'{source}: unknown dataset {dataset!r}; known: '
                                    f'{sorted(DATASETS)}')
        classes = dataset_class_names(dataset)
    try:
        return list(classes), match_class_names(names, classes, dataset, source)
    except ValueError as e:
        raise DescriptionsError(str(e)) from None


def check_dataset_key(dataset: str, names: Sequence[str], classes: Sequence[str],
                      source: str) -> None:
    """Raise unless the categories ``names`` of file ``source``, whose ``"dataset"`` is the
    known key ``dataset``, are that dataset's ``classes``; the error names the key, the
    categories that differ and the fix (another key whose classes they are, or a name that is
    not a known key, e.g. the spec's)."""
    mismatch = class_list_mismatch(names, classes, ordered=False)
    if not mismatch:
        return
    matching = [k for k in DATASETS if k != dataset and set(dataset_class_names(k)) == set(names)]
    fix = (f'set "dataset" to {matching[0]!r}, whose classes these are' if matching else
           'for other categories (e.g. your own --spec), set "dataset" to a name that is not a '
           f'known dataset key, e.g. the spec\'s file name (known keys: {sorted(DATASETS)})')
    raise DescriptionsError(
        f'{source}: its "dataset" is {dataset!r}, a known dataset key, so its categories must '
        f'be the classes of {dataset!r}; they differ: {mismatch}. Fix: {fix}')


def load_descriptions(path: str | os.PathLike, classes: Sequence[str] | None = None,
                      min_count: int = MIN_DESCRIPTIONS,
                      max_count: int | None = MAX_DESCRIPTIONS,
                      dataset: str | None = None,
                      dataset_classes: bool = True) -> DescriptionSet:
    """Load and validate a descriptions file: the documented format, or a plain
    ``{category: [sentences]}`` object (ProLab's descriptors) when ``dataset`` is given.

    Args:
        path: ``descriptions/<dataset>.json``.
        classes: expected category names; default: the dataset's class list when the file's
            ``dataset`` is a key of ``DATASETS`` and ``dataset_classes``
            (:func:`check_dataset_key`), else no check.
        min_count, max_count: allowed number of sentences per category (None: no maximum).
        dataset: a key of ``DATASETS``; needed for a plain file, whose names are then matched
            to the dataset's class names (see the module docstring). For a file of the
            documented format it must equal the file's ``dataset``.
    Raises:
        DescriptionsError: bad encoding / JSON / format / fields / categories, naming the file.
    """
    path = Path(path)
    source = str(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise DescriptionsError(f'{source}: top level must be a JSON object')
    if 'format' not in data and dataset is not None:
        return _load_plain(path, data, dataset, classes, min_count, max_count)
    if data.get('format') != FORMAT:
        raise DescriptionsError(
            f'{source}: field "format" is {data.get("format")!r}, expected {FORMAT!r}'
            + ('' if 'format' in data else '; a plain {category: [sentences]} file (ProLab\'s '
               'descriptors) loads given its dataset (--dataset)'))
    for key in ('dataset', 'model', 'prompt_version'):
        if not isinstance(data.get(key), str) or not data[key]:
            raise DescriptionsError(f'{source}: field {key!r} must be a non-empty string')
    if dataset is not None and dataset != data['dataset']:
        raise DescriptionsError(f'{source}: the file is for dataset {data["dataset"]!r}, '
                                f'not {dataset!r}')
    known = classes is None and dataset_classes and data['dataset'] in DATASETS
    categories = validate_categories(data.get('categories'), source, classes, min_count, max_count)
    if known:
        classes = category_names(dataset_class_names(data['dataset']), source)
        check_dataset_key(data['dataset'], list(categories), classes, source)
    if classes is not None:
        categories = {c: categories[c] for c in category_names(classes, source)}
    synonyms = validate_synonyms(data.get('synonyms', {}), list(categories), source)
    return DescriptionSet(categories=categories, dataset=data['dataset'], model=data['model'],
                          prompt_version=data['prompt_version'], path=source,
                          sha256=sha256_file(path), synonyms=synonyms)


def _load_plain(path: Path, data: dict, dataset: str, classes: Sequence[str] | None,
                min_count: int, max_count: int | None) -> DescriptionSet:
    """A plain ``{category: [sentences]}`` file of ``dataset``, names matched to its classes
    (or to ``classes``)."""
    source = str(path)
    classes, renamed = dataset_class_matches(list(data), dataset, source, classes)
    categories = validate_categories({renamed[k]: v for k, v in data.items()}, source, classes,
                                     min_count, max_count)
    return DescriptionSet(categories={c: categories[c] for c in category_names(classes, source)},
                          dataset=dataset,
                          model=UNKNOWN, prompt_version=UNKNOWN, path=source,
                          sha256=sha256_file(path),
                          renamed={k: c for k, c in renamed.items() if k != c})


def save_descriptions(path: str | os.PathLike, descriptions: DescriptionSet) -> None:
    """Validate and write ``descriptions`` in the documented format (atomic write); the
    ``synonyms`` field is written when there are any."""
    categories = validate_categories(descriptions.categories, str(path))
    data = {'format': FORMAT, 'dataset': descriptions.dataset, 'model': descriptions.model,
            'prompt_version': descriptions.prompt_version,
            'categories': categories}
    if descriptions.synonyms:
        data['synonyms'] = validate_synonyms(descriptions.synonyms, list(categories), str(path))
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + '\n')


def merge_descriptions(sets: Sequence[DescriptionSet]) -> dict[str, list[str]]:
    """Union of several description sets' categories; a category in two sets is an error."""
    merged: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for s in sets:
        for name, sentences in s.categories.items():
            if name in merged:
                raise DescriptionsError(f'category {name!r} is in both {owner[name]} and {s.path}')
            merged[name], owner[name] = sentences, str(s.path)
    return merged
