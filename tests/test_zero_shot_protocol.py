"""The zero-shot protocol on data of any spec: classes from the data's meta.json, the calib split
held out from the reported val split, the demo/benchmark helpers of
projects/property_world/experiments.py, class-weighted cosine loss,
PropertyHead(test_classes='new'), the attribute probe and the spec's scene settings. Everything
runs on a custom spec (4 unseen categories, renamed) so that nothing can silently fall back to
the default spec's classes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from PIL import Image

import prolab_seg  # noqa: F401  (registers the dataset, head, loss)
from mmseg.registry import DATASETS, MODELS
from prolab_seg.evaluation import attribute_probe
from prolab_seg.models.prolab import CosineSimilarityLoss, LabelTargets, set_inference_categories
from prolab_seg.properties import AttributeSpace, PropertySpace, load_label_space
from prolab_seg.properties.class_names import sentences_of

from projects.property_world import experiments
from projects.property_world.datasets import write_property_world
from projects.property_world.datasets.generator import PropertyWorldGenerator
from projects.property_world.datasets.spec import (ALL_CLASSES, V2_SPEC, SpecError, load_scene,
                                                   load_spec)

init_default_scope('mmseg')

#: v2 categories renamed in the custom spec (so no name is one of the default spec's)
RENAME = {'sky': 'heaven', 'tiger': 'striped fox', 'cheetah': 'spotted cat',
          'lemon': 'citron', 'blueberry': 'bilberry'}
DROPPED = ('checkered tablecloth', 'autumn leaves')
UNSEEN = ['striped fox', 'spotted cat', 'citron', 'bilberry']
COUNTS = dict(train=6, val=8, calib=4, train_all=2)


def _custom_spec(path: Path, **top) -> Path:
    data = json.loads(V2_SPEC.read_text())
    data['categories'] = [dict(c, name=RENAME.get(c['name'], c['name']))
                          for c in data['categories'] if c['name'] not in DROPPED]
    data.update(top)
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope='module')
def custom(tmp_path_factory):
    """(spec path, data root) of a 4-unseen-category spec written at the demo's tiny size."""
    d = tmp_path_factory.mktemp('custom_pw')
    spec = _custom_spec(d / 'spec.json')
    root = d / 'data'
    write_property_world(root, spec=spec, num_train=COUNTS['train'], num_val=COUNTS['val'],
                         num_calib=COUNTS['calib'], num_train_all=COUNTS['train_all'])
    return spec, root


@pytest.fixture(scope='module')
def meta(custom):
    return json.loads((custom[1] / 'meta.json').read_text())


@pytest.fixture(scope='module')
def info(custom):
    return experiments.data_info(str(custom[1]))


@pytest.fixture(scope='module')
def descriptions():
    """The shipped v2 descriptions under the custom spec's names."""
    cats = json.loads(Path(experiments.DESCRIPTIONS).read_text())['categories']
    return {RENAME.get(n, n): v for n, v in cats.items() if n not in DROPPED}


def _labels(root: Path, split: str) -> list[np.ndarray]:
    return [np.array(Image.open(p)) for p in sorted((root / 'ann_dir' / split).glob('*.png'))]


def _images(root: Path, split: str) -> list[np.ndarray]:
    return [np.array(Image.open(p)) for p in sorted((root / 'img_dir' / split).glob('*.png'))]


# ------------------------------------------------------------------ a. classes from meta.json
def _dataset(root, split='val', **kw):
    return DATASETS.build(dict(
        type='PropertyWorldDataset', data_root=str(root),
        data_prefix=dict(img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                  dict(type='PackSegInputs')], **kw))


def test_custom_spec_is_written_with_its_own_classes(custom, meta):
    cats = load_spec(custom[0])  # still a compositional zero-shot design (rules on)
    assert [c.name for c in cats if not c.seen] == UNSEEN
    assert meta['unseen'] == UNSEEN and len(meta['seen']) == 23
    assert meta['classes'] == meta['seen'] + meta['unseen'] == [c.name for c in cats]
    assert meta['num_images'] == COUNTS
    # renamed: none of these names is the default spec's
    assert 'heaven' in meta['seen'] and not set(UNSEEN + ['heaven']) & set(ALL_CLASSES)


