"""LabelSpace: one type for every label-space kind, built from the registry, with true metadata,
one file format (files of the earlier layouts still load); PropertyHead's label_space keys (the
removed ones refused by name) and its property-loss interface."""
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import prolab_seg  # noqa: F401
from mmseg.registry import MODELS
from prolab_seg.properties import (AttributeSpace, LabelSpace, NameEmbeddingSpace, PropertySpace,
                                   build_label_space, load_label_space)
from prolab_seg.properties.label_space import CENTROID_ATOL
from prolab_seg.registry import LABEL_SPACES

init_default_scope('mmseg')
REPO = Path(__file__).resolve().parents[1]
K, E = 4, 6


def property_space(names, seed=0, centroids=None, meta=None):
    rng = np.random.default_rng(seed)
    if centroids is None:
        centroids = rng.normal(size=(K, E))
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    vectors = np.eye(len(names), K, k=0, dtype=np.float32)
    vectors[:, -1] = 1
    return PropertySpace(names, vectors, centroids, meta)


def test_concat_keeps_meta_true():
    src_a = dict(path='a.json', sha256='1' * 64)
    src_b = dict(path='b.json', sha256='2' * 64)
    seen = property_space(['a', 'b', 'c'], meta=dict(num_classes=3, sources=[src_a], seed=0,
                                                     timing=dict(embed_s=1.0)))
    new = property_space(['x'], centroids=seen.centroids,
                         meta=dict(num_classes=1, sources=[src_b, src_a]))
    both = seen.extend(new)
    assert both.class_names == ['a', 'b', 'c', 'x']
    assert both.meta['num_classes'] == 4 and both.meta['seed'] == 0
    assert both.meta['sources'] == [src_a, src_b]  # union, in order, no duplicates
    assert both.meta['assigned'] == ['x'] and 'timing' not in both.meta
    sub = both.subset(['x', 'a'])
    assert sub.meta['num_classes'] == 2 and sub.class_names == ['x', 'a']
    np.testing.assert_array_equal(sub.vectors, both.vectors[[3, 0]])


def test_one_centroid_tolerance_for_concat_swap_and_checkpoints():
    seen = property_space(['a', 'b'])
    near = property_space(['x'], centroids=seen.centroids + CENTROID_ATOL / 2)
    far = property_space(['y'], centroids=seen.centroids + CENTROID_ATOL * 10)
    seen.extend(near)
    with pytest.raises(ValueError, match='different property centroids'):
        seen.extend(far)
    head = MODELS.build(dict(type='PropertyHead', head=fcn(), label_space=seen))
    head.set_categories(near)
    with pytest.raises(ValueError, match='different property centroids'):
        head.set_categories(far)
    state = head.state_dict()
    key = 'head.conv_seg.centroids'
    state[key] = state[key] + CENTROID_ATOL / 2
    head.load_state_dict(state)
    state[key] = state[key] + CENTROID_ATOL * 10
    with pytest.raises(RuntimeError, match='another label space'):
        head.load_state_dict(state)


def test_kinds_are_read_from_the_file_and_built_from_configs(tmp_path):
    prop = property_space(['a', 'b'])
    prop_path = str(prop.save(tmp_path / 'p.npz'))
    names = NameEmbeddingSpace(['a', 'b'], np.eye(2, 5))
    names_path = str(names.save(tmp_path / 'n.npz'))
    attrs = AttributeSpace.from_attributes(dict(a=dict(color='red', shape='round'),
                                                b=dict(color='blue', shape='round')))
    attrs_path = str(attrs.save(tmp_path / 'attr.npz'))
    assert attrs.property_names() == ['color=blue', 'color=red', 'shape=round']
    np.testing.assert_array_equal(attrs.vectors, [[0, 1, 1], [1, 0, 1]])
    for path, kind in ((prop_path, PropertySpace), (names_path, NameEmbeddingSpace),
                       (attrs_path, AttributeSpace), (str(tmp_path), PropertySpace)):
        if path == str(tmp_path):  # a folder holding property_space.npz
            prop.save(tmp_path / 'property_space.npz')
        space = load_label_space(path)
        assert type(space) is kind and space.class_names == ['a', 'b'], path
        assert type(build_label_space(dict(type=kind.__name__, path=path))) is kind
    np.testing.assert_array_equal(load_label_space(names_path).vectors, names.vectors)
    assert load_label_space(attrs_path).property_names() == attrs.property_names()
    both = build_label_space([prop_path, property_space(['c'], centroids=prop.centroids)])
    assert type(both) is PropertySpace and both.class_names == ['a', 'b', 'c']
    inline = build_label_space(dict(type='AttributeSpace', class_names=['a'], vectors=[[1.0]],
                                    centroids=[[1.0]], meta=dict(property_names=['p'])))
    assert type(inline) is AttributeSpace
    with pytest.raises(KeyError, match='NoSuchSpace is not in the .*label space registry'):
        build_label_space(dict(type='NoSuchSpace', path=prop_path))
    with pytest.raises(KeyError, match='NoSuchSpace is not in the .*label space registry'):
        LABEL_SPACES.build(dict(type='NoSuchSpace', class_names=['a'], vectors=[[1.0]]))
    assert type(LABEL_SPACES.build(names_path)) is NameEmbeddingSpace
    assert LABEL_SPACES.build(dict(type='PropertySpace', path=prop_path,
                                   classes=['a', 'b'])).class_names == ['a', 'b']
    np.savez(tmp_path / 'odd.npz', format=np.array('someone-else@9'), vectors=np.eye(2))
    with pytest.raises(ValueError, match="odd.npz: unknown label-space format 'someone-else@9'"):
        load_label_space(tmp_path / 'odd.npz')
    with pytest.raises(ValueError, match='is a NameEmbeddingSpace but'):
        prop.extend(NameEmbeddingSpace(['z'], np.ones((1, K))))
    with pytest.raises(ValueError, match='saved as a .npz'):
        names.save(tmp_path / 'names')


