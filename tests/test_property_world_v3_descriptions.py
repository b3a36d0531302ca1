"""The shipped property-world v3 descriptions: they load, describe exactly the v3 categories
under ProLab's facets with 8-15 sentences each, and no sentence names its own category."""
from pathlib import Path

from prolab_seg.properties import load_descriptions
from prolab_seg.properties.class_names import sentences_naming_category
from prolab_seg.properties.descriptions import FACETS, sentences_of

PATH = Path(__file__).resolve().parents[1] / 'projects' / 'property_world' / 'descriptions' / \
    'property_world_v3.json'
#: The v3 category names fixed by the issue-20 plan (section 2).
V3_CATEGORIES = {
    'sky', 'sea', 'sand', 'grass', 'road', 'snow', 'autumn leaves',
    'zebra', 'dalmatian', 'fox', 'tiger', 'cheetah', 'cow', 'bee',
    'snake', 'banana', 'cucumber', 'eel',
    'goldfish', 'clownfish', 'shark', 'koi',
    'taxi', 'school bus', 'fire truck', 'ambulance', 'police car',
    'apple', 'tomato', 'cherry', 'strawberry', 'pear',
    'orange', 'lemon', 'tennis ball', 'basketball', 'beach ball',
    'chessboard', 'dice', 'picnic blanket', 'postbox',
}


def load():
    # dataset_classes=False: checked here against the plan's names, whatever the spec keeps
    return load_descriptions(PATH, dataset_classes=False)


def test_categories_are_the_v3_names():
    ds = load()
    assert ds.dataset == 'property_world_v3' and ds.prompt_version == 'prolab-v3-facets'
    assert set(ds.categories) == V3_CATEGORIES
    assert list(ds.synonyms) == list(ds.categories)


def test_facet_grouped_with_8_to_15_sentences():
    for category, facets in load().categories.items():
        assert isinstance(facets, dict) and set(facets) <= set(FACETS), category
        assert 8 <= len(sentences_of(facets)) <= 15, category


def test_name_free():
    ds = load()
    assert sentences_naming_category(ds.categories, ds.synonyms, ds.dataset) == []