@pytest.mark.parametrize('subset', ['all', 'seen', 'unseen'])
def test_dataset_classes_and_labels_come_from_meta_json(custom, meta, subset):
    root = custom[1]
    ds = _dataset(root, class_subset=subset)
    want = dict(all=meta['classes'], seen=meta['seen'], unseen=meta['unseen'])[subset]
    info = ds.metainfo
    assert info['classes'] == tuple(want)
    assert info['seen'] == [c for c in want if c in meta['seen']]
    assert info['unseen'] == [c for c in want if c in meta['unseen']]
    assert info['palette'] == [meta['palette'][meta['classes'].index(c)] for c in want]
    # data label id -> id in the subset, 255 for the classes left out
    lut = np.full(256, 255, np.int64)
    for i, c in enumerate(meta['classes']):
        if c in want:
            lut[i] = want.index(c)
    raws = _labels(root, 'val')
    assert len(ds) == len(raws) == COUNTS['val']
    for i, raw in enumerate(raws):
        got = ds[i]['data_samples'].gt_sem_seg.data[0].numpy()
        assert np.array_equal(got, lut[raw]), i
    ids = set(np.unique(np.concatenate([lut[r].ravel() for r in raws])).tolist())
    if subset == 'seen':  # the unseen objects of val are ignored
        assert 255 in ids and max(ids - {255}) < 23
    elif subset == 'unseen':
        assert ids - {255} == set(range(4))
    else:
        assert 255 not in ids and max(ids) >= 23


def test_explicit_classes_and_their_conflict_with_class_subset(custom, meta):
    root = custom[1]
    pick = ('citron', 'heaven')  # any order, any group
    ds = _dataset(root, metainfo=dict(classes=pick))
    assert ds.metainfo['classes'] == pick
    assert (ds.metainfo['seen'], ds.metainfo['unseen']) == (['heaven'], ['citron'])
    with pytest.raises(ValueError, match='either class_subset or metainfo'):
        _dataset(root, class_subset='seen', metainfo=dict(classes=pick))
    with pytest.raises(ValueError, match=r"\['sky'\] are not in the data's classes"):
        _dataset(root, metainfo=dict(classes=('sky', )))  # a default-spec name, not this data's
    with pytest.raises(ValueError, match='class_subset must be one of'):
        _dataset(root, class_subset='new')


@pytest.mark.parametrize('edit,field', [
    (lambda m: '{"format": ', 'not a readable JSON file'),
    (lambda m: json.dumps(dict(m, format='other')), 'expected "format"'),
    (lambda m: json.dumps({k: v for k, v in m.items() if k != 'seen'}),
     "field 'seen' must be a list"),
    (lambda m: json.dumps(dict(m, unseen='citron')), "field 'unseen' must be a list"),
    (lambda m: json.dumps(dict(m, seen=m['seen'][1:])), '"classes" must be "seen" followed by'),
], ids=['json', 'format', 'missing-seen', 'unseen-type', 'order'])
def test_malformed_meta_json_is_a_value_error_naming_the_file(custom, tmp_path, edit, field):
    root = tmp_path / 'pw'
    shutil.copytree(custom[1], root)
    path = root / 'meta.json'
    path.write_text(edit(json.loads(path.read_text())))
    with pytest.raises(ValueError, match=field) as err:
        _dataset(root, class_subset='seen')
    assert str(path) in str(err.value)


# ------------------------------------------------------------------ b. calib never overlaps val
def test_calib_and_val_images_are_different(custom):
    root = custom[1]
    calib, val = _images(root, 'calib'), _images(root, 'val')
    assert (len(calib), len(val)) == (COUNTS['calib'], COUNTS['val'])
    for i, c in enumerate(calib):
        for j, v in enumerate(val):
            assert not np.array_equal(c, v), (i, j)
    # and calib holds unseen categories, as val does (a calibration needs them)
    assert any(lab.max() >= 23 for lab in _labels(root, 'calib'))