def _old_label_space_file(path, fmt, names, vectors, meta, centroids=None, compressed=False):
    """A file as LabelSpace.save wrote it before the formats were one: a ``format`` array,
    no content hash (uncompressed; ``compressed``: the same arrays compressed)."""
    arrays = dict(format=np.array(fmt), class_names=np.array(names), vectors=vectors,
                  meta=np.array(json.dumps(meta)))
    if centroids is not None:
        arrays['centroids'] = centroids
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


def _old_property_space_file(path, names, vectors, centroids, texts, text_class, text_cluster,
                             text_score, meta, compressed=True):
    """A file as PropertySpace.save wrote it before the formats were one: format and content
    hash in ``meta`` (compressed; ``compressed=False``: the same arrays uncompressed)."""
    h = hashlib.sha256(json.dumps([names, texts], ensure_ascii=False).encode())
    for a in (vectors, centroids, text_class, text_cluster, text_score):
        h.update(np.ascontiguousarray(a).tobytes())
    meta = dict(meta, format='prolab-seg/property-space@1', content_sha256=h.hexdigest())
    (np.savez_compressed if compressed else np.savez)(
        path, class_names=np.array(names, dtype=str), vectors=vectors, centroids=centroids,
        texts=np.array(texts, dtype=str), text_class=text_class, text_cluster=text_cluster,
        text_score=text_score, meta=np.array(json.dumps(meta)))
    return path


@pytest.mark.parametrize('compressed', [False, True])
def test_files_of_the_earlier_layouts_still_load(tmp_path, compressed):
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(3, 5)).astype(np.float32)
    old = _old_label_space_file(tmp_path / 'names.npz', 'prolab-seg/label-embedding@1',
                                ['a', 'b', 'c'], emb, dict(template='{}', num_classes=3),
                                compressed=compressed)
    attr_vectors = np.array([[0, 1, 1], [1, 0, 1]], np.float32)
    old_attr = _old_label_space_file(
        tmp_path / 'attr.npz', 'prolab-seg/attribute-space@1', ['a', 'b'], attr_vectors,
        dict(property_names=['color=blue', 'color=red', 'shape=round']),
        np.eye(3, dtype=np.float32), compressed)
    centroids = rng.normal(size=(2, 4)).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    prop = dict(names=['a', 'b'], vectors=np.array([[1, 0], [1, 1]], np.float32),
                centroids=centroids, texts=['It is round.', 'It is red.', 'It is tall.'],
                text_class=np.array([0, 1, 1], np.int32),
                text_cluster=np.array([0, 0, 1], np.int32),
                text_score=np.array([0.9, 0.8, 0.7], np.float32))
    old_prop = _old_property_space_file(tmp_path / 'prop.npz', **prop,
                                        meta=dict(num_properties=2, seed=0),
                                        compressed=compressed)
    names = load_label_space(old)
    assert type(names) is NameEmbeddingSpace and names.class_names == ['a', 'b', 'c']
    np.testing.assert_array_equal(names.vectors, emb)
    assert names.centroids is None and names.meta == dict(template='{}', num_classes=3)
    attrs = load_label_space(old_attr)
    assert type(attrs) is AttributeSpace and attrs.property_names()[1] == 'color=red'
    np.testing.assert_array_equal(attrs.vectors, attr_vectors)
    np.testing.assert_array_equal(attrs.centroids, np.eye(3))
    for space in (load_label_space(old_prop), PropertySpace.load(old_prop)):
        assert type(space) is PropertySpace and space.class_names == prop['names']
        assert space.texts == prop['texts'] and space.meta['seed'] == 0
        for key in ('vectors', 'centroids', 'text_class', 'text_cluster', 'text_score'):
            np.testing.assert_array_equal(getattr(space, key), prop[key], err_msg=key)
    # each saved again in the one format reads back the same
    for space in (names, attrs, load_label_space(old_prop)):
        again = load_label_space(space.save(tmp_path / f'new_{type(space).__name__}.npz'))
        assert type(again) is type(space) and again.class_names == space.class_names
        np.testing.assert_array_equal(again.vectors, space.vectors)
        assert (again.centroids is None) is (space.centroids is None)
        assert {k: v for k, v in again.meta.items() if k not in ('format', 'content_sha256')} \
            == {k: v for k, v in space.meta.items() if k not in ('format', 'content_sha256')}


