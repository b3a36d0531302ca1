"""Descriptions file format: loading, validation errors (naming file + category), saving."""
import json
from pathlib import Path

import pytest

from prolab_seg.properties import (FORMAT, DescriptionsError, DescriptionSet, load_descriptions,
                                   merge_descriptions, save_descriptions)

REPO = Path(__file__).resolve().parents[1]


def categories(names=('cat', 'dog'), n=10):
    return {c: [f'A {c} has feature number {i}.' for i in range(n)] for c in names}


def write(tmp_path, cats=None, **fields):
    data = {'format': FORMAT, 'dataset': 'toy', 'model': 'hand-written',
            'prompt_version': 'prolab-v1', 'categories': categories() if cats is None else cats}
    data.update(fields)
    path = tmp_path / 'toy.json'
    path.write_text(json.dumps(data), encoding='utf-8')
    return path


def test_round_trip(tmp_path):
    ds = DescriptionSet(categories(('b', 'a')), 'toy', 'hand-written', 'prolab-v1')
    save_descriptions(tmp_path / 'x.json', ds)
    loaded = load_descriptions(tmp_path / 'x.json', classes=['b', 'a'])
    assert list(loaded.categories) == ['b', 'a']          # class order kept
    assert loaded.categories == ds.categories
    assert len(loaded.sha256) == 64 and loaded.source_meta()['num_descriptions'] == 20


def test_classes_reorders_to_class_order(tmp_path):
    loaded = load_descriptions(write(tmp_path), classes=['dog', 'cat'])
    assert list(loaded.categories) == ['dog', 'cat']


@pytest.mark.parametrize('mutate, message', [
    (lambda c: c.update(dog=[]), "category 'dog': expected a non-empty list"),
    (lambda c: c.update(dog='a dog'), "category 'dog': expected a non-empty list"),
    (lambda c: c['dog'].__setitem__(3, 42), "category 'dog': entry 3 is int"),
    (lambda c: c['dog'].__setitem__(3, '   '), "category 'dog': entry 3 is empty"),
    (lambda c: c['dog'].__setitem__(4, ' a DOG has  feature number 0. '),
     "category 'dog': entries 0 and 4 are duplicates"),
    (lambda c: c.update(dog=c['dog'][:5]), "category 'dog': has 5 sentences, expected 8-20"),
    (lambda c: c.update(dog=[f'Dog fact {i}.' for i in range(21)]),
     "category 'dog': has 21 sentences, expected 8-20"),
])
def test_category_errors_name_file_and_category(tmp_path, mutate, message):
    cats = categories()
    mutate(cats)
    path = write(tmp_path, cats)
    with pytest.raises(DescriptionsError, match='toy.json') as e:
        load_descriptions(path)
    assert message in str(e.value)


def test_missing_and_unexpected_categories(tmp_path):
    with pytest.raises(DescriptionsError, match=r"missing \['bird'\], unexpected \['dog'\]"):
        load_descriptions(write(tmp_path), classes=['cat', 'bird'])


@pytest.mark.parametrize('fields, message', [
    ({'format': 'other@1'}, 'field "format"'),
    ({'model': ''}, "field 'model'"),
    ({'categories': {}}, '"categories" must be a non-empty object'),
    ({'categories': ['cat']}, '"categories" must be a non-empty object'),
])
def test_header_errors(tmp_path, fields, message):
    with pytest.raises(DescriptionsError, match='toy.json') as e:
        load_descriptions(write(tmp_path, **fields))
    assert message in str(e.value)


