"""Property space: build (k-means), determinism, save/load validation, subset/extend, assign, CLI.

Most tests use the fast deterministic ``HashingEncoder``; ``real_model`` tests load the offline
all-MiniLM-L6-v2 once per session (cached by ``load_model``).
"""

import numpy as np
import pytest

from prolab_seg.properties import (DescriptionsError, HashingEncoder, PropertySpace,
                                   assign_categories, build_property_space, embed_texts,
                                   load_model)

import gen_properties  # tools/ (tests/conftest.py puts it on sys.path)

TRAITS = {
    'zebra': ['black and white stripes', 'four legs and hooves', 'a mane on its neck',
              'grazes on savanna grass', 'a large animal'],
    'orange': ['a round shape', 'a bright orange colour', 'a dimpled peel', 'a sweet juicy fruit',
               'grows on trees'],
    'sky': ['a blue colour', 'the top of the image', 'white clouds', 'a smooth texture',
            'a large area'],
    'grass': ['a green colour', 'the bottom of the image', 'thin blades', 'grows in fields',
              'a large area'],
}
FAKE = HashingEncoder(64)


def describe(traits):
    return {c: [f'It has {t}.' for t in ts] for c, ts in traits.items()}


@pytest.fixture(scope='module')
def space():
    return build_property_space(describe(TRAITS), 8, seed=0, model=FAKE)


def test_build_shapes_and_invariants(space):
    assert space.class_names == list(TRAITS)
    assert space.vectors.shape == (4, 8) and space.vectors.dtype == np.float32
    assert space.centroids.shape == (8, 64) and space.centroids.dtype == np.float32
    assert space.num_properties == 8 and space.embed_dim == 64
    np.testing.assert_allclose(np.linalg.norm(space.centroids, axis=1), 1, atol=1e-5)
    assert set(np.unique(space.vectors)) <= {0.0, 1.0}
    assert (space.vectors.sum(1) >= 1).all() and (space.vectors.sum(0) >= 1).all()
    # multi-hot = union of the clusters of the category's descriptions
    for c in range(4):
        clusters = space.text_cluster[space.text_class == c]
        assert set(np.flatnonzero(space.vectors[c])) == set(clusters)
    sizes = np.bincount(space.text_cluster, minlength=8)
    assert (np.diff(sizes) <= 0).all()                     # ids sorted by decreasing size
    assert space.meta['embedding_model'] == 'hashing-64' and space.meta['seed'] == 0


def test_deterministic_under_seed(space):
    again = build_property_space(describe(TRAITS), 8, seed=0, model=FAKE)
    np.testing.assert_array_equal(again.vectors, space.vectors)
    np.testing.assert_array_equal(again.centroids, space.centroids)
    assert again.content_sha256() == space.content_sha256()


def test_build_errors():
    d = describe(TRAITS)
    with pytest.raises(ValueError, match=r'K=20 must be in \[1, 19\]'):   # 'a large area' x2
        build_property_space(d, 20, model=FAKE)
    dup = {'a': ['same text.', 'other a.'], 'b': ['same text.']}
    with pytest.raises(ValueError, match=r'K=3 must be in \[1, 2\] \(number of distinct'):
        build_property_space(dup, 3, model=FAKE)
    with pytest.raises(DescriptionsError, match="category 'sky': expected a non-empty list"):
        build_property_space({**d, 'sky': []}, 4, model=FAKE)
    with pytest.raises(ValueError, match='unknown clustering method'):
        build_property_space(d, 4, model=FAKE, method='faiss')


def test_minibatch_method():
    s = build_property_space(describe(TRAITS), 4, seed=1, model=FAKE, method='minibatch')
    assert s.vectors.shape == (4, 4) and s.meta['method'] == 'minibatch'