def test_every_kind_writes_the_one_format(tmp_path):
    """Compressed, format and content hash in meta, no format array; a changed array is
    refused by its hash, whatever the kind."""
    spaces = dict(names=NameEmbeddingSpace(['a', 'b'], np.eye(2, 5)),
                  attrs=AttributeSpace.from_attributes(dict(a=dict(color='red'),
                                                            b=dict(color='blue'))),
                  prop=property_space(['a', 'b']))
    formats = dict(names='prolab-seg/label-embedding@1', attrs='prolab-seg/attribute-space@1',
                   prop='prolab-seg/property-space@1')
    for key, space in spaces.items():
        path = space.save(tmp_path / f'{key}.npz')
        with zipfile.ZipFile(path) as z:
            assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}, key
        with np.load(path) as z:
            arrays = dict(z)
        assert 'format' not in arrays, key
        meta = json.loads(str(arrays['meta'][()]))
        assert meta['format'] == formats[key] and len(meta['content_sha256']) == 64, key
        arrays['vectors'] = arrays['vectors'][::-1].copy()
        np.savez_compressed(tmp_path / f'{key}_tampered.npz', **arrays)
        with pytest.raises(ValueError, match='content hash mismatch'):
            load_label_space(tmp_path / f'{key}_tampered.npz')


def test_a_new_kind_is_a_new_class(tmp_path):
    from prolab_seg.registry import LABEL_SPACES

    class OneHotSpace(LabelSpace):
        FORMAT = 'test/one-hot@1'

    LABEL_SPACES.register_module(module=OneHotSpace, force=True)
    try:
        path = OneHotSpace(['a', 'b', 'c'], np.eye(3)).save(tmp_path / 'onehot.npz')
        head = MODELS.build(dict(type='PropertyHead', head=fcn(), label_space=str(path)))
        assert type(head.train_space) is OneHotSpace and head.num_properties == 3
        assert head.activation == 'sigmoid'
    finally:
        LABEL_SPACES.module_dict.pop('OneHotSpace')


def fcn():
    return dict(type='FCNHead', in_channels=8, channels=8, num_convs=1, concat_input=False,
                dropout_ratio=0.0, norm_cfg=None)


@pytest.mark.parametrize('old, new', [('property_space', 'label_space'),
                                      ('test_property_space', 'test_label_space')])
def test_removed_keys_are_refused_naming_their_replacement(old, new):
    space = property_space(['a', 'b'])
    with pytest.raises(TypeError, match=rf"unknown config keys \['{old}'\]: `{old}` was "
                                        rf"removed, use `{new}`$"):
        MODELS.build(dict(type='PropertyHead', head=fcn(), label_space=space, **{old: space}))
    with pytest.raises(TypeError, match=r"unknown config keys \['colour'\]$"):
        MODELS.build(dict(type='PropertyHead', head=fcn(), label_space=space, colour='red'))


def test_stock_losses_are_refused_at_build_time():
    space = property_space(['a', 'b'])
    with pytest.raises(TypeError, match='loss_decode CrossEntropyLoss is not a property loss'):
        MODELS.build(dict(type='PropertyHead', head=fcn(), label_space=space,
                          loss_decode=[dict(type='CosineSimilarityLoss'),
                                       dict(type='CrossEntropyLoss')]))
    head = MODELS.build(dict(type='PropertyHead', head=fcn(), label_space=space,
                             loss_decode=[dict(type='CosineSimilarityLoss', loss_name='loss_a'),
                                          dict(type='CosineSimilarityLoss', loss_weight=0.5,
                                               loss_name='loss_b')]))
    assert head.head.loss_decode is not None and len(head.losses) == 2  # the wrapped head's
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.randint(0, 2, (1, 8, 8)))
    losses = head.loss([torch.randn(1, 8, 4, 4)], [sample], None)
    torch.testing.assert_close(losses['loss_b'], 0.5 * losses['loss_a'])


