"""Property-world category spec: load and validate the user-editable JSON/YAML file.

A spec lists categories, each drawn from visual attributes a sentence can state::

    {"format": "prolab-seg/property-world-spec@1",
     "categories": [{"name": "zebra", "seen": true, "color": [240, 240, 240],
                     "secondary_color": [20, 20, 20], "texture": "striped",
                     "shape": "elongated", "position": "any", "size": "medium"}, ...]}

Seen categories come first; a category's label id is its index in the list.
"""
from __future__ import annotations

import colorsys
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

SPEC_FORMAT = 'prolab-seg/property-world-spec@1'
DEFAULT_SPEC = Path(__file__).with_name('specs') / 'property_world.json'

#: Textures drawn from two colours (``color`` and ``secondary_color``).
TWO_TONE_TEXTURES = ('wavy', 'striped', 'dotted', 'checkered')
#: Textures drawn from one colour (photo textures come from scikit-image's bundled photos).
ONE_TONE_TEXTURES = ('smooth', 'grainy', 'brick', 'gravel', 'grass')
TEXTURES = ONE_TONE_TEXTURES + TWO_TONE_TEXTURES
SHAPES = ('stuff', 'round', 'square', 'elongated')
POSITIONS = ('top', 'bottom', 'any')
SIZES = ('small', 'medium', 'large')
IGNORE_INDEX = 255

RGB = tuple[int, int, int]

_REQUIRED = ('name', 'seen', 'color', 'texture', 'shape', 'position', 'size')
_OPTIONAL = ('secondary_color', )
_CHOICES = dict(texture=TEXTURES, shape=SHAPES, position=POSITIONS, size=SIZES)


class SpecError(ValueError):
    """A property-world spec file is malformed (the message names file and field)."""


@dataclass(frozen=True)
class Category:
    """One property-world category and the attributes it is drawn from."""
    name: str
    seen: bool
    color: RGB
    texture: str
    shape: str
    position: str
    size: str
    secondary_color: RGB | None = None

    @property
    def is_stuff(self) -> bool:
        return self.shape == 'stuff'


def _read(path: Path) -> object:
    text = path.read_text(encoding='utf-8')
    if path.suffix.lower() in ('.yaml', '.yml'):
        import yaml
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise SpecError(f'{path}: invalid YAML: {err}') from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f'{path}: invalid JSON: {err}') from err


def _color(value: object, where: str) -> RGB:
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255
                       for c in value)):
        raise SpecError(f'{where}: expected [r, g, b] with integers in 0..255, got {value!r}')
    return tuple(value)


def _category(entry: object, where: str) -> Category:
    if not isinstance(entry, dict):
        raise SpecError(f'{where}: expected an object, got {type(entry).__name__}')
    name = entry.get('name')
    if isinstance(name, str) and name.strip():
        where = f'{where} ({name!r})'
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise SpecError(f'{where}: missing field(s) {missing}')
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise SpecError(f'{where}: unknown field(s) {unknown}; allowed: '
                        f'{list(_REQUIRED + _OPTIONAL)}')
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f'{where}: field "name" must be a non-empty string, got {name!r}')
    if not isinstance(entry['seen'], bool):
        raise SpecError(f'{where}: field "seen" must be true or false, got {entry["seen"]!r}')
    for field, choices in _CHOICES.items():
        if entry[field] not in choices:
            raise SpecError(f'{where}: unknown {field} {entry[field]!r}; '
                            f'expected one of {list(choices)}')
    secondary = entry.get('secondary_color')
    if entry['texture'] in TWO_TONE_TEXTURES and secondary is None:
        raise SpecError(f'{where}: texture {entry["texture"]!r} needs "secondary_color"')
    return Category(
        name=name,
        seen=entry['seen'],
        color=_color(entry['color'], f'{where} field "color"'),
        texture=entry['texture'],
        shape=entry['shape'],
        position=entry['position'],
        size=entry['size'],
        secondary_color=None if secondary is None else _color(
            secondary, f'{where} field "secondary_color"'))


def _check_list(categories: list[Category], path: Path) -> None:
    seen_names: set[str] = set()
    for cat in categories:
        if cat.name in seen_names:
            raise SpecError(f'{path}: duplicate category name {cat.name!r}')
        seen_names.add(cat.name)
    first_unseen = next((i for i, c in enumerate(categories) if not c.seen), len(categories))
    late = [c.name for c in categories[first_unseen:] if c.seen]
    if late:
        raise SpecError(f'{path}: seen categories must come before unseen ones; '
                        f'move {late} above {categories[first_unseen].name!r}')
    if not any(c.seen and c.is_stuff for c in categories):
        raise SpecError(f'{path}: needs at least one seen category with shape "stuff" '
                        f'(scene backgrounds are drawn from them)')
    if len(categories) >= IGNORE_INDEX:
        raise SpecError(f'{path}: {len(categories)} categories; at most {IGNORE_INDEX - 1} '
                        f'fit uint8 labels ({IGNORE_INDEX} = ignore)')


def load_spec(path: str | Path | None = None) -> list[Category]:
    """Load and validate a spec (JSON, or YAML by suffix); ``None`` loads the default."""
    path = Path(path) if path is not None else DEFAULT_SPEC
    if not path.is_file():
        raise SpecError(f'{path}: spec file not found')
    data = _read(path)
    if not isinstance(data, dict) or not isinstance(data.get('categories'), list):
        raise SpecError(f'{path}: expected an object with a "categories" list')
    if data.get('format', SPEC_FORMAT) != SPEC_FORMAT:
        raise SpecError(f'{path}: unsupported format {data["format"]!r}; expected {SPEC_FORMAT!r}')
    categories = [
        _category(entry, f'{path}: categories[{i}]')
        for i, entry in enumerate(data['categories'])
    ]
    _check_list(categories, path)
    return categories


def spec_hash(categories: list[Category]) -> str:
    """SHA-256 of the canonical category list (independent of file formatting)."""
    canonical = json.dumps([asdict(c) for c in categories], sort_keys=True)
    return hashlib.sha256(canonical.encode('utf-8')).hexdigest()


def make_palette(categories: list[Category], min_distance: int = 40) -> list[list[int]]:
    """Visualisation palette: each category's colour, or a distinct hue if that is taken."""
    palette: list[list[int]] = []
    hue = 0.0
    for cat in categories:
        color = list(cat.color)
        while any(sum(abs(a - b) for a, b in zip(color, p)) < min_distance for p in palette):
            hue = (hue + 0.618033988749895) % 1.0
            color = [round(255 * c) for c in colorsys.hsv_to_rgb(hue, 0.75, 0.9)]
        palette.append(color)
    return palette


def spec_metainfo(path: str | Path | None = None) -> dict:
    """mmseg dataset ``METAINFO`` (all classes in label order, palette) of a spec."""
    categories = load_spec(path)
    return dict(classes=tuple(c.name for c in categories), palette=make_palette(categories))


_DEFAULT = load_spec()
ALL_CLASSES: tuple[str, ...] = tuple(c.name for c in _DEFAULT)
SEEN_CLASSES: tuple[str, ...] = tuple(c.name for c in _DEFAULT if c.seen)
UNSEEN_CLASSES: tuple[str, ...] = tuple(c.name for c in _DEFAULT if not c.seen)
PALETTE: list[list[int]] = make_palette(_DEFAULT)