def test_save_load_round_trip(space, tmp_path):
    path = space.save(tmp_path / 'out')
    assert path == tmp_path / 'out' / 'property_space.npz'
    assert [p.name for p in path.parent.iterdir()] == [path.name]   # summaries: the CLI's
    loaded = PropertySpace.load(tmp_path / 'out', classes=list(TRAITS))
    np.testing.assert_array_equal(loaded.vectors, space.vectors)
    np.testing.assert_array_equal(loaded.centroids, space.centroids)
    assert loaded.texts == space.texts and loaded.meta['seed'] == 0
    with np.load(path, allow_pickle=False) as z:                # no object arrays anywhere
        assert all(z[k].dtype != object for k in z.files)
    summary = loaded.summary()
    assert len(summary['properties']) == 8 and summary['categories']['zebra']
    assert summary['properties'][0]['central'][0]['text'] in space.texts
    md = loaded.summary_markdown()
    assert '| zebra |' in md and 'hashing-64' in md
    assert space.save(tmp_path / 'named.npz') == tmp_path / 'named.npz'


def test_load_checks_description_sources(tmp_path):
    from prolab_seg.properties import DescriptionSet, load_descriptions, save_descriptions
    src = tmp_path / 'toy.json'
    cats = {c: [f'It has {t} ({i}).' for i in range(2) for t in ts] for c, ts in TRAITS.items()}
    save_descriptions(src, DescriptionSet(cats, 'toy', 'hand-written', 'prolab-v1'))
    ds = load_descriptions(src)
    space = build_property_space(ds.categories, 6, model=FAKE, meta={'sources': [ds.source_meta()]})
    space.save(tmp_path / 's.npz')
    assert PropertySpace.load(tmp_path / 's.npz', check_sources=True).num_classes == 4
    cats['sky'][0] = 'It has a changed sentence.'
    save_descriptions(src, DescriptionSet(cats, 'toy', 'hand-written', 'prolab-v1'))
    PropertySpace.load(tmp_path / 's.npz')                     # not checked by default
    with pytest.raises(ValueError, match='toy.json changed since the space was built'):
        PropertySpace.load(tmp_path / 's.npz', check_sources=True)
    src.unlink()
    with pytest.raises(ValueError, match='toy.json not found'):
        PropertySpace.load(tmp_path / 's.npz', check_sources=True)


def test_load_validates(space, tmp_path):
    path = space.save(tmp_path / 's.npz')
    with pytest.raises(ValueError, match='class list mismatch: missing \\[\\], unexpected '
                                         "\\['grass'\\]"):
        PropertySpace.load(path, classes=['zebra', 'orange', 'sky'])
    with pytest.raises(ValueError, match='same names, different order'):
        PropertySpace.load(path, classes=list(reversed(TRAITS)))
    with np.load(path) as z:
        arrays = dict(z)
    arrays['vectors'] = arrays['vectors'].copy()
    arrays['vectors'][0] = 1 - arrays['vectors'][0]
    np.savez(tmp_path / 'tampered.npz', **arrays)
    with pytest.raises(ValueError, match='content hash mismatch'):
        PropertySpace.load(tmp_path / 'tampered.npz')
    arrays['vectors'] = arrays['vectors'][:, :5]
    np.savez(tmp_path / 'shape.npz', **arrays)
    with pytest.raises(ValueError, match=r'shape.npz: .*centroids must be \[K, E\] with K = 5'):
        PropertySpace.load(tmp_path / 'shape.npz')
    with pytest.raises(FileNotFoundError, match='label space file not found: .*absent.npz'):
        PropertySpace.load(tmp_path / 'absent.npz')


def test_indistinguishable_categories_are_reported(tmp_path):
    s = PropertySpace(['a', 'b', 'c', 'd'], [[1, 0], [0, 1], [1, 0], [1, 0]], np.eye(2))
    assert s.indistinguishable() == [['a', 'c', 'd']]
    assert 'identical property vectors: a, c, d' in s.summary_markdown()


def test_constructor_validates():
    with pytest.raises(ValueError, match='L2-normalised'):
        PropertySpace(['a'], np.ones((1, 2)), np.ones((2, 3)), {})
    with pytest.raises(ValueError, match='multi-hot'):
        PropertySpace(['a'], np.full((1, 2), 0.5), np.eye(2), {})
    with pytest.raises(ValueError, match='duplicate category name'):
        PropertySpace(['a', 'a'], np.ones((2, 2)), np.eye(2), {})