def test_gen_properties_names_and_assign_record_true_meta(tmp_path):
    desc, new = tmp_path / 'd.json', tmp_path / 'new.json'
    header = dict(format='prolab-seg/descriptions@1', dataset='toy', model='hand',
                  prompt_version='v')

    def sentences(name):  # 10 per category, as the descriptions format requires
        return [f'It is {name} coloured, variant {i}.' for i in range(10)]

    cats = {n: sentences(n) for n in ('red', 'blue', 'green', 'pink')}
    desc.write_text(json.dumps(dict(header, categories=cats)))
    new.write_text(json.dumps(dict(header, categories={'teal': sentences('teal')})))
    run = [sys.executable, str(REPO / 'tools' / 'gen_properties.py')]
    common = ['--model', 'hashing-32']
    subprocess.run(run + ['build', '--descriptions', str(desc), '-k', '3', '--out',
                          str(tmp_path / 'seen')] + common, check=True, capture_output=True)
    subprocess.run(run + ['assign', '--space', str(tmp_path / 'seen'), '--descriptions',
                          str(desc), str(new), '--out', str(tmp_path / 'all')] + common,
                   check=True, capture_output=True)
    full = PropertySpace.load(tmp_path / 'all')
    assert full.class_names == ['red', 'blue', 'green', 'pink', 'teal']
    assert full.meta['num_classes'] == 5 and full.meta['assigned'] == ['teal']
    assert [s['path'] for s in full.meta['sources']] == [str(desc), str(new)]
    out = subprocess.run(run + ['names', '--descriptions', str(desc), '--exclude', 'pink',
                                '--out', str(tmp_path / 'names.npz')] + common,
                         check=True, capture_output=True, text=True).stdout
    assert '3 categories x 32-d' in out
    names = load_label_space(tmp_path / 'names.npz')
    assert type(names) is NameEmbeddingSpace and names.class_names == ['red', 'blue', 'green']
    np.testing.assert_allclose(np.linalg.norm(names.vectors, axis=1), 1, rtol=1e-6)


@pytest.mark.parametrize('weight_repeats', [True, False])
def test_kmeans_weighs_repeated_descriptions(weight_repeats):
    from prolab_seg.properties import build_property_space, embed_texts
    base = [f'a {c} {s} object' for c in ('red', 'blue', 'green') for s in ('round', 'flat')]
    cats = {f'c{i}': [base[i]] + ([base[0]] if i else []) for i in range(6)}
    cats.update({f'x{j}': [base[0], base[j + 1]] for j in range(4)})  # base[0]: 10 times
    space = build_property_space(cats, 2, seed=0, model='hashing-64', n_init=5,
                                 weight_repeats=weight_repeats)
    assert space.meta['weight_repeats'] is weight_repeats
    texts = sorted(set(space.texts))
    emb = embed_texts(texts, 'hashing-64')
    count = np.array([space.texts.count(t) for t in texts], float)
    for k in range(2):
        members = [texts.index(t) for t in set(np.array(space.texts)[space.text_cluster == k])]
        w = count[members] if weight_repeats else np.ones(len(members))
        mean = (w[:, None] * emb[members]).sum(0)
        np.testing.assert_allclose(space.centroids[k], mean / np.linalg.norm(mean), atol=1e-5)


def test_readers_name_the_file_and_the_problem(tmp_path):
    """Every way a file can fail to be a label space, through every reader."""
    from prolab_seg.properties import PropertySpace
    from prolab_seg.properties.label_space import LabelSpaceError
    from test_reliability_tools import bad_spaces
    for path, problem in bad_spaces(tmp_path).items():
        for read in (load_label_space, PropertySpace.load, build_label_space):
            with pytest.raises(LabelSpaceError) as e:
                read(path)
            message = str(e.value)
            assert message.startswith(f'{path}: {problem}'), message
            assert not any(s in message for s in ('BadZipFile', 'allow_pickle', '\n'))
    bad_meta = tmp_path / 'bad_meta.npz'
    np.savez(bad_meta, format=np.array('prolab-seg/label-embedding@1'),
             class_names=np.array(['a']), vectors=np.ones((1, 2)), meta=np.array('{oops'))
    with pytest.raises(LabelSpaceError, match='bad_meta.npz: array "meta" is not valid JSON'):
        load_label_space(bad_meta)