def test_generalized_zero_shot_calibrates_on_calib_and_reports_val(monkeypatch, tmp_path):
    calls = []
    calib_best, val_best = 0.2, 0.4
    assert {calib_best, val_best} <= set(experiments.CALIBRATIONS)

    def fake_evaluate(config, checkpoint, options, work_dir, quiet=True):
        calls.append(dict(options))
        g = options['model.decode_head.seen_calibration']
        prefix = options.get(experiments.SPLIT_PREFIX)
        if prefix is not None:
            assert prefix == dict(img_path='img_dir/calib', seg_map_path='ann_dir/calib')
            h = 50 - 100 * abs(g - calib_best)  # calib favours 0.2
        else:
            h = 60 - 100 * abs(g - val_best)  # val would favour 0.4: must not be looked at
        return {'hIoU': h, 'mIoU_seen': h + 1, 'mIoU_unseen': h - 1}

    monkeypatch.setattr(experiments, 'evaluate', fake_evaluate)
    user = {'model.decode_head.temperature': 0.04}
    out = experiments.generalized_zero_shot('cfg.py', 'ckpt.pth', user, 'bank.npz',
                                            str(tmp_path))
    assert out['calibration'] == calib_best and out['calib_hIoU'] == pytest.approx(50)
    assert out['hIoU'] == pytest.approx(60 - 100 * abs(calib_best - val_best))
    *sweep, last = calls
    # every sweep call is on calib, one per calibration value
    assert [c['model.decode_head.seen_calibration'] for c in sweep] == \
        list(experiments.CALIBRATIONS)
    assert all(c.get(experiments.SPLIT_PREFIX, {}).get('img_path') == 'img_dir/calib'
               for c in sweep)
    # the last call is on val (the config's own split) with calib's choice
    assert experiments.SPLIT_PREFIX not in last
    assert last['model.decode_head.seen_calibration'] == calib_best
    for c in calls:  # every category in the bank, every class of the data, user options kept
        assert c['model.decode_head.test_label_space'] == 'bank.npz'
        assert c['model.decode_head.test_classes'] is None
        assert c['test_dataloader.dataset.class_subset'] == 'all'
        assert c['model.decode_head.temperature'] == 0.04


def test_abstention_threshold_is_chosen_on_calib_and_only_unseen_vectors_change(
        monkeypatch, descriptions, info, tmp_path):
    paths = experiments.build_spaces(str(tmp_path / 'sp'), info, descriptions, num_properties=4,
                                     model='hashing-384')
    seen = PropertySpace.load(paths['seen'])
    thresholds = experiments.abstention_thresholds(paths['seen'], (0.1, 0.5))
    assert thresholds == [None] + [pytest.approx(np.quantile(seen.text_score, q), abs=1e-4)
                                   for q in (0.1, 0.5)]
    calib_best, val_best = thresholds[1], thresholds[2]
    calls = []

    def fake_evaluate(config, checkpoint, options, work_dir, quiet=True):
        bank = PropertySpace.load(options['model.decode_head.test_label_space'])
        t = bank.meta.get('min_similarity', {}).get(info.unseen[0])
        calls.append((dict(options), t))
        on_calib = options.get(experiments.SPLIT_PREFIX) is not None
        score = 50 if t == (calib_best if on_calib else val_best) else 40 + (t is None)
        return {'mIoU': score + 10 * (not on_calib),
                **{f'IoU.{c}': float(i) for i, c in enumerate(info.unseen)}}

    monkeypatch.setattr(experiments, 'evaluate', fake_evaluate)
    user = {'model.decode_head.label_space': paths['seen'], 'model.decode_head.temperature': 0.1}
    out = experiments.abstaining_zero_shot('cfg.py', 'ckpt.pth', user, info, descriptions,
                                           str(tmp_path / 'sp'), str(tmp_path / 'wd'),
                                           thresholds)
    assert out['min_similarity'] == calib_best
    assert [c['min_similarity'] for c in out['calib']] == thresholds
    assert [c['calib_mIoU'] for c in out['calib']] == [41, 50, 40]
    assert out['zs_mIoU'] == 40 + 10 and out['zs_IoU'] == {c: float(i)
                                                            for i, c in enumerate(info.unseen)}
    *sweep, (last, last_t) = calls
    assert [t for _, t in sweep] == thresholds
    assert all(o[experiments.SPLIT_PREFIX]['img_path'] == 'img_dir/calib' for o, _ in sweep)
    assert experiments.SPLIT_PREFIX not in last and last_t == calib_best   # val, calib's choice
    for o, _ in calls:  # the unseen categories of the bank, on their pixels; user options kept
        assert o['model.decode_head.test_classes'] == 'new'
        assert o['test_dataloader.dataset.class_subset'] == 'unseen'
        assert o['model.decode_head.temperature'] == 0.1
    # the seen space and the seen rows stay; without a threshold the bank is all.npz itself
    full = PropertySpace.load(paths['all'])
    banks = {t: PropertySpace.load(o['model.decode_head.test_label_space']) for o, t in sweep}
    assert banks[None].content_sha256() == full.content_sha256()
    assert dict(banks[None].meta, format=None) == dict(full.meta, format=None)
    for t, bank in banks.items():
        assert bank.class_names == info.classes
        np.testing.assert_array_equal(bank.vectors[:len(info.seen)], seen.vectors)
        assert ((bank.vectors <= full.vectors).all() if t is not None
                else (bank.vectors == full.vectors).all())
    assert (banks[thresholds[2]].vectors.sum() < full.vectors.sum())  # the median abstains
    dropped = [c['abstained'] for c in out['calib']]
    assert dropped[0] == 0 and 0 < dropped[2] and dropped[1] <= dropped[2]
    assert len(out['landing']) == sum(len(sentences_of(descriptions[c])) for c in info.unseen)
    assert sum(r['abstained'] for r in out['landing']) == dropped[1]


