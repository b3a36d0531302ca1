"""Every shipped description file builds a space, at its default K and seed 0, in which no two
categories share a property vector (a ProLab head could not tell them apart)."""
from pathlib import Path

import pytest

from prolab_seg.datasets import SEEN_CLASSES, load_spec
from prolab_seg.datasets.spec import V1_SPEC
from prolab_seg.properties import DEFAULT_NUM_PROPERTIES, build_property_space, load_descriptions

DESCRIPTIONS = Path(__file__).resolve().parents[1] / 'descriptions'
SHIPPED = ['ade20k', 'coco_stuff', 'pascal_context59', 'cityscapes', 'property_world',
           'property_world_v1']


@pytest.mark.slow
@pytest.mark.parametrize('dataset', SHIPPED)
def test_default_space_separates_every_category(dataset):
    categories = load_descriptions(DESCRIPTIONS / f'{dataset}.json').categories
    if dataset.startswith('property_world'):  # trained on the seen classes; unseen ones are
        seen = SEEN_CLASSES if dataset == 'property_world' else [  # assigned
            c.name for c in load_spec(V1_SPEC) if c.seen]
        categories = {k: v for k, v in categories.items() if k in seen}
        assert list(categories) == list(seen)
    space = build_property_space(categories, DEFAULT_NUM_PROPERTIES[dataset], seed=0)
    assert space.vectors.shape == (len(categories), DEFAULT_NUM_PROPERTIES[dataset])
    assert space.indistinguishable() == []
