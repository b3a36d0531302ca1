"""The name check (sentences naming their own category), the descriptions' ``synonyms`` field,
ProLab's seven facets, the label-space report on a hand-made space, and the ``report`` /
``build`` CLI with its warning when more than 20 % of the properties hold one category."""
import json

import numpy as np
import pytest

from prolab_seg.properties import (DescriptionsError, DescriptionSet, PropertySpace,
                                   label_space_report, load_descriptions, save_descriptions,
                                   sentences_naming_category, validate_categories)
from prolab_seg.properties.descriptions import FACETS

import gen_properties  # tools/ (tests/conftest.py puts it on sys.path)


# ------------------------------------------------------------------ the name check
def named(categories, synonyms=None, dataset=None):
    return [s for _, s in sentences_naming_category(categories, synonyms, dataset)]


def test_name_check_finds_names_plurals_and_synonyms():
    sentences = {
        'bus': ['Two buses wait.', 'A BUS stops.', 'A busy street.', 'Its business is here.'],
        'traffic light': ['Traffic-lights glow red.', 'traffic_light pole', 'A traffic jam.'],
        'sky': ['Grey skies above.', 'It is blue.', 'A skyscraper.'],
        'car': ['Parked cars.', 'A soft carpet.', "The car's roof."],
        'wall-other': ['A wall-mounted lamp.', 'Flat vertical surface.'],
        'bed ': ['Beds in a row.', 'A soft mattress.', 'Flower beds.'],
        'glass': ['Two glasses.', 'Glassy surface.'],
        'couch': ['A long sofa.', 'Soft cushions.'],
    }
    found = named(sentences, {'bed ': ['mattress']}, 'coco_stuff')
    assert found == ['Two buses wait.', 'A BUS stops.', 'Traffic-lights glow red.',
                     'traffic_light pole', 'Grey skies above.', 'Parked cars.', "The car's roof.",
                     'A wall-mounted lamp.', 'Beds in a row.', 'A soft mattress.', 'Flower beds.',
                     'Two glasses.', 'A long sofa.']         # sofa: a coco_stuff alias of couch
    assert named({'couch': ['A long sofa.']}) == []          # no dataset: no aliases
    assert named({'wall-brick': ['A brick wall.', 'Wall-brick face.']}) == ['Wall-brick face.']
    grouped = {'kite': {'shape': ['Diamond outline.'], 'context': ['Kites in the sky.']}}
    assert named(grouped) == ['Kites in the sky.']


# ------------------------------------------------------------------ synonyms and facets
def cats(names=('cat', 'dog'), n=8):
    return {c: [f'It has feature number {i}.' for i in range(n)] for c in names}


def test_synonyms_round_trip_and_validation(tmp_path):
    ds = DescriptionSet(cats(), 'toy', 'hand-written', 'prolab-v3',
                        synonyms={'cat': [' kitten ', 'feline']})
    save_descriptions(tmp_path / 'd.json', ds)
    data = json.loads((tmp_path / 'd.json').read_text())
    assert data['synonyms'] == {'cat': ['kitten', 'feline']}
    assert load_descriptions(tmp_path / 'd.json').synonyms == {'cat': ['kitten', 'feline']}
    save_descriptions(tmp_path / 'plain.json', DescriptionSet(cats(), 'toy', 'm', 'v'))
    assert 'synonyms' not in json.loads((tmp_path / 'plain.json').read_text())
    for bad, message in [({'bird': ['x']}, r'"synonyms" of categories not in the file: \[.bird.\]'),
                         ({'cat': 'kitten'}, "synonyms of 'cat' must be a list"),
                         ({'cat': ['']}, "synonyms of 'cat' must be a list"),
                         (['cat'], '"synonyms" must be an object')]:
        (tmp_path / 'bad.json').write_text(json.dumps(dict(data, synonyms=bad)))
        with pytest.raises(DescriptionsError, match='bad.json: ' + message):
            load_descriptions(tmp_path / 'bad.json')


def test_seven_facets_in_prolab_structure():
    assert FACETS[:5] == ('shape', 'color', 'texture', 'parts', 'context')  # old files' order
    grouped = {'variations': ['Short or tall.'], 'material': ['Made of steel.', 'Painted.'],
               'shape': ['Tall and thin.'], 'context': ['Beside roads.', 'In parks.'],
               'color': ['Grey.', 'Green.']}
    out = validate_categories({'pole': grouped}, 'f.json')['pole']
    assert list(out) == ['shape', 'color', 'context', 'material', 'variations']


