"""Property-world category spec: load and validate the user-editable JSON/YAML file.

A spec lists categories, each drawn from visual attributes a sentence can state::

    {"format": "prolab-seg/property-world-spec@1",
     "zero_shot_rules": true,                       # optional, default true
     "colors": {"white": [240, 240, 240], ...},     # optional named colours
     "scene": {"num_things": [1, 3], "thing_scale": 1.0},   # optional scene layout
     "categories": [{"name": "zebra", "seen": true, "color": "white",
                     "secondary_color": [20, 20, 20], "texture": "striped",
                     "shape": "elongated", "parts": "legs", "position": "any",
                     "size": "medium"}, ...]}

A colour is ``[r, g, b]`` or a name from ``colors``. Seen categories come first; a category's
label id is its index in the list. ``parts`` (optional, spec v3) says which parts are drawn on
the body: ``legs`` (elongated: body, head, four legs), ``fins_tail`` (elongated: oval fish body,
tail fin, dorsal and belly fins), ``wheels`` (square: boxy vehicle body with a cab, a window band
and two wheels), ``stem_leaf`` (round: fruit with a stem and a leaf on top) or ``none`` (any
shape; elongated: a legless, tapered, curved or straight body). Without ``parts`` an elongated
category keeps the four-legged body of v1/v2 and the other shapes have no parts; a spec without
``parts`` renders exactly as before the field existed.

With ``zero_shot_rules`` the spec must be a compositional zero-shot design
(:func:`zero_shot_violations`, ``parts`` included); the v1 spec, which is not, turns them off.
"""
from __future__ import annotations

import colorsys
import functools
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from mmengine import fileio

from prolab_seg.errors import ProlabError
from prolab_seg.properties.descriptions import register_dataset

SPEC_FORMAT = 'prolab-seg/property-world-spec@1'
SPECS = Path(__file__).with_name('specs')
V1_SPEC = SPECS / 'property_world_v1.json'
#: Compositional zero-shot design (the default; v1 confounds attributes with categories).
V2_SPEC = SPECS / 'property_world_v2.json'
DEFAULT_SPEC = V2_SPEC
#: Compositional design whose things have the parts of the real ones (``parts``); two splits of
#: the same categories with disjoint unseen sets.
V3_SPEC = SPECS / 'property_world_v3.json'
V3_SPLIT2_SPEC = SPECS / 'property_world_v3_split2.json'
#: Descriptions dataset keys of the shipped specs: a descriptions file whose ``"dataset"`` is one
#: of them is checked against that spec's categories (registered on import, with K = 32:
#: 18 seen classes x ~14 sentences ~ 250 -> ~8 per property, close to the ~30 distinct attribute
#: values: colours, 9 textures, 4 shapes, 3 positions, 3 sizes). Both v3 splits have the same
#: categories, so ``property_world_v3`` holds for either.
DESCRIPTION_KEYS = {
    'property_world': DEFAULT_SPEC,
    'property_world_v1': V1_SPEC,
    'property_world_v3': V3_SPEC,
}

#: Textures drawn from two colours (``color`` and ``secondary_color``).
TWO_TONE_TEXTURES = ('wavy', 'striped', 'dotted', 'checkered')
#: Textures drawn from one colour (photo textures come from scikit-image's bundled photos).
ONE_TONE_TEXTURES = ('smooth', 'grainy', 'brick', 'gravel', 'grass')
TEXTURES = ONE_TONE_TEXTURES + TWO_TONE_TEXTURES
SHAPES = ('stuff', 'round', 'square', 'elongated')
POSITIONS = ('top', 'bottom', 'any')
SIZES = ('small', 'medium', 'large')
IGNORE_INDEX = 255
#: Parts drawn on a body (``parts``) -> the shapes that can carry them.
PART_SHAPES = dict(none=SHAPES, legs=('elongated', ), fins_tail=('elongated', ),
                   wheels=('square', ), stem_leaf=('round', ))