def test_subset_index_extend(space):
    sub = space.subset(['sky', 'zebra'])
    assert sub.class_names == ['sky', 'zebra'] and sub.index('zebra') == 1
    np.testing.assert_array_equal(sub.vectors[1], space.vectors[space.index('zebra')])
    assert all(sub.class_names[c] in ('sky', 'zebra') for c in sub.text_class)
    assert len(sub.texts) == 10
    with pytest.raises(KeyError, match="not in label space .*: \\['tiger'\\]"):
        space.subset(['zebra', 'tiger'])
    with pytest.raises(KeyError, match="'tiger' is not in label space"):
        space.index('tiger')
    rest = space.subset(['orange', 'grass'])
    both = sub.extend(rest)
    assert both.class_names == ['sky', 'zebra', 'orange', 'grass'] and len(both.texts) == 20
    np.testing.assert_array_equal(both.subset(list(TRAITS)).vectors, space.vectors)
    with pytest.raises(ValueError, match="already present: \\['sky'\\]"):
        both.extend(sub.subset(['sky']))
    other = build_property_space(describe(TRAITS), 8, seed=5, model=HashingEncoder(32))
    with pytest.raises(ValueError, match='cannot concatenate: .* E=32; .* E=64'):
        space.extend(other.subset(['sky']))
    moved = PropertySpace(['x'], space.vectors[:1], np.roll(space.centroids, 1, axis=0))
    with pytest.raises(ValueError, match='different property centroids'):
        space.extend(moved)


def test_assign_new_categories(space):
    tiger = {'tiger': ['It has black and white stripes.', 'It has four legs and hooves.',
                       'It has black stripes on orange fur.']}
    added = assign_categories(space, tiger, model=FAKE)
    assert added.class_names == ['tiger'] and added.vectors.shape == (1, 8)
    np.testing.assert_array_equal(added.centroids, space.centroids)   # no re-clustering
    full = space.extend(added)
    sim = full.similarity()[full.index('tiger')]
    assert sim[full.index('zebra')] > 0 and sim[full.index('orange')] > 0
    assert sim[full.index('zebra')] > sim[full.index('grass')]
    # a seen category's descriptions land in the clusters of its own vector
    again = assign_categories(space, {'zebra2': describe(TRAITS)['zebra']})
    assert (again.vectors[0] <= space.vectors[space.index('zebra')]).all()
    with pytest.raises(ValueError, match="already in the property space: \\['zebra'\\]"):
        assign_categories(space, {'zebra': ['x.']}, model=FAKE)
    with pytest.raises(ValueError, match="built with embedding model 'hashing-64'"):
        assign_categories(space, tiger, model=HashingEncoder(32))


#: Three unit property centroids and the embedding of each test sentence (known cosines).
CENTROIDS = np.eye(4, dtype=np.float32)[:3]
VECTORS = {'at p0.': [1, 0, 0, 0], 'near p1.': [0, 0.8, 0, 0.6], 'far, nearest p2.': [0, 0, 0.3, 0.954],
           'far, nearest p0.': [0.2, 0, 0, 0.98], 'farther, nearest p1.': [0, 0.1, 0, 0.995]}


def fake_model(texts):
    """A text encoder whose embeddings are the hand-made ``VECTORS``."""
    return np.array([VECTORS[t] for t in texts], np.float32)


@pytest.fixture
def seen_by_hand():
    """A space of one seen category on the ``CENTROIDS``, with its own sentences."""
    return PropertySpace(['seen'], [[1, 1, 1]], CENTROIDS, {'num_properties': 3},
                         ['p zero.', 'p one.', 'p two.'], [0, 0, 0], [0, 1, 2], [1, 1, 1])


