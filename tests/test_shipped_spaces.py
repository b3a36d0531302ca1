"""Every shipped description file builds a space, at its default K and seed 0, in which no two
categories share a property vector (a ProLab head could not tell them apart); the real-dataset
spaces share properties as ProLab's do (issue 17's bounds, read from the label-space report)."""
from pathlib import Path

import pytest

from prolab_seg.properties import DEFAULT_NUM_PROPERTIES, build_property_space, load_descriptions
from prolab_seg.properties.report import label_space_report
from projects.property_world.datasets import SEEN_CLASSES, load_spec
from projects.property_world.datasets.spec import V1_SPEC

REPO = Path(__file__).resolve().parents[1]
DESCRIPTIONS = REPO / 'descriptions'
PW_DESCRIPTIONS = REPO / 'projects' / 'property_world' / 'descriptions'
SHIPPED = ['ade20k', 'coco_stuff', 'pascal_context59', 'cityscapes', 'property_world',
           'property_world_v1']
#: dataset -> (most single-category properties, least mean / min properties per category)
SHARING_BOUNDS = {'ade20k': (25, 8, 4), 'coco_stuff': (25, 8, 4),
                  'pascal_context59': (15, 0, 1), 'cityscapes': (4, 0, 1)}


@pytest.mark.slow
@pytest.mark.parametrize('dataset', SHIPPED)
def test_default_space_separates_every_category(dataset):
    descriptions = load_descriptions(
        (PW_DESCRIPTIONS if dataset.startswith('property_world') else DESCRIPTIONS)
        / f'{dataset}.json')
    categories = descriptions.categories
    if dataset.startswith('property_world'):  # trained on the seen classes; unseen ones are
        seen = SEEN_CLASSES if dataset == 'property_world' else [  # assigned
            c.name for c in load_spec(V1_SPEC) if c.seen]
        categories = {k: v for k, v in categories.items() if k in seen}
        assert list(categories) == list(seen)
    space = build_property_space(categories, DEFAULT_NUM_PROPERTIES[dataset], seed=0)
    assert space.vectors.shape == (len(categories), DEFAULT_NUM_PROPERTIES[dataset])
    assert space.indistinguishable() == []
    if dataset in SHARING_BOUNDS:
        most_single, least_mean, least_min = SHARING_BOUNDS[dataset]
        report = label_space_report(space, categories, descriptions.synonyms, dataset)
        assert report['named_sentences']['count'] == 0
        assert report['single_category']['count'] <= most_single
        assert report['properties_per_category']['mean'] >= least_mean
        assert report['properties_per_category']['min'] >= least_min