# ------------------------------------------------------------------ c. experiment helpers
def test_data_info_reads_meta_json(custom, meta, info, tmp_path):
    assert (info.classes, info.seen, info.unseen) == (meta['classes'], meta['seen'], UNSEEN)
    assert info.attributes == meta['attributes'] and info.pixels == meta['pixels_per_class']
    assert info.attributes['citron'] == dict(color='yellow', texture='smooth', shape='round',
                                             position='any', size='small')
    with pytest.raises(FileNotFoundError, match='make_dataset'):
        experiments.data_info(str(tmp_path))
    old = tmp_path / 'old'
    old.mkdir()
    (old / 'meta.json').write_text(json.dumps({k: v for k, v in meta.items()
                                               if k != 'attributes'}))
    with pytest.raises(ValueError, match='attributes'):
        experiments.data_info(str(old))


def _chance_reference(root: Path, classes, unseen, seed: int) -> dict[str, float]:
    """Slow reference: per-pixel loop over val's unseen pixels, same draws as a uniform guess;
    IoU (%) per unseen category that has pixels or guesses."""
    rng = np.random.default_rng(seed)
    n = len(unseen)
    ids = {classes.index(c): k for k, c in enumerate(unseen)}
    inter, gt, pr = [0] * n, [0] * n, [0] * n
    for lab in _labels(root, 'val'):
        truth = [ids[v] for v in lab.ravel().tolist() if v in ids]
        guess = rng.integers(0, n, len(truth))
        for t, p in zip(truth, guess.tolist()):
            gt[t] += 1
            pr[p] += 1
            inter[t] += t == p
    return {unseen[k]: 100 * inter[k] / (gt[k] + pr[k] - inter[k])
            for k in range(n) if gt[k] + pr[k]}


def test_chance_unseen_miou_matches_a_reference_loop(custom, info):
    root = custom[1]
    for seed in (0, 3):
        reference = _chance_reference(root, info.classes, info.unseen, seed)
        per_category = experiments.chance_unseen_iou(info, seed=seed)
        assert list(per_category) == info.unseen and set(reference) == set(info.unseen)
        assert per_category == pytest.approx(reference, rel=1e-9)
        got = experiments.chance_unseen_miou(info, seed=seed)
        assert got == pytest.approx(sum(reference.values()) / len(reference), rel=1e-9)
    # about 1 / (2n - 1) of a class's pixels for n equally frequent classes: far from 0 or 100
    assert 5 < experiments.chance_unseen_miou(info) < 40
    # a rarer category's pixels are a smaller share of its guesses: a lower chance IoU
    chance = experiments.chance_unseen_iou(info)
    pixels = {c: info.pixels['val'][c] for c in info.unseen}
    assert chance[min(pixels, key=pixels.get)] < chance[max(pixels, key=pixels.get)]


def test_images_with_unseen_lists_exactly_those_val_images(custom, info):
    root = custom[1]
    unseen_ids = {info.classes.index(c): c for c in info.unseen}
    want = []
    for i, lab in enumerate(_labels(root, 'val')):
        found = [unseen_ids[v] for v in np.unique(lab).tolist() if v in unseen_ids]
        assert len(found) <= 1
        if found:
            want.append((str(root / 'img_dir' / 'val' / f'{i:05d}.png'), found[0]))
    got = [(str(Path(p)), c) for p, c in experiments.images_with_unseen(info)]
    assert got == want
    # the generator puts one unseen category in every second val image, cycling through them
    gen = PropertyWorldGenerator(load_spec(custom[0]))
    drawn = [gen.unseen_for(i) for i in range(COUNTS['val'])]
    assert [c for _, c in got] == [info.classes[d] for d in drawn if d is not None]
    assert sorted(c for _, c in got) == sorted(UNSEEN)