def test_far_sentence_adds_nothing(seen_by_hand):
    new = {'a': ['at p0.', 'far, nearest p2.', 'near p1.'],
           'b': ['far, nearest p0.', 'farther, nearest p1.']}
    every = assign_categories(seen_by_hand, new, model=fake_model)
    np.testing.assert_array_equal(every.vectors, [[1, 1, 1], [1, 1, 0]])
    cut = assign_categories(seen_by_hand, new, model=fake_model, min_similarity=0.5)
    # a: the far sentence (cosine 0.3 to p2) abstains; b: every sentence is below, so only its
    # most similar one (0.2 to p0) is kept
    np.testing.assert_array_equal(cut.vectors, [[1, 1, 0], [1, 0, 0]])
    assert cut.meta['min_similarity'] == {'a': 0.5, 'b': 0.5}
    # every sentence keeps its nearest property and cosine, abstained or not
    np.testing.assert_array_equal(cut.text_cluster, every.text_cluster)
    np.testing.assert_allclose(cut.text_score, [1, 0.3, 0.8, 0.2, 0.1], atol=1e-3)
    np.testing.assert_array_equal(cut.text_cluster, [0, 2, 1, 0, 1])
    # a threshold below every cosine changes nothing
    low = assign_categories(seen_by_hand, new, model=fake_model, min_similarity=0.05)
    np.testing.assert_array_equal(low.vectors, every.vectors)


def test_no_threshold_keeps_the_old_assignment(space, seen_by_hand):
    tiger = {'tiger': ['It has black and white stripes.', 'It has four legs and hooves.',
                       'It has black stripes on orange fur.', 'It has a mane on its neck.']}
    old = assign_categories(space, tiger, model=FAKE)
    # every sentence's nearest property is in the vector, nothing else; no threshold recorded
    expect = np.zeros_like(old.vectors)
    expect[old.text_class, old.text_cluster] = 1
    np.testing.assert_array_equal(old.vectors, expect)
    assert 'min_similarity' not in old.meta
    assert 'min_similarity' not in space.extend(old).meta
    lowest = assign_categories(space, tiger, model=FAKE, min_similarity=-1.0)
    assert lowest.content_sha256() == old.content_sha256()


def test_threshold_survives_union_and_subset(seen_by_hand):
    a = assign_categories(seen_by_hand, {'a': ['at p0.']}, model=fake_model, min_similarity=0.5)
    b = assign_categories(seen_by_hand, {'b': ['near p1.']}, model=fake_model)
    c = assign_categories(seen_by_hand, {'c': ['near p1.']}, model=fake_model,
                          min_similarity=0.9)
    full = seen_by_hand.extend(a).extend(b).extend(c)
    assert full.meta['assigned'] == ['a', 'b', 'c']
    assert full.meta['min_similarity'] == {'a': 0.5, 'c': 0.9}   # b: no abstention
    assert full.subset(['c', 'seen']).meta['min_similarity']['c'] == 0.9


def test_landing_report_lists_every_sentence(seen_by_hand):
    from prolab_seg.properties import landing_markdown, landing_report
    new = {'a': ['at p0.', 'far, nearest p2.', 'near p1.'],
           'b': ['far, nearest p0.', 'farther, nearest p1.']}
    full = seen_by_hand.extend(assign_categories(seen_by_hand, new, model=fake_model,
                                                 min_similarity=0.5))
    rows = landing_report(full)
    assert [(r['category'], r['sentence']) for r in rows] == \
        [(c, t) for c, ts in new.items() for t in ts]
    assert [r['property'] for r in rows] == [0, 2, 1, 0, 1]
    # properties are named by the seen category's sentences, not by the assigned ones
    assert [r['property_name'] for r in rows] == ['p0: p zero.', 'p2: p two.', 'p1: p one.',
                                                  'p0: p zero.', 'p1: p one.']
    assert [r['cosine'] for r in rows] == pytest.approx([1, 0.3, 0.8, 0.2, 0.1], abs=1e-3)
    assert [r['abstained'] for r in rows] == [False, True, False, False, True]
    assert [r['fallback'] for r in rows] == [False, False, False, True, False]
    assert {r['min_similarity'] for r in rows} == {0.5}
    md = landing_markdown(rows)
    assert md.count('| far, nearest p2. | p2: p two. | 0.300 | no (abstained) |') == 1
    assert '| far, nearest p0. | p0: p zero. | 0.200 | yes (only sentence kept) |' in md
    assert '1 of 3 sentences abstained' in md and '1 of 2 sentences abstained' in md
    plain = landing_report(seen_by_hand.extend(
        assign_categories(seen_by_hand, new, model=fake_model)))
    assert not any(r['abstained'] or r['fallback'] for r in plain)
    assert {r['min_similarity'] for r in plain} == {None}
    with pytest.raises(ValueError, match='no assigned categories recorded'):
        landing_report(seen_by_hand)


