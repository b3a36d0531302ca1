"""ProLab's files in: plain ``{category: [sentences]}`` descriptors (names matched to a dataset's
classes through tolerant spelling and the alias table; --min/--max-descriptions) and the
published property clustering ``{property: ["category: sentence", ...]}`` imported with its exact
memberships, trained and segmented through ``PropertyHead``.

The files here are written by the tests (made-up sentences, the datasets' class names only).
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import prolab_seg  # noqa: F401
from prolab_seg.properties import (DescriptionsError, PropertySpace, dataset_class_names,
                                   embed_texts, import_prolab_properties, load_descriptions,
                                   load_label_space, match_class_names)
from prolab_seg.utils import l2_normalize

import gen_properties  # tools/ (tests/conftest.py puts it on sys.path)

CITYSCAPES = dataset_class_names('cityscapes')
#: How the test files spell some Cityscapes classes (tolerant spellings and an alias).
SPELT = {'traffic light': 'Traffic_Light', 'traffic sign': 'traffic-sign',
         'motorcycle': 'motorbike'}


def fragments(category: str, n: int) -> list[str]:
    """``n`` made-up name-free fragments, told apart per category by its index."""
    k = CITYSCAPES.index(category) if category in CITYSCAPES else len(category)
    return [f'feature {i} of kind {k}' for i in range(n)]


def write_plain(path: Path, counts: dict | None = None, names: dict | None = None) -> Path:
    names = {**SPELT, **(names or {})}
    data = {names.get(c, c): fragments(c, (counts or {}).get(c, 9)) for c in CITYSCAPES}
    path.write_text(json.dumps(data, indent=1), encoding='utf-8')
    return path


# ------------------------------------------------------------------ plain descriptor files
def test_plain_file_loads_given_its_dataset(tmp_path):
    path = write_plain(tmp_path / 'descr.json')
    ds = load_descriptions(path, dataset='cityscapes')
    assert list(ds.categories) == CITYSCAPES                       # class order
    assert ds.categories['motorcycle'] == fragments('motorcycle', 9)
    assert ds.renamed == {'Traffic_Light': 'traffic light', 'traffic-sign': 'traffic sign',
                          'motorbike': 'motorcycle'}
    assert ds.dataset == 'cityscapes' and ds.source_meta()['renamed'] == ds.renamed
    with pytest.raises(DescriptionsError, match=r'descr.json: field "format" is None.*--dataset'):
        load_descriptions(path)


def test_alias_table_and_tolerant_matching():
    ade = dataset_class_names('ade20k')
    got = match_class_names(['storage tank', 'bed', 'Chest_of-Drawers', 'ashcan, trash can',
                             'CRT screen'], ade, 'ade20k')
    assert got == {'storage tank': 'tank', 'bed': 'bed ', 'Chest_of-Drawers': 'chest of drawers',
                   'ashcan, trash can': 'ashcan', 'CRT screen': 'crt screen'}
    coco = dataset_class_names('coco_stuff')
    spelt = {'wall other': 'wall-other', 'wall': 'wall-other', 'desk': 'desk-stuff',
             'dining_table': 'dining table', 'tv monitor': 'tv', 'aeroplane': 'airplane',
             'wall-brick': 'wall-brick', 'floor': 'floor-other'}
    for name, cls in spelt.items():
        assert match_class_names([name], coco, 'coco_stuff') == {name: cls}
    pc59 = dataset_class_names('pascal_context59')
    assert match_class_names(['potted plant', 'tv monitor', 'airplane', 'motorcycle'], pc59,
                             'pascal_context59') == {
        'potted plant': 'pottedplant', 'tv monitor': 'tvmonitor', 'airplane': 'aeroplane',
        'motorcycle': 'motorbike'}
    with pytest.raises(ValueError, match=r"f.json: category 'swivel chiar' is not a class of "
                                         r"ade20k; close class names: \['swivel chair'"):
        match_class_names(['swivel chiar'], ade, 'ade20k', 'f.json')
    with pytest.raises(ValueError, match="f.json: categories 'tank' and 'storage tank' both "
                                         "stand for class 'tank'"):
        match_class_names(['tank', 'storage tank'], ade, 'ade20k', 'f.json')


def test_class_list_mismatch_names_what_differs():
    from prolab_seg.properties.class_names import MAX_LISTED, class_list_mismatch
    assert class_list_mismatch(['a', 'b'], ('a', 'b')) is None
    assert class_list_mismatch(['b', 'a'], ['a', 'b']) == 'same names, different order'
    assert class_list_mismatch(['b', 'a'], ['a', 'b'], ordered=False) is None
    assert class_list_mismatch(['a', 'x'], ['a', 'b', 'c'], ordered=False) == \
        "missing ['b', 'c'], unexpected ['x']"
    many = [f'c{i}' for i in range(MAX_LISTED + 3)]
    assert class_list_mismatch([], many) == f'missing {many[:MAX_LISTED]} (+3 more), unexpected []'


def test_plain_file_errors_name_file_and_category(tmp_path):
    path = write_plain(tmp_path / 'd.json', names={'sky': 'skye'})
    with pytest.raises(DescriptionsError, match=r"d.json: category 'skye' is not a class of "
                                                r"cityscapes; close class names: \['sky'\]"):
        load_descriptions(path, dataset='cityscapes')
    data = json.loads(write_plain(tmp_path / 'd.json').read_text())
    del data['rider']
    path.write_text(json.dumps(data))
    with pytest.raises(DescriptionsError, match=r"d.json: categories do not match the class list: "
                                                r"missing \['rider'\]"):
        load_descriptions(path, dataset='cityscapes')
    with pytest.raises(DescriptionsError, match="unknown dataset 'nope'"):
        load_descriptions(path, dataset='nope')


def test_description_bounds_are_options(tmp_path):
    path = write_plain(tmp_path / 'd.json', counts={'sky': 5, 'road': 16})
    with pytest.raises(DescriptionsError, match="category 'sky': has 5 sentences, expected 8-20"):
        load_descriptions(path, dataset='cityscapes')
    ds = load_descriptions(path, dataset='cityscapes', min_count=5)
    assert len(ds.categories['sky']) == 5
    with pytest.raises(DescriptionsError, match="category 'road': has 16 sentences, expected 5-15"):
        load_descriptions(path, dataset='cityscapes', min_count=5, max_count=15)
    out = tmp_path / 'space.npz'
    argv = ['build', '--descriptions', str(path), '--dataset', 'cityscapes', '--model',
            'hashing-64', '-k', '8', '--out', str(out)]
    assert gen_properties.main(argv) == 2
    assert gen_properties.main(argv + ['--min-descriptions', '5', '--max-descriptions', '15']) == 2
    assert gen_properties.main(argv + ['--min-descriptions', '5']) == 0
    assert PropertySpace.load(out).class_names == CITYSCAPES


def test_cli_build_prints_the_names_it_matched(tmp_path, capsys):
    path = write_plain(tmp_path / 'd.json')
    out = tmp_path / 'space'
    assert gen_properties.main(['build', '--descriptions', str(path), '--dataset', 'cityscapes',
                                '--model', 'hashing-64', '-k', '8', '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'names matched to cityscapes class names:' in printed
    assert '  motorbike -> motorcycle' in printed and '  Traffic_Light -> traffic light' in printed
    space = PropertySpace.load(out)
    assert space.meta['dataset'] == 'cityscapes'
    assert space.meta['sources'][0]['renamed']['motorbike'] == 'motorcycle'


# ------------------------------------------------------------------ ProLab property clustering
PROPERTIES = {
    'Tall thin vertical structure': ['pole: feature a', 'traffic light: feature b',
                                     'traffic sign: feature c', 'pole: feature d'],
    'Flat ground surface': ['road: feature e', 'sidewalk: feature f', 'terrain: feature g'],
    'Vehicle with wheels': ['car: feature h', 'truck: feature i', 'bus: feature j',
                            'train: feature k', 'motorbike: feature l', 'bicycle: feature m'],
    'Living being: upright': ['person: feature n', 'rider: feature o: with a colon'],
    'Built structure': ['building: feature p', 'wall: feature q', 'fence: feature r'],
    'Natural surroundings': ['vegetation: feature s', 'sky: feature t', 'terrain: feature u',
                             'vegetation: feature w'],
}


def write_properties(path: Path, data: dict = PROPERTIES) -> Path:
    path.write_text(json.dumps(data, indent=1), encoding='utf-8')
    return path


def memberships(data: dict, classes: list[str]) -> np.ndarray:
    """The category vectors a ProLab property file states, computed independently."""
    alias = {'motorbike': 'motorcycle'}
    out = np.zeros((len(classes), len(data)), np.float32)
    for k, members in enumerate(data.values()):
        for m in members:
            name = m.split(':')[0].strip()
            out[classes.index(alias.get(name, name)), k] = 1
    return out


def test_import_keeps_prolabs_memberships_exactly(tmp_path):
    path = write_properties(tmp_path / 'property_cityscapes.json')
    space = import_prolab_properties(path, 'cityscapes', model='hashing-32')
    assert space.class_names == CITYSCAPES and space.num_properties == 6
    np.testing.assert_array_equal(space.vectors, memberships(PROPERTIES, CITYSCAPES))
    # centroid k: the normalised mean of its members' embeddings (computed here by hand)
    members = [m.split(':', 1)[1].strip() for ms in PROPERTIES.values() for m in ms]
    emb = embed_texts(members, 'hashing-32')
    sizes = [len(ms) for ms in PROPERTIES.values()]
    starts = np.cumsum([0] + sizes)
    hand = l2_normalize(np.stack([emb[a:b].mean(0) for a, b in zip(starts, starts[1:])]))
    np.testing.assert_allclose(space.centroids, hand, atol=1e-6)
    assert space.texts[len(PROPERTIES['Tall thin vertical structure']) + 3 + 6 + 1] == \
        'feature o: with a colon'                                 # split at the first colon
    assert space.property_names()[3] == 'p3: Living being: upright'
    assert space.meta['method'] == 'prolab-import' and space.meta['embedding_model'] == \
        'hashing-32'
    np.testing.assert_allclose(space.text_score, (emb * hand[space.text_cluster]).sum(1),
                               atol=1e-6)
    saved = load_label_space(space.save(tmp_path / 'imported.npz'))
    assert isinstance(saved, PropertySpace)
    np.testing.assert_array_equal(saved.vectors, space.vectors)


def test_import_centroids_from_an_embedding_file(tmp_path):
    path = write_properties(tmp_path / 'p.json')
    rng = np.random.default_rng(0)
    bank = rng.normal(size=(6, 12)).astype(np.float32)
    np.save(tmp_path / 'bank.npy', bank)
    space = import_prolab_properties(path, 'cityscapes', embeddings=tmp_path / 'bank.npy')
    np.testing.assert_allclose(space.centroids, l2_normalize(bank), atol=1e-6)
    assert space.meta['embedding_model'] is None and not space.text_score.any()
    np.savez(tmp_path / 'bank.npz', centroids=bank, other=bank[:2])
    np.testing.assert_array_equal(import_prolab_properties(
        path, 'cityscapes', embeddings=tmp_path / 'bank.npz').centroids, space.centroids)
    np.save(tmp_path / 'short.npy', bank[:5])
    with pytest.raises(ValueError, match=r'short.npy: embeddings must be \[K, E\] with K = 6'):
        import_prolab_properties(path, 'cityscapes', embeddings=tmp_path / 'short.npy')
    with pytest.raises(ValueError, match="bank.npy: embeddings are 12-d but model 'hashing-32' "
                                         'gives 32-d'):
        import_prolab_properties(path, 'cityscapes', embeddings=tmp_path / 'bank.npy',
                                 model='hashing-32')


def test_import_errors_name_the_file(tmp_path):
    data = {k: [m for m in v if not m.startswith('rider')] for k, v in PROPERTIES.items()}
    with pytest.raises(DescriptionsError, match=r"p.json: classes of cityscapes without any "
                                                r"member: \['rider'\]"):
        import_prolab_properties(write_properties(tmp_path / 'p.json', data), 'cityscapes',
                                 model='hashing-32')
    bad = dict(PROPERTIES, Odd=['no colon here'])
    with pytest.raises(DescriptionsError, match='p.json: property 6 .*member 0 is not '
                                                '"category: sentence"'):
        import_prolab_properties(write_properties(tmp_path / 'p.json', bad), 'cityscapes')
    unknown = dict(PROPERTIES, Odd=['skye: blue'])
    with pytest.raises(DescriptionsError, match="category 'skye' is not a class of cityscapes"):
        import_prolab_properties(write_properties(tmp_path / 'p.json', unknown), 'cityscapes')


def test_cli_import_prolab(tmp_path, capsys):
    path = write_properties(tmp_path / 'property_cityscapes.json')
    out = tmp_path / 'imported.npz'
    assert gen_properties.main(['import-prolab', '--properties', str(path), '--dataset',
                                'cityscapes', '--model', 'hashing-32', '--out', str(out)]) == 0
    printed = capsys.readouterr()
    assert '  motorbike -> motorcycle' in printed.out
    assert '19 categories, 22 member descriptions -> K=6 properties, E=32' in printed.out
    assert 'properties holding a single category: 0 (0.0 %)' in printed.out
    summary = json.loads(out.with_suffix('.json').read_text())
    assert summary['report']['properties_per_category']['at_min'] == [
        c for c in CITYSCAPES if c != 'terrain']
    np.testing.assert_array_equal(PropertySpace.load(out).vectors,
                                  memberships(PROPERTIES, CITYSCAPES))


def test_imported_space_trains_and_segments_through_property_head(tmp_path):
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    init_default_scope('mmseg')
    path = import_prolab_properties(write_properties(tmp_path / 'p.json'), 'cityscapes',
                                    model='hashing-32').save(tmp_path / 'imported.npz')
    head = MODELS.build(dict(
        type='PropertyHead', label_space=str(path),
        head=dict(type='FCNHead', in_channels=8, channels=8, num_convs=1, concat_input=False,
                  dropout_ratio=0.0, norm_cfg=None)))
    torch.manual_seed(0)
    x = [torch.randn(2, 8, 4, 4)]
    logits = head(x)
    assert logits.shape == (2, 6, 4, 4)                           # K ProLab properties
    samples = []
    for lab in torch.randint(0, len(CITYSCAPES), (2, 8, 8)):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab[None])
        samples.append(s)
    losses = head.loss_by_feat(logits, samples)
    assert torch.isfinite(losses['loss_cos'])
    losses['loss_cos'].backward()
    assert head.head.conv_seg.weight.grad is not None
    head.eval()
    seg = head.predict_by_feat(logits, [dict(img_shape=(8, 8))])
    assert seg.shape == (2, len(CITYSCAPES), 8, 8)                 # C class scores per pixel