def test_attribute_space_is_the_multi_hot_of_meta_attributes(info, meta, tmp_path):
    paths = experiments.attribute_space(str(tmp_path / 'attr'), info)
    full, seen = load_label_space(paths['all']), load_label_space(paths['seen'])
    assert type(full) is AttributeSpace and type(seen) is AttributeSpace
    assert full.class_names == meta['classes'] and seen.class_names == meta['seen']
    values = sorted({(t, v) for a in meta['attributes'].values() for t, v in a.items()})
    assert full.property_names() == [f'{t}={v}' for t, v in values]
    assert full.num_properties == len(values)
    for c, name in enumerate(meta['classes']):
        on = {full.property_names()[k] for k in np.flatnonzero(full.vectors[c])}
        assert on == {f'{t}={v}' for t, v in meta['attributes'][name].items()}, name
    assert np.array_equal(seen.vectors, full.vectors[:len(meta['seen'])])
    assert np.array_equal(seen.centroids, full.centroids)


def test_class_weights_balance_pixels(info):
    pixels = info.pixels['train']
    present = [c for c in info.seen if pixels[c] > 0]
    assert len(present) >= 10
    w = np.array(experiments.class_weights(info, present))
    freq = np.array([pixels[c] for c in present], float)
    assert len(w) == len(present) and (w > 0).all()
    assert (w * freq).sum() / freq.sum() == pytest.approx(1, abs=1e-3)  # pixel-weighted mean 1
    for i in range(len(present)):  # a class with fewer pixels gets a larger weight
        for j in range(len(present)):
            if freq[i] < freq[j]:
                assert w[i] >= w[j], (present[i], present[j])  # (4-decimal rounding)
            if freq[i] < 0.9 * freq[j]:
                assert w[i] > w[j], (present[i], present[j])
    a, b = np.argmin(freq), np.argmax(freq)
    assert w[a] / w[b] == pytest.approx((freq[a] / freq[b]) ** -0.5, rel=1e-2)
    # default: every seen class, in order, finite even for a class with no train pixel
    w_seen = np.array(experiments.class_weights(info))
    assert len(w_seen) == len(info.seen) and np.isfinite(w_seen).all() and (w_seen > 0).all()
    rows = [info.seen.index(c) for c in present]
    assert w_seen[rows] / w == pytest.approx(np.full(len(w), w_seen[rows][b] / w[b]), rel=1e-2)
    # other classes / split: train_all has the unseen ones too
    w_all = experiments.class_weights(info, info.classes, split='train_all')
    assert len(w_all) == len(info.classes)


def test_random_descriptions_control(descriptions, info):
    names = info.classes
    a = experiments.random_descriptions(descriptions, names, seed=0)
    assert list(a) == names
    everything = {s for n in names for s in sentences_of(descriptions[n])}
    for n in names:
        own = sentences_of(descriptions[n])
        assert len(a[n]) == len(own) == len(set(a[n])), n
        assert not set(a[n]) & set(own), n  # none of its own sentences
        assert set(a[n]) <= everything
    assert experiments.random_descriptions(descriptions, names, seed=0) == a
    assert experiments.random_descriptions(descriptions, names, seed=1) != a
    with pytest.raises(KeyError, match='no descriptions for'):
        experiments.random_descriptions(descriptions, names + ['unicorn'])


def test_build_spaces_seen_then_all_in_data_order(descriptions, info, tmp_path):
    paths = experiments.build_spaces(str(tmp_path / 'sp'), info, descriptions, num_properties=4,
                                     model='hashing-384')
    seen, full = PropertySpace.load(paths['seen']), PropertySpace.load(paths['all'])
    assert seen.class_names == info.seen and full.class_names == info.classes
    assert (seen.num_properties, seen.embed_dim) == (4, 384)
    assert np.array_equal(full.centroids, seen.centroids)  # unseen assigned, not re-clustered
    assert np.array_equal(full.vectors[:len(info.seen)], seen.vectors)
    assert (full.vectors[len(info.seen):].sum(1) > 0).all()  # every unseen one has properties
    with pytest.raises(KeyError, match=r"no descriptions for \['citron'\]"):
        experiments.build_spaces(str(tmp_path / 'sp2'), info,
                                 {k: v for k, v in descriptions.items() if k != 'citron'},
                                 num_properties=4, model='hashing-384')