def test_cli_build_and_assign(tmp_path, capsys):
    from prolab_seg.properties import DescriptionSet, save_descriptions
    path = tmp_path / 'toy.json'
    cats = {c: [f'It has {t} ({i}).' for i in range(2) for t in ts] for c, ts in TRAITS.items()}
    save_descriptions(path, DescriptionSet(cats, 'toy', 'hand-written', 'prolab-v1'))
    argv = ['build', '--descriptions', str(path), '--out', str(tmp_path / 'space'),
            '--model', 'hashing-64', '-k', '6', '--exclude', 'grass']
    assert gen_properties.main(argv) == 0
    out = capsys.readouterr().out
    assert '3 categories, 30 descriptions -> K=6' in out and 'property   0' in out
    assert gen_properties.main(['assign', '--space', str(tmp_path / 'space'), '--descriptions',
                                str(path), '--out', str(tmp_path / 'all.npz')]) == 0
    out = capsys.readouterr().out
    assert 'assigned 1 new categories' in out and 'grass: properties' in out
    full = PropertySpace.load(tmp_path / 'all.npz')
    assert full.class_names == ['zebra', 'orange', 'sky', 'grass']
    # abstention and the landing report
    argv = ['assign', '--space', str(tmp_path / 'space'), '--descriptions', str(path),
            '--min-similarity', '0.99', '--out', str(tmp_path / 'cut.npz')]
    assert gen_properties.main(argv + ['--report', str(tmp_path / 'space' /
                                                       'property_space.md')]) == 2
    assert 'would replace' in capsys.readouterr().err and not (tmp_path / 'cut.npz').exists()
    assert gen_properties.main(argv + ['--report', str(tmp_path / 'landing.md')]) == 0
    out = capsys.readouterr().out
    assert 'min similarity 0.99: 9 of 10 sentences abstained' in out
    assert 'grass: every sentence is below the min similarity; kept the most similar' in out
    cut = PropertySpace.load(tmp_path / 'cut.npz')
    assert cut.meta['min_similarity'] == {'grass': 0.99}
    assert cut.vectors[cut.index('grass')].sum() == 1
    md = (tmp_path / 'landing.md').read_text()
    assert md.count('no (abstained)') == 9 and md.count('yes (only sentence kept)') == 1
    assert all(f'| {t} |' in md for t in cats['grass'])
    # errors are reported with the file name, exit code 2
    assert gen_properties.main(['build', '--descriptions', str(tmp_path / 'nope.json'),
                                '--out', str(tmp_path / 'x'), '-k', '2']) == 2
    assert 'nope.json: cannot read' in capsys.readouterr().err


def test_real_model_embeddings_and_assign():
    """The default offline all-MiniLM-L6-v2: 384-d unit vectors; tiger shares properties."""
    assert load_model() is load_model(None)                    # cached per process
    emb = embed_texts(['A zebra has stripes.', 'A tiger has stripes.', 'The sky is blue.'])
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    assert emb[0] @ emb[1] > emb[0] @ emb[2]
    d = {'zebra': ['A zebra has black and white stripes.', 'A zebra is a large striped animal.',
                   'A zebra has four legs and hooves.'],
         'orange': ['An orange is a round citrus fruit.', 'An orange has a bright orange colour.',
                    'An orange has a dimpled peel.'],
         'sky': ['The sky is blue on a clear day.', 'The sky is at the top of a photo.',
                 'The sky has white clouds.']}
    s = build_property_space(d, 6, seed=0)
    assert s.embed_dim == 384 and s.meta['embedding_model'].startswith('all-MiniLM-L6-v2')
    tiger = assign_categories(s, {'tiger': ['A tiger has black stripes on its fur.',
                                            'A tiger has bright orange fur.']})
    full = s.extend(tiger)
    sim = full.similarity()[full.index('tiger')]
    assert sim[full.index('zebra')] > 0 and sim[full.index('sky')] == 0
