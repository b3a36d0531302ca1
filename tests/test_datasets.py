"""Property-world: spec validation, generator, writer/CLI and the mmseg dataset class."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from PIL import Image

from projects.property_world import make_dataset
from projects.property_world.datasets import (ALL_CLASSES, PALETTE, SEEN_CLASSES,
                                              UNSEEN_CLASSES, PropertyWorldGenerator, SpecError,
                                              load_spec, write_property_world)
from projects.property_world.datasets.spec import DEFAULT_SPEC, TEXTURES, make_palette
from projects.property_world.datasets.textures import _TEXTURES

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'projects' / 'property_world' / 'configs'
BASE = CONFIGS / '_base_' / 'datasets'
NUM_SEEN = len(SEEN_CLASSES)


def _labels(root: Path, split: str) -> list[np.ndarray]:
    return [np.array(Image.open(p)) for p in sorted((root / 'ann_dir' / split).glob('*.png'))]


# --- spec --------------------------------------------------------------------------------------

def test_default_spec_constants():
    cats = load_spec()
    assert DEFAULT_SPEC.name == 'property_world_v2.json'
    assert len(ALL_CLASSES) == 29 and ALL_CLASSES == SEEN_CLASSES + UNSEEN_CLASSES
    assert (len(SEEN_CLASSES), len(UNSEEN_CLASSES)) == (23, 6)
    assert set(UNSEEN_CLASSES) == {'tiger', 'cheetah', 'lemon', 'blueberry',
                                   'checkered tablecloth', 'autumn leaves'}
    assert [c.name for c in cats] == list(ALL_CLASSES)
    assert len({tuple(p) for p in PALETTE}) == len(PALETTE) == 29
    assert PALETTE[0] == list(cats[0].color)  # sky is drawn in its own colour
    assert set(_TEXTURES) == set(TEXTURES)
    cfg = Config.fromfile(str(BASE / 'property_world.py'))
    assert 'seen_classes' not in cfg  # the classes come from the data's meta.json
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.class_subset == 'seen'
        assert 'metainfo' not in cfg[key].dataset


def test_model_config_matches_the_default_data(tmp_path):
    """num_classes and class_weight of the model base config are those of the default data
    (``projects.property_world.make_dataset`` defaults: seed 0, 200 train images, 64x64)."""
    from projects.property_world.experiments import class_weights, data_info
    cfg = Config.fromfile(str(CONFIGS / '_base_' / 'models' /
                              'fcn_r18-d8_property-world.py'))
    assert cfg.num_classes == NUM_SEEN == cfg.model.decode_head.num_classes
    write_property_world(tmp_path, num_val=0, num_calib=0, num_train_all=0)
    weights = class_weights(data_info(str(tmp_path)))
    assert len(weights) == NUM_SEEN
    assert cfg.class_weight == pytest.approx(weights, abs=1e-4)
    for head in ('decode_head', 'auxiliary_head'):
        assert cfg.model[head].loss_decode.class_weight == cfg.class_weight


def _spec_file(tmp_path: Path, edit, suffix: str = '.json') -> Path:
    data = json.loads(DEFAULT_SPEC.read_text())
    edit(data['categories'])
    path = tmp_path / f'spec{suffix}'
    if suffix == '.json':
        path.write_text(json.dumps(data))
    else:
        import yaml
        path.write_text(yaml.safe_dump(data))
    return path


def _set(index: int, **fields):
    return lambda cats: cats[index].update(fields)


@pytest.mark.parametrize('edit,message', [
    (_set(0, texture='furry'), r"categories\[0\] \('sky'\): unknown texture 'furry'"),
    (_set(1, color=[300, 0, 0]), r"categories\[1\] \('sea'\) field \"color\""),
    (_set(1, color='purple'), r"\('sea'\) field \"color\": unknown colour name 'purple'; the "
                              r"spec's \"colors\" define \['black', 'blue', 'green', 'grey', "
                              r"'orange', 'red', 'white', 'yellow'\]"),
    (_set(1, color=True), r"\('sea'\) field \"color\": expected \[r, g, b\]"),
    (_set(2, name='sky'), r"duplicate category name 'sky'"),
    (_set(3, colour=[1, 2, 3]), r"categories\[3\] \('grass'\): unknown field\(s\) \['colour'\]"),
    (lambda cats: cats[4].pop('shape'),
     r"categories\[4\] \('road'\): missing field\(s\) \['shape'\]"),
    (_set(5, position='left'), r"\('tiled floor'\): unknown position 'left'"),
    (_set(6, seen='yes'), r"\('cloud'\): field \"seen\" must be true or false"),
    (lambda cats: cats[13].pop('secondary_color'), r"\('zebra'\): texture 'striped' needs"),
    (_set(3, seen=False), r"seen categories must come before unseen ones; move \['road'"),
    (lambda cats: [c.update(shape='round') for c in cats if c['shape'] == 'stuff'],
     r'at least one seen category with shape "stuff"'),
], ids=['texture', 'color-range', 'color-name', 'color-type', 'duplicate', 'unknown-field', 'missing-field',
        'position', 'seen-type', 'secondary', 'order', 'no-stuff'])
def test_spec_errors_name_file_and_field(tmp_path, edit, message):
    path = _spec_file(tmp_path, edit)
    with pytest.raises(SpecError, match=message) as err:
        load_spec(path)
    assert str(path) in str(err.value)


def test_spec_yaml_and_file_errors(tmp_path):
    assert load_spec(_spec_file(tmp_path, lambda cats: None, '.yaml')) == load_spec()
    bad = tmp_path / 'bad.json'
    bad.write_text('{"categories": [')
    with pytest.raises(SpecError, match='bad.json: invalid JSON'):
        load_spec(bad)
    unsafe = tmp_path / 'unsafe.yaml'                  # a YAML spec holds plain data only
    unsafe.write_text('!!python/object/apply:os.getcwd []\n')
    with pytest.raises(SpecError, match='unsafe.yaml: invalid YAML'):
        load_spec(unsafe)
    with pytest.raises(SpecError, match='missing.json: spec file not found'):
        load_spec(tmp_path / 'missing.json')


# --- generator ---------------------------------------------------------------------------------

def test_generator_is_deterministic_and_index_addressable():
    gen = PropertyWorldGenerator(load_spec())
    a, b = gen.sample('val', 3, seed=7), gen.sample('val', 3, seed=7)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.label, b.label)
    assert a.image.shape == (64, 64, 3) and a.image.dtype == np.uint8
    assert a.label.shape == (64, 64) and a.label.dtype == np.uint8
    assert not np.array_equal(gen.sample('val', 3, seed=8).image, a.image)
    assert not np.array_equal(gen.sample('train', 3, seed=7).image, a.image)
    assert gen.sample('train', 0, seed=1).image.shape == (64, 64, 3)
    big = PropertyWorldGenerator(load_spec(), size=128).sample('train', 0)
    assert big.image.shape == (128, 128, 3)


def test_unseen_only_in_held_out_splits_for_a_fixed_share():
    from projects.property_world.datasets.generator import SPLITS, UNSEEN_SPLITS
    assert set(UNSEEN_SPLITS) == {'val', 'calib', 'train_all'} and set(SPLITS) == \
        set(UNSEEN_SPLITS) | {'train'}
    gen = PropertyWorldGenerator(load_spec())
    unseen_ids = set(range(NUM_SEEN, len(ALL_CLASSES)))
    for i in range(60):
        assert not unseen_ids & set(np.unique(gen.sample('train', i).label).tolist())
    drawn = [gen.unseen_for(i) for i in range(24)]
    assert sum(d is not None for d in drawn) == 12
    assert {d for d in drawn if d is not None} == unseen_ids  # every unseen category appears
    for split in UNSEEN_SPLITS:
        for i in range(12):
            present = set(np.unique(gen.sample(split, i).label).tolist()) & unseen_ids
            assert present == ({drawn[i]} if drawn[i] is not None else set()), (split, i)


@pytest.mark.parametrize('cat_id', range(len(ALL_CLASSES)), ids=ALL_CLASSES)
def test_every_category_renders(cat_id):
    scene = PropertyWorldGenerator(load_spec()).render(np.random.default_rng(cat_id), cat_id)
    assert (scene.label == cat_id).sum() >= 20
    assert scene.label.max() < len(ALL_CLASSES)


# --- writer and CLI ----------------------------------------------------------------------------

def test_written_dataset(property_world_root):
    from projects.property_world.datasets.spec import load_scene
    meta = json.loads((property_world_root / 'meta.json').read_text())
    assert meta['classes'] == list(ALL_CLASSES) and meta['unseen'] == list(UNSEEN_CLASSES)
    assert meta['seen'] == list(SEEN_CLASSES)
    assert (meta['seed'], meta['num_train'], meta['num_val']) == (0, 8, 4)
    # calib defaults to num_val, train_all to num_train
    assert meta['num_images'] == dict(train=8, val=4, calib=4, train_all=8)
    assert meta['attributes'] == {c.name: c.attributes() for c in load_spec()}
    assert meta['scene'] == json.loads(json.dumps(load_scene()))
    assert meta['scene']['num_things'] == [2, 4]  # the v2 spec's own layout
    assert len(meta['spec_sha256']) == 64
    labels = {split: _labels(property_world_root, split) for split in meta['num_images']}
    assert {k: len(v) for k, v in labels.items()} == meta['num_images']
    for split, labs in labels.items():
        counts = np.bincount(np.concatenate([lab.ravel() for lab in labs]),
                             minlength=len(ALL_CLASSES))
        assert meta['pixels_per_class'][split] == dict(zip(ALL_CLASSES, counts.tolist()))
    assert all(lab.max() < NUM_SEEN for lab in labels['train'])
    for split in ('val', 'calib'):
        assert sum(lab.max() >= NUM_SEEN for lab in labels[split]) == 2
        assert all(lab.max() < len(ALL_CLASSES) for lab in labels[split])
    assert sum(lab.max() >= NUM_SEEN for lab in labels['train_all']) == 4
    image = Image.open(property_world_root / 'img_dir' / 'train' / '00000.png')
    assert (image.mode, image.size) == ('RGB', (64, 64))


def test_cli_deterministic_and_overwrite_rules(tmp_path, property_world_root, capsys):
    main = make_dataset.main
    out = tmp_path / 'pw'
    main(['--out', str(out), '--num-train', '8', '--num-val', '4'])
    assert 'train: 8/8' in capsys.readouterr().out
    for split in ('train', 'val'):
        for ours, ref in zip(_labels(out, split), _labels(property_world_root, split)):
            assert np.array_equal(ours, ref)
    main(['--out', str(out), '--num-train', '2', '--num-val', '1'])  # a previous output: replaced
    assert len(_labels(out, 'train')) == 2
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='not empty.*--overwrite'):
        write_property_world(other, num_train=1, num_val=1)
    write_property_world(other, num_train=1, num_val=1, overwrite=True)
    assert (other / 'notes.txt').exists() and len(_labels(other, 'val')) == 1


# --- mmseg dataset class -----------------------------------------------------------------------

def _cfg(root: Path, name: str = 'property_world.py') -> Config:
    cfg = Config.fromfile(str(BASE / name))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = str(root)
    return cfg


def _batch(loader_cfg) -> dict:
    init_default_scope('mmseg')
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    assert type(loader.dataset).__name__ == 'PropertyWorldDataset'
    return next(iter(loader))


def test_mmseg_dataloader_reads_seen_classes(property_world_root):
    cfg = _cfg(property_world_root)
    assert cfg.custom_imports['imports'] == ['prolab_seg', 'projects.property_world']
    batch = _batch(cfg.train_dataloader)
    assert len(batch['inputs']) == 8 and batch['inputs'][0].shape == (3, 64, 64)
    sample = batch['data_samples'][0]
    assert sample.gt_sem_seg.data.shape == (1, 64, 64)
    assert set(sample.gt_sem_seg.data.unique().tolist()) <= set(range(NUM_SEEN)) | {255}
    val = _batch(cfg.val_dataloader)
    values = set().union(*(s.gt_sem_seg.data.unique().tolist() for s in val['data_samples']))
    assert 255 in values and max(values - {255}) < NUM_SEEN  # unseen objects are ignored


def test_zeroshot_config_evaluates_all_classes(property_world_root):
    cfg = _cfg(property_world_root, 'property_world_zeroshot.py')
    assert cfg.train_dataloader.dataset.class_subset == 'seen'
    val = _batch(cfg.val_dataloader)
    values = set().union(*(s.gt_sem_seg.data.unique().tolist() for s in val['data_samples']))
    assert 255 not in values and max(values) >= NUM_SEEN
    assert cfg.test_dataloader.dataset.class_subset == 'all'
    from mmseg.registry import DATASETS
    meta = DATASETS.build(cfg.test_dataloader.dataset).metainfo
    assert meta['classes'] == ALL_CLASSES
    assert (meta['seen'], meta['unseen']) == (list(SEEN_CLASSES), list(UNSEEN_CLASSES))
    meta = DATASETS.build(cfg.train_dataloader.dataset).metainfo
    assert meta['classes'] == SEEN_CLASSES and meta['unseen'] == []


def test_out_of_range_label_names_the_file(property_world_root, tmp_path):
    root = tmp_path / 'pw'
    shutil.copytree(property_world_root, root)
    bad = root / 'ann_dir' / 'val' / '00001.png'
    label = np.array(Image.open(bad))
    label[:2, :2] = 30
    Image.fromarray(label).save(bad)
    init_default_scope('mmseg')
    from mmseg.registry import DATASETS
    dataset = DATASETS.build(_cfg(root, 'property_world_zeroshot.py').val_dataloader.dataset)
    assert dataset.metainfo['palette'] == PALETTE
    dataset[0]
    with pytest.raises(ValueError, match=r'00001.png: label values \[30\] are neither'):
        dataset[1]


# --- compositional zero-shot rules (property-world v2) ------------------------------------------

def test_v2_spec_is_a_compositional_zero_shot_design():
    from projects.property_world.datasets.spec import V2_SPEC, zero_shot_violations
    cats = load_spec(V2_SPEC)
    assert zero_shot_violations(cats) == []
    unseen = [c for c in cats if not c.seen]
    assert any(not c.is_stuff for c in unseen)
    for cat in unseen:  # every value of an unseen category is carried by >= 3 seen categories
        for t, v in cat.attributes().items():
            assert sum(c.seen and c.attributes().get(t) == v for c in cats) >= 3, (cat.name, t)
    assert len({tuple(p) for p in make_palette(cats)}) == len(cats)


def test_v1_spec_breaks_the_rules_and_loads_only_with_them_off():
    from projects.property_world.datasets.spec import V1_SPEC
    assert len(load_spec(V1_SPEC)) == 24  # its file turns the rules off
    with pytest.raises(SpecError, match=r"texture 'grass' belongs to a single seen category "
                                        r"\('grass'\)"):
        load_spec(V1_SPEC, zero_shot_rules=True)


def _v2_file(tmp_path: Path, edit, spec: Path | None = None) -> Path:
    """The v2 spec (or ``spec``) with ``edit`` applied to its ``{name: category}``."""
    from projects.property_world.datasets.spec import V2_SPEC
    data = json.loads((spec or V2_SPEC).read_text())
    edit({c['name']: c for c in data['categories']})
    path = tmp_path / 'v2.json'
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize('edit,message', [
    (lambda c: c['snake'].update(color='grey', secondary_color='white'),
     r"color 'green' belongs to a single seen category \('grass'\)"),
    (lambda c: c['tiger'].update(color='green'),
     r"unseen 'tiger': color 'green' is carried by 2 seen categories \['grass', 'snake'\], "
     r"needs 3"),
    (lambda c: c['lemon'].update(color='orange'),
     r"unseen 'lemon' has the same attributes as seen 'orange'"),
    (lambda c: [c[n].update(shape='round') for n in ('fox',)] and c['cheetah'].update(
        color='orange'),
     r"unseen 'cheetah': color 'orange' always comes with shape 'round' in the seen categories "
     r"\['orange', 'basketball', 'fox'\]"),
    (lambda c: [c[n].update(shape='stuff', position='bottom', size='large')
                for n in ('tiger', 'cheetah', 'lemon', 'blueberry', 'checkered tablecloth')],
     r'every unseen category is stuff'),
], ids=['single-category-value', 'too-few-carriers', 'same-combination', 'confounded',
        'no-unseen-object'])
def test_zero_shot_rules_refuse_a_spec_naming_value_and_categories(tmp_path, edit, message):
    path = _v2_file(tmp_path, edit)
    with pytest.raises(SpecError, match=message) as err:
        load_spec(path)
    assert str(path) in str(err.value) and '--no-zero-shot-rules' in str(err.value)
    assert load_spec(path, zero_shot_rules=False)  # told otherwise: accepted


def test_make_dataset_refuses_a_confounded_spec_unless_told(tmp_path):
    path = _v2_file(tmp_path, lambda c: c['tiger'].update(color='green'))
    with pytest.raises(SpecError, match='needs 3'):
        make_dataset.main(['--out', str(tmp_path / 'd'), '--spec', str(path), '--num-train', '2',
                           '--num-val', '2'])
    assert not (tmp_path / 'd').exists()
    make_dataset.main(['--out', str(tmp_path / 'd'), '--spec', str(path), '--num-train', '2',
                       '--num-val', '2', '--no-zero-shot-rules'])
    meta = json.loads((tmp_path / 'd' / 'meta.json').read_text())
    assert meta['unseen'][0] == 'tiger' and len(meta['classes']) == 29


# --- the parts field (property-world v3) --------------------------------------------------------

@pytest.mark.parametrize('edit,message', [
    (lambda c: c['taxi'].update(parts='wings'),
     r"categories\[\d+\] \('taxi'\): unknown parts 'wings'; expected one of \['none', 'legs'"),
    (lambda c: c['taxi'].update(parts='legs'),
     r"\('taxi'\): parts 'legs' need shape 'elongated', got 'square'"),
    (lambda c: c['sky'].update(parts='stem_leaf'),
     r"\('sky'\): parts 'stem_leaf' need shape 'round', got 'stuff'"),
], ids=['unknown', 'wrong-shape', 'stuff'])
def test_parts_errors_name_file_category_and_field(tmp_path, edit, message):
    from projects.property_world.datasets.spec import V3_SPEC
    path = _v2_file(tmp_path, edit, V3_SPEC)
    with pytest.raises(SpecError, match=message) as err:
        load_spec(path, zero_shot_rules=False)
    assert str(path) in str(err.value)


@pytest.mark.parametrize('spec,edit,message', [
    ('property_world_v3.json', lambda c: c['koi'].update(parts='legs'),
     r"unseen 'goldfish': parts 'fins_tail' is carried by 2 seen categories "
     r"\['clownfish', 'shark'\], needs 3"),
    ('property_world_v3_split2.json',
     lambda c: [c[n].update(parts='none') for n in ('taxi', 'police car')],
     r"unseen 'ambulance': parts 'wheels' is carried by 2 seen categories "
     r"\['school bus', 'fire truck'\], needs 3"),
    ('property_world_v3.json',
     lambda c: [c[n].update(color='grey') for n in ('clownfish', 'shark', 'koi')],
     r"unseen 'goldfish': parts 'fins_tail' always comes with color 'grey' in the seen "
     r"categories \['clownfish', 'shark', 'koi'\]"),
    ('property_world_v2.json', lambda c: c['postbox'].update(parts='none'),
     r"parts 'none' belongs to a single seen category \('postbox'\)"),
], ids=['unseen-part-2-carriers', 'split2-2-carriers', 'confounded', 'single-carrier'])
def test_zero_shot_rules_check_parts(tmp_path, spec, edit, message):
    from projects.property_world.datasets.spec import SPECS
    path = _v2_file(tmp_path, edit, SPECS / spec)
    with pytest.raises(SpecError, match=message):
        load_spec(path)
    assert load_spec(path, zero_shot_rules=False)