def test_option_builders(info):
    seen_w = experiments.class_weights(info)
    opts = experiments.baseline_options(info)
    for head in ('decode_head', 'auxiliary_head'):
        assert opts[f'model.{head}.num_classes'] == len(info.seen) == 23
        assert opts[f'model.{head}.loss_decode.class_weight'] == seen_w
    assert not any('class_weight' in k for k in experiments.baseline_options(info, False))
    assert experiments.space_options('s.npz') == {'model.decode_head.label_space': 's.npz',
                                                  'model.auxiliary_head.label_space': 's.npz'}
    assert experiments.space_options('s.npz', info)[
        'model.auxiliary_head.loss_decode.class_weight'] == seen_w
    zs = 'model.decode_head.test_classes', 'test_dataloader.dataset.metainfo', \
        'test_dataloader.dataset.class_subset'
    assert [experiments.zero_shot_options('b.npz')[k] for k in zs] == ['new', None, 'unseen']
    assert [experiments.zero_shot_options('b.npz', None)[k] for k in zs] == [None, None, 'all']
    assert [experiments.zero_shot_options('b.npz', ['citron'])[k] for k in zs] == [
        ['citron'], dict(classes=('citron', )), 'all']
    assert experiments.split_options('calib') == {experiments.SPLIT_PREFIX: dict(
        img_path='img_dir/calib', seg_map_path='ann_dir/calib')}
    ub = experiments.upper_bound_options(info, 'all.npz')
    assert ub['train_dataloader.dataset.data_prefix'] == dict(
        img_path='img_dir/train_all', seg_map_path='ann_dir/train_all')
    assert ub['train_dataloader.dataset.class_subset'] == 'all'
    assert ub['model.decode_head.label_space'] == 'all.npz'
    assert len(ub['model.decode_head.loss_decode.class_weight']) == len(info.classes)


def test_upper_bound_class_weights_come_from_its_training_split(info):
    ub = experiments.upper_bound_options(info, 'all.npz')
    assert ub['model.decode_head.loss_decode.class_weight'] == experiments.class_weights(
        info, info.classes, split='train_all')


# ------------------------------------------------------------------ d. class-weighted loss
def test_class_weighted_cosine_loss_matches_hand_computation():
    torch.manual_seed(0)
    vectors = torch.tensor([[1., 0., 1.], [0., 1., 0.], [1., 1., 0.]])
    cw = [0.5, 2.0, 1.5]
    pred = torch.rand(1, 3, 2, 3) + 0.1
    label = torch.tensor([[[0, 1, 2], [255, 2, 0]]])
    pixel_w = torch.tensor([[[1.0, 1.0, 3.0], [1.0, 0.5, 1.0]]])
    p = pred[0].permute(1, 2, 0)
    terms, weights = [], []
    for (i, j) in [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2)]:
        c = int(label[0, i, j])
        terms.append(1 - F.cosine_similarity(p[i, j], vectors[c], dim=0).item())
        weights.append(cw[c])
    hand = sum(w * t for w, t in zip(weights, terms)) / 5  # mean over the 5 labelled pixels
    loss = CosineSimilarityLoss(class_weight=cw, loss_weight=2.0)
    got = loss(pred, LabelTargets(label, vectors, 255))
    assert got.item() == pytest.approx(2.0 * hand, rel=1e-5)
    # precomputed cosines (the head's feature-resolution path) are weighted the same way
    cos = torch.stack([F.cosine_similarity(pred, v.view(1, 3, 1, 1), dim=1) for v in vectors], 1)
    got = loss(pred, LabelTargets(label, vectors, 255, cos=cos))
    assert got.item() == pytest.approx(2.0 * hand, rel=1e-5)
    # combined with a per-pixel weight
    hand_w = sum(w * t * pw for w, t, pw in zip(
        weights, terms, [1.0, 1.0, 3.0, 0.5, 1.0])) / 5
    got = loss(pred, LabelTargets(label, vectors, 255), weight=pixel_w)
    assert got.item() == pytest.approx(2.0 * hand_w, rel=1e-5)
    # all-ones weights == no weights
    plain = CosineSimilarityLoss()(pred, LabelTargets(label, vectors, 255))
    ones = CosineSimilarityLoss(class_weight=[1, 1, 1])
    ones = ones(pred, LabelTargets(label, vectors, 255))
    assert ones.item() == pytest.approx(plain.item(), rel=1e-6)
    assert plain.item() == pytest.approx(sum(terms) / 5, rel=1e-5)


def test_class_weight_must_fit_the_categories():
    vectors = torch.eye(3)
    pred, label = torch.rand(1, 3, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match='2 class_weight values for 3 categories'):
        CosineSimilarityLoss(class_weight=[1.0, 2.0])(pred, LabelTargets(label, vectors))
    for bad in ([], [1.0, -0.5, 1.0]):
        with pytest.raises(ValueError, match='class_weight must be'):
            CosineSimilarityLoss(class_weight=bad)