PARTS = tuple(PART_SHAPES)
#: Attribute types of a category (its ``attributes()`` keys).
ATTRIBUTE_TYPES = ('color', 'secondary_color', 'texture', 'shape', 'parts', 'position', 'size')
#: Types a value of an unseen category must not be confounded with in the seen categories; a
#: value of one of them must not belong to a single seen category.
APPEARANCE_TYPES = ('color', 'secondary_color', 'texture', 'shape', 'parts')
#: Seen categories that must carry each attribute value of an unseen category.
MIN_SEEN_PER_VALUE = 3

RGB = tuple[int, int, int]

_REQUIRED = ('name', 'seen', 'color', 'texture', 'shape', 'position', 'size')
_OPTIONAL = ('secondary_color', 'parts')
_CHOICES = dict(texture=TEXTURES, shape=SHAPES, position=POSITIONS, size=SIZES)


class SpecError(ProlabError, ValueError):
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
    color_name: str | None = None
    secondary_color_name: str | None = None
    parts: str | None = None

    @property
    def is_stuff(self) -> bool:
        return self.shape == 'stuff'

    def attributes(self) -> dict[str, str]:
        """Attribute type -> value (colours by name, else ``rgb(r,g,b)``; no secondary colour
        for one-tone textures, no ``parts`` unless the spec gives them)."""
        def colour(name, rgb):
            return name or 'rgb({},{},{})'.format(*rgb)
        out = dict(color=colour(self.color_name, self.color), texture=self.texture,
                   shape=self.shape, position=self.position, size=self.size)
        if self.secondary_color is not None:
            out['secondary_color'] = colour(self.secondary_color_name, self.secondary_color)
        if self.parts is not None:
            out['parts'] = self.parts
        return {t: out[t] for t in ATTRIBUTE_TYPES if t in out}


def _read(path: Path) -> object:
    """The spec file's data: YAML by suffix (safe loader: plain data only), else JSON."""
    if path.suffix.lower() in ('.yaml', '.yml'):
        import yaml
        try:
            return fileio.load(path, file_format='yaml', Loader=yaml.SafeLoader)
        except yaml.YAMLError as err:
            raise SpecError(f'{path}: invalid YAML: {err}') from err
    try:
        return fileio.load(path, file_format='json')
    except json.JSONDecodeError as err:
        raise SpecError(f'{path}: invalid JSON: {err}') from err


def _color(value: object, where: str, colors: dict[str, RGB]) -> tuple[RGB, str | None]:
    """-> (rgb, name or None) of ``[r, g, b]`` or a name from the spec's ``colors``."""
    if isinstance(value, str):
        if value not in colors:
            raise SpecError(f'{where}: unknown colour name {value!r}; the spec\'s "colors" '
                            f'define {sorted(colors)}')
        return colors[value], value
    return _rgb(value, where), None


def _rgb(value: object, where: str) -> RGB:
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255
                       for c in value)):
        raise SpecError(f'{where}: expected [r, g, b] with integers in 0..255, got {value!r}')
    return tuple(value)


def _category(entry: object, where: str, colors: dict[str, RGB]) -> Category:
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
    parts = entry.get('parts')
    if parts is not None and parts not in PARTS:
        raise SpecError(f'{where}: unknown parts {parts!r}; expected one of {list(PARTS)}')
    if parts is not None and entry['shape'] not in PART_SHAPES[parts]:
        raise SpecError(f'{where}: parts {parts!r} need shape '
                        f'{" or ".join(map(repr, PART_SHAPES[parts]))}, got {entry["shape"]!r}')
    secondary = entry.get('secondary_color')
    if entry['texture'] in TWO_TONE_TEXTURES and secondary is None:
        raise SpecError(f'{where}: texture {entry["texture"]!r} needs "secondary_color"')
    color, color_name = _color(entry['color'], f'{where} field "color"', colors)
    secondary, secondary_name = (None, None) if secondary is None else _color(
        secondary, f'{where} field "secondary_color"', colors)
    return Category(name=name, seen=entry['seen'], color=color, texture=entry['texture'],
                    shape=entry['shape'], position=entry['position'], size=entry['size'],
                    secondary_color=secondary, color_name=color_name,
                    secondary_color_name=secondary_name, parts=parts)


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