# ------------------------------------------------------------------ the report
def hand_space():
    """5 categories x 6 properties: p0 and p5 hold one category each, c and d are identical,
    e has the fewest properties (1); 11 memberships in all."""
    vectors = np.array([[1, 1, 0, 0, 0, 0],    # a
                        [0, 1, 1, 0, 0, 0],    # b
                        [0, 0, 1, 1, 0, 0],    # c
                        [0, 0, 1, 1, 0, 0],    # d
                        [0, 0, 0, 0, 0, 1]],   # e
                       np.float32)
    vectors[[0, 1], 4] = 1                     # p4: a, b
    texts = ['An a shape.', 'Round.', 'Two bs here.', 'Flat.', 'Flat and red.', 'Thin.', 'Tall.']
    return PropertySpace(['a', 'b', 'c', 'd', 'e'], vectors, np.eye(6, dtype=np.float32),
                         {'dataset': 'toy'}, texts, [0, 0, 1, 2, 3, 4, 4],
                         [0, 4, 1, 2, 3, 5, 5], np.ones(7))


def test_report_counts_on_a_hand_made_space():
    report = label_space_report(hand_space(), nearest=2)
    assert report['single_category'] == {'count': 2, 'percent': 33.33,
                                         'properties': {0: 'a', 5: 'e'}}
    assert report['properties_per_category'] == {'mean': 2.2, 'min': 1, 'at_min': ['e']}
    assert report['identical'] == [['c', 'd']] and report['empty_properties'] == 0
    assert report['named_sentences']['count'] == 2
    assert [s['text'] for s in report['named_sentences']['sentences']] == ['An a shape.',
                                                                           'Two bs here.']
    # nearest by cosine of the vectors: d is c's twin; a and b share p1 and p4 (2 / 3)
    assert report['nearest']['c'][0] == ['d', 1.0]
    assert report['nearest']['a'][0] == ['b', pytest.approx(2 / 3, abs=1e-4)]
    assert len(report['nearest']['a']) == 2 and report['nearest']['e'][0][1] == 0.0
    # descriptions given: they are checked instead of the space's own texts, with synonyms
    other = label_space_report(hand_space(), {c: ['It is odd.'] for c in 'abcde'},
                               {'e': ['odd']})
    assert other['named_sentences']['count'] == 1 and other['num_descriptions'] == 5
    from prolab_seg.properties import NameEmbeddingSpace
    with pytest.raises(ValueError, match='needs 0/1 property vectors'):
        label_space_report(NameEmbeddingSpace(['a', 'b'], [[0.6, 0.8], [1.0, 0.0]]))


def test_report_goes_into_the_summary():
    summary = hand_space().summary()
    assert summary['report']['single_category']['count'] == 2
    md = hand_space().summary_markdown()
    assert '- properties holding a single category: 2 (33.3 %)' in md
    assert 'WARNING: 2 of 6 properties (33.3 %) hold a single category' in md
    assert 'WARNING: identical property vectors: c, d' in md


def test_cli_report(tmp_path, capsys):
    path = hand_space().save(tmp_path / 's.npz')
    assert gen_properties.main(['report', '--space', str(path), '--json',
                                str(tmp_path / 'r.json')]) == 0
    out = capsys.readouterr()
    assert 'properties per category: mean 2.20, min 1 (e)' in out.out
    assert "names its category: a: 'An a shape.'" in out.out
    assert 'warning: 2 of 6 properties (33.3 %) hold a single category' in out.err
    assert json.loads((tmp_path / 'r.json').read_text())['identical'] == [['c', 'd']]


def test_build_warns_when_over_20_percent_hold_one_category(tmp_path, capsys):
    names = [f'class{i}' for i in range(6)]
    own = {c: [f'{c} {c} {c} {c}x{k}.' for k in range(8)] for c in names}
    pool = [f'Shared trait {w} here.' for w in ('red', 'blue', 'tall', 'flat', 'round', 'thin',
                                                  'soft', 'hard', 'wet', 'dry')]
    # every shared sentence belongs to at least two categories: no property holds just one
    shared = {c: [pool[(i + j) % 10] for j in range(8)] for i, c in enumerate(names)}
    for label, categories, warned in (('own', own, True), ('shared', shared, False)):
        src = tmp_path / f'{label}.json'
        save_descriptions(src, DescriptionSet(categories, 'toy', 'hand-written', 'prolab-v3'))
        assert gen_properties.main(['build', '--descriptions', str(src), '--model', 'hashing-64',
                                    '-k', '6', '--out', str(tmp_path / label)]) == 0
        err = capsys.readouterr().err
        assert ('hold a single category (more than 20 %)' in err) is warned
        report = json.loads((tmp_path / label / 'property_space.json').read_text())['report']
        assert (report['single_category']['percent'] > 20) is warned