# ------------------------------------------------------------------ e. PropertyHead 'new'
K, E = 6, 10


def _space(names, seed, centroids=None):
    rng = np.random.default_rng(seed)
    if centroids is None:
        centroids = rng.normal(size=(K, E)).astype(np.float32)
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    vectors = (rng.random((len(names), K)) > 0.5).astype(np.float32)
    vectors[:, 0] = 1.0
    return dict(class_names=list(names), vectors=vectors, centroids=centroids)


def _fcn(in_channels=8):
    return dict(type='FCNHead', in_channels=in_channels, channels=8, num_convs=1,
                concat_input=False, dropout_ratio=0.0, norm_cfg=None)


def _head(space, **kw):
    return MODELS.build(dict(type='PropertyHead', head=_fcn(), label_space=space, **kw))


def test_test_classes_new_keeps_the_categories_outside_the_training_space():
    seen = _space(['c0', 'c1', 'c2', 'c3'], seed=0)
    new = _space(['u0', 'u1', 'u2'], seed=1, centroids=seen['centroids'])
    order = [('u', 1), ('c', 0), ('u', 0), ('c', 2), ('c', 1), ('u', 2), ('c', 3)]  # mixed
    src = dict(c=seen, u=new)
    bank = dict(class_names=[f'{g}{i}' for g, i in order],
                vectors=np.stack([src[g]['vectors'][i] for g, i in order]),
                centroids=seen['centroids'])
    head = _head(seen, test_label_space=bank, test_classes='new')
    assert head.test_class_names == ['u1', 'u0', 'u2']  # the bank's order, trained ones gone
    assert head.num_classes == head.out_channels == 3
    assert np.array_equal(head.test_vectors.numpy(), new['vectors'][[1, 0, 2]])
    assert head.train_class_names == seen['class_names']
    # the same through a segmentor and on a switch of banks
    head.set_categories(bank)
    assert head.test_class_names == bank['class_names']
    head.set_categories(bank, 'new')
    assert head.test_class_names == ['u1', 'u0', 'u2']
    model = MODELS.build(dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1]),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                      out_indices=(3, ), norm_cfg=dict(type='BN')),
        decode_head=dict(type='PropertyHead', head=_fcn(64), label_space=seen)))
    set_inference_categories(model, bank, 'new')
    assert model.decode_head.test_class_names == ['u1', 'u0', 'u2'] and model.out_channels == 3


def test_test_classes_new_without_new_categories_raises():
    seen = _space(['c0', 'c1', 'c2'], seed=0)
    shuffled = dict(seen, class_names=seen['class_names'][::-1],
                    vectors=seen['vectors'][::-1].copy())
    for bank in (seen, shuffled):
        with pytest.raises(ValueError, match="test_classes='new'.*no category outside"):
            _head(seen, test_label_space=bank, test_classes='new')
    with pytest.raises(ValueError, match="test_classes='new'.*no category outside"):
        _head(seen, test_classes='new')  # no inference bank: the training space itself
    with pytest.raises(ValueError, match="a list of names or 'new'"):
        _head(seen, test_classes='c0')


# ------------------------------------------------------------------ f. attribute probe
PROBE_ATTRS = [
    # seen (0..8): every colour with both textures, every striped colour with both secondary
    # colours (no value is confounded with another in training); smooth ones have none
    *[dict(color=c, texture='smooth', shape='round') for c in ('red', 'green', 'blue')],
    *[dict(color=c, texture='striped', shape='round', secondary_color=s)
      for c in ('red', 'green', 'blue') for s in ('black', 'white')],
    # unseen (9..11)
    dict(color='green', texture='striped', shape='round', secondary_color='black'),
    dict(color='blue', texture='smooth', shape='round'),
    dict(color='red', texture='striped', shape='round', secondary_color='white'),
]
VALUES = dict(color=['red', 'green', 'blue', 'yellow'], texture=['smooth', 'striped'],
              secondary_color=['black', 'white'])


def _features(classes, attrs, rng, noise=0.05):
    """One-hot of each attribute value (+ noise): linearly separable per attribute type."""
    cols = [(t, v) for t, vs in VALUES.items() for v in vs]
    x = np.array([[float(attrs[c].get(t) == v) for t, v in cols] for c in classes])
    return (x + noise * rng.normal(size=x.shape)).astype(np.float32)