def _colors(data: dict, path: Path) -> dict[str, RGB]:
    colors = data.get('colors', {})
    if not isinstance(colors, dict):
        raise SpecError(f'{path}: "colors" must map colour names to [r, g, b]')
    return {str(k): _rgb(v, f'{path}: colors[{k!r}]') for k, v in colors.items()}


def zero_shot_violations(categories: list[Category]) -> list[str]:
    """Why ``categories`` are not a compositional zero-shot design (empty list: they are).

    Rules: no appearance value (``APPEARANCE_TYPES``: colour, secondary colour, texture, shape,
    parts) is carried by a single seen category (a layout value may be: v3's sky is the only
    thing at the top); every value of an unseen category is carried by at least
    ``MIN_SEEN_PER_VALUE`` seen categories, which do not all share another appearance value that
    the unseen category lacks (that value would be confounded with it); each unseen category is
    a new combination of values; at least one unseen category is an object (not stuff).
    """
    attrs_of = {c.name: c.attributes() for c in categories}
    seen = [c for c in categories if c.seen]
    unseen = [c for c in categories if not c.seen]
    carriers: dict[tuple[str, str], list[Category]] = {}
    for cat in seen:
        for key in attrs_of[cat.name].items():
            carriers.setdefault(key, []).append(cat)
    out = [f'{t} {v!r} belongs to a single seen category ({cats[0].name!r})'
           for (t, v), cats in carriers.items() if len(cats) == 1 and t in APPEARANCE_TYPES]
    combos = {tuple(attrs_of[c.name].items()): c.name for c in seen}
    for cat in unseen:
        attrs = attrs_of[cat.name]
        if tuple(attrs.items()) in combos:
            out.append(f'unseen {cat.name!r} has the same attributes as seen '
                       f'{combos[tuple(attrs.items())]!r}')
        for t, v in attrs.items():
            with_v = carriers.get((t, v), [])
            names = [c.name for c in with_v]
            if len(with_v) < MIN_SEEN_PER_VALUE:
                out.append(f'unseen {cat.name!r}: {t} {v!r} is carried by {len(with_v)} seen '
                           f'categories {names}, needs {MIN_SEEN_PER_VALUE}')
                continue
            for other in APPEARANCE_TYPES:
                shared = {attrs_of[c.name].get(other) for c in with_v}
                if other != t and len(shared) == 1 and None not in shared \
                        and attrs.get(other) not in shared:
                    out.append(f'unseen {cat.name!r}: {t} {v!r} always comes with {other} '
                               f'{shared.pop()!r} in the seen categories {names}')
    if unseen and all(c.is_stuff for c in unseen):
        out.append('every unseen category is stuff; include at least one object')
    return out


def load_spec(path: str | Path | None = None,
              zero_shot_rules: bool | None = None) -> list[Category]:
    """Load and validate a spec (JSON, or YAML by suffix); ``None`` loads the default.

    Args:
        zero_shot_rules: check :func:`zero_shot_violations` (``SpecError`` listing each);
            default: the spec's ``zero_shot_rules`` field (true when absent).
    """
    path = Path(path) if path is not None else DEFAULT_SPEC
    if not path.is_file():
        raise SpecError(f'{path}: spec file not found')
    data = _read(path)
    if not isinstance(data, dict) or not isinstance(data.get('categories'), list):
        raise SpecError(f'{path}: expected an object with a "categories" list')
    if data.get('format', SPEC_FORMAT) != SPEC_FORMAT:
        raise SpecError(f'{path}: unsupported format {data["format"]!r}; expected {SPEC_FORMAT!r}')
    colors = _colors(data, path)
    categories = [
        _category(entry, f'{path}: categories[{i}]', colors)
        for i, entry in enumerate(data['categories'])
    ]
    _check_list(categories, path)
    if zero_shot_rules is None:
        zero_shot_rules = data.get('zero_shot_rules', True)
        if not isinstance(zero_shot_rules, bool):
            raise SpecError(f'{path}: "zero_shot_rules" must be true or false')
    problems = zero_shot_violations(categories) if zero_shot_rules else []
    if problems:
        raise SpecError(f'{path}: not a compositional zero-shot spec:\n  ' + '\n  '.join(problems)
                        + '\n(set "zero_shot_rules": false in the spec, or pass '
                        '--no-zero-shot-rules, to use it anyway)')
    return categories