def test_encoding_json_and_duplicate_keys(tmp_path):
    bad = tmp_path / 'latin1.json'
    bad.write_bytes(json.dumps({'format': FORMAT}).encode()[:-1] + b', "x": "caf\xe9"}')
    with pytest.raises(DescriptionsError, match='latin1.json: not valid UTF-8'):
        load_descriptions(bad)
    broken = tmp_path / 'broken.json'
    broken.write_text('{"format": ', encoding='utf-8')
    with pytest.raises(DescriptionsError, match='broken.json: invalid JSON'):
        load_descriptions(broken)
    text = write(tmp_path).read_text()
    dup = tmp_path / 'dup.json'
    dup.write_text(text.replace('"categories": {', '"categories": {"cat": ["x"], '))
    with pytest.raises(DescriptionsError, match=r"dup.json: duplicate keys \['cat'\]"):
        load_descriptions(dup)
    with pytest.raises(DescriptionsError, match='cannot read'):
        load_descriptions(tmp_path / 'absent.json')


def test_merge_rejects_category_in_two_files():
    a = DescriptionSet(categories(('cat',)), 'a', 'm', 'v', path='a.json')
    b = DescriptionSet(categories(('dog', 'cat')), 'b', 'm', 'v', path='b.json')
    assert list(merge_descriptions([a, DescriptionSet(categories(('dog',)), 'b', 'm', 'v')])) == [
        'cat', 'dog']
    with pytest.raises(DescriptionsError, match="'cat' is in both a.json and b.json"):
        merge_descriptions([a, b])


@pytest.mark.parametrize('name', ['ade20k', 'coco_stuff', 'pascal_context59', 'cityscapes',
                                  'property_world', 'property_world_v1'])
def test_shipped_descriptions_are_valid(name):
    """The shipped files match their dataset's class list and the format rules."""
    import projects.property_world  # noqa: F401  (registers the property-world keys)
    from prolab_seg.properties.descriptions import dataset_class_names
    folder = 'projects/property_world/descriptions' if name.startswith('property_world') \
        else 'descriptions'
    ds = load_descriptions(REPO / folder / f'{name}.json')
    assert ds.dataset == name and len(ds.categories) > 0
    assert list(ds.categories) == dataset_class_names(name)


@pytest.mark.parametrize('name', ['ade20k', 'coco_stuff', 'pascal_context59', 'cityscapes'])
def test_shipped_real_descriptions_are_name_free_in_prolab_structure(name):
    """Real-dataset files: 8-15 sentences under ProLab's facets, none naming its own category
    (its name, plural, alias or a listed synonym), and a synonyms entry for every category."""
    from prolab_seg.properties.class_names import sentences_naming_category, sentences_of
    from prolab_seg.properties.descriptions import FACETS
    ds = load_descriptions(REPO / 'descriptions' / f'{name}.json')
    assert list(ds.synonyms) == list(ds.categories)
    for category, facets in ds.categories.items():
        assert isinstance(facets, dict) and set(facets) <= set(FACETS), category
        assert 8 <= len(sentences_of(facets)) <= 15, category
    assert sentences_naming_category(ds.categories, ds.synonyms, name) == []


def test_facet_grouped_categories_validate_and_name_a_bad_facet():
    from prolab_seg.properties.descriptions import DescriptionsError, validate_categories
    grouped = {'shape': [f'It is shape {i}.' for i in range(5)],
               'color': [f'It is colour {i}. ' for i in range(5)]}
    assert validate_categories({'kite': grouped}, 'f.json')['kite']['color'][0] == 'It is colour 0.'
    with pytest.raises(DescriptionsError, match=r"f.json: category 'kite': facet-grouped .*"
                                                r"\['shape', 'smell'\]"):
        validate_categories({'kite': {'shape': grouped['shape'], 'smell': grouped['color']}},
                            'f.json')
    with pytest.raises(DescriptionsError, match=r"'kite': entries 0 and 5 are duplicates"):
        validate_categories({'kite': {'shape': grouped['shape'], 'color': grouped['shape']}},
                            'f.json')


def test_atomic_write_follows_the_umask_and_leaves_no_temp(tmp_path):
    import os

    from prolab_seg.properties.files import atomic_write_text
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / 'a.json', '{}')
    finally:
        os.umask(old)
    assert (tmp_path / 'a.json').stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ['a.json']