def test_attribute_probe_reads_separable_attributes_and_not_random_ones():
    rng = np.random.default_rng(0)
    tr_c = np.repeat(np.arange(9), 40)
    te_c = np.repeat(np.arange(9, 12), 60)
    tr_x, te_x = _features(tr_c, PROBE_ATTRS, rng), _features(te_c, PROBE_ATTRS, rng)
    acc = attribute_probe(tr_x, tr_c, te_x, te_c, PROBE_ATTRS,
                          types=('color', 'texture', 'secondary_color', 'shape', 'size'))
    # shape: a single value in training -> skipped; size: no category has it -> skipped
    assert set(acc) == {'color', 'texture', 'secondary_color'}
    assert acc['color'] > 97 and acc['texture'] > 97  # ~100 %
    # secondary colour: scored on the pixels of categories that have one (9 and 11) only
    assert acc['secondary_color'] > 97
    assert set(attribute_probe(tr_x, tr_c, te_x, te_c, PROBE_ATTRS)) == {'color', 'texture'}
    # random features: about chance (colour: 3 balanced values; texture: 2/3 are striped)
    rnd = attribute_probe(rng.normal(size=tr_x.shape), tr_c, rng.normal(size=te_x.shape), te_c,
                          PROBE_ATTRS, types=('color', 'texture'))
    assert rnd['color'] < 70 and rnd['texture'] < 80


def test_attribute_probe_counts_a_value_never_seen_in_training_as_wrong():
    attrs = PROBE_ATTRS[:9] + [dict(color='red', texture='smooth'),
                               dict(color='yellow', texture='smooth'),
                               dict(color='blue', texture='smooth')]
    rng = np.random.default_rng(1)
    tr_c, te_c = np.repeat(np.arange(9), 40), np.repeat(np.arange(9, 12), 50)
    acc = attribute_probe(_features(tr_c, attrs, rng), tr_c, _features(te_c, attrs, rng), te_c,
                          attrs, types=('color', ))
    assert 65 < acc['color'] <= 200 / 3 + 1e-6  # yellow's 50 of the 150 pixels are wrong


# ------------------------------------------------------------------ g. the spec's scene
@pytest.mark.parametrize('scene,message', [
    ('big', '"scene" must be an object'),
    ({'num_things': [1, 3], 'density': 2}, '"scene" must be an object with keys among'),
    ({'num_things': [3, 1]}, 'scene "num_things" must be \\[min, max\\]'),
    ({'num_things': [1]}, 'scene "num_things" must be \\[min, max\\]'),
    ({'num_things': [-1, 2]}, 'scene "num_things" must be \\[min, max\\]'),
    ({'num_things': [1.5, 2]}, 'scene "num_things" must be \\[min, max\\]'),
    ({'num_things': 2}, 'scene "num_things" must be \\[min, max\\]'),
    ({'thing_scale': 0}, 'scene "thing_scale" must be a number in \\(0, 3\\]'),
    ({'thing_scale': 3.5}, 'scene "thing_scale" must be a number in \\(0, 3\\]'),
    ({'thing_scale': 'x'}, 'scene "thing_scale" must be a number in \\(0, 3\\]'),
    (None, '"scene" must be an object'),
], ids=['not-object', 'unknown-key', 'decreasing', 'one-value', 'negative', 'float',
        'scalar', 'scale-zero', 'scale-big', 'scale-type', 'null'])
def test_load_scene_rejects_bad_scene_naming_the_file(tmp_path, scene, message):
    path = _custom_spec(tmp_path / 'spec.json', scene=scene)
    with pytest.raises(SpecError, match=message) as err:
        load_scene(path)
    assert str(path) in str(err.value)
    out = tmp_path / 'out'
    with pytest.raises(SpecError):  # nothing is written from such a spec
        write_property_world(out, spec=path, num_train=1, num_val=1)
    assert not out.exists()


def test_load_scene_defaults_and_values(tmp_path):
    assert load_scene(V2_SPEC) == dict(num_things=(2, 4), thing_scale=1.4)
    assert load_scene() == load_scene(V2_SPEC)  # the default spec
    data = json.loads(V2_SPEC.read_text())
    data.pop('scene')
    (tmp_path / 'a.json').write_text(json.dumps(data))
    assert load_scene(tmp_path / 'a.json') == dict(num_things=(1, 3), thing_scale=1.0)
    path = _custom_spec(tmp_path / 'b.json', scene={'thing_scale': 2})
    assert load_scene(path) == dict(num_things=(1, 3), thing_scale=2.0)
    path = _custom_spec(tmp_path / 'c.json', scene={'num_things': [0, 0]})
    assert load_scene(path) == dict(num_things=(0, 0), thing_scale=1.0)