#: Scene layout settings a spec may give (``"scene"``), with their defaults.
SCENE_DEFAULTS = dict(num_things=(1, 3), thing_scale=1.0)


def load_scene(path: str | Path | None = None) -> dict:
    """The spec's ``"scene"`` settings (``SCENE_DEFAULTS`` for those it omits): ``num_things``
    (min, max seen objects per image) and ``thing_scale`` (multiplies object sizes)."""
    path = Path(path) if path is not None else DEFAULT_SPEC
    if not path.is_file():
        raise SpecError(f'{path}: spec file not found')
    data = _read(path)
    scene = data.get('scene', {}) if isinstance(data, dict) else {}
    if not isinstance(scene, dict) or set(scene) - set(SCENE_DEFAULTS):
        raise SpecError(f'{path}: "scene" must be an object with keys among '
                        f'{list(SCENE_DEFAULTS)}, got {scene!r}')
    out = dict(SCENE_DEFAULTS, **scene)
    lo_hi = out['num_things']
    if (not isinstance(lo_hi, (list, tuple)) or len(lo_hi) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in lo_hi)
            or lo_hi[0] > lo_hi[1]):
        raise SpecError(f'{path}: scene "num_things" must be [min, max] integers with '
                        f'0 <= min <= max, got {lo_hi!r}')
    scale = out['thing_scale']
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= 3:
        raise SpecError(f'{path}: scene "thing_scale" must be a number in (0, 3], '
                        f'got {out["thing_scale"]!r}')
    return dict(num_things=tuple(lo_hi), thing_scale=float(out['thing_scale']))


def spec_hash(categories: list[Category]) -> str:
    """SHA-256 of the canonical category list (independent of file formatting; a category
    without ``parts`` hashes as before the field existed)."""
    fields = [{k: v for k, v in asdict(c).items() if k != 'parts' or v is not None}
              for c in categories]
    canonical = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(canonical.encode('utf-8')).hexdigest()


#: (saturation, brightness) levels tried in turn, 100 hues each, by :func:`make_palette`.
_PALETTE_LEVELS = ((0.75, 0.9), (0.45, 0.9), (0.75, 0.6), (1.0, 0.4))


def make_palette(categories: list[Category], min_distance: int = 40) -> list[list[int]]:
    """Visualisation palette: each category's colour, or a distinct colour if that is taken
    (golden-ratio hues over a few saturation/brightness levels; the required L1 distance
    shrinks if the levels run out, so the loop always ends with distinct colours)."""
    palette: list[list[int]] = []
    hue, tries = 0.0, 0
    for cat in categories:
        color, needed = list(cat.color), min_distance
        while any(sum(abs(a - b) for a, b in zip(color, p)) < needed for p in palette):
            tries += 1
            hue = (hue + 0.618033988749895) % 1.0
            level = tries // 100
            sat, val = _PALETTE_LEVELS[level % len(_PALETTE_LEVELS)]
            color = [round(255 * c) for c in colorsys.hsv_to_rgb(hue, sat, val)]
            if level >= len(_PALETTE_LEVELS) and tries % 100 == 0:
                needed = max(1, needed // 2)
        palette.append(color)
    return palette


def spec_class_names(path: str | Path | None = None) -> list[str]:
    """A spec's category names in label order (the zero-shot rules not checked: v1 breaks
    them)."""
    return [c.name for c in load_spec(path, zero_shot_rules=False)]


_DEFAULT = load_spec()
ALL_CLASSES: tuple[str, ...] = tuple(c.name for c in _DEFAULT)
SEEN_CLASSES: tuple[str, ...] = tuple(c.name for c in _DEFAULT if c.seen)
UNSEEN_CLASSES: tuple[str, ...] = tuple(c.name for c in _DEFAULT if not c.seen)
PALETTE: list[list[int]] = make_palette(_DEFAULT)
for _key, _path in DESCRIPTION_KEYS.items():
    register_dataset(_key, functools.partial(spec_class_names, _path), num_properties=32)
