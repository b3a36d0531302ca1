"""Property label space (ProLab): descriptions, LLM generation, embedding, k-means, assignment.

Typical use::

    from prolab_seg.properties import load_descriptions, build_property_space, PropertySpace
    d = load_descriptions('descriptions/ade20k.json')
    space = build_property_space(d.categories, num_properties=256, seed=0)
    space.save('work_dirs/ade_space')            # property_space.{npz,json,md}
    space = PropertySpace.load('work_dirs/ade_space')

The LLM client (:mod:`.llm`) is imported lazily: ``from prolab_seg.properties.llm import ...``.
"""
from .descriptions import (DATASETS, DEFAULT_NUM_PROPERTIES, FORMAT, DatasetInfo,
                           DescriptionsError, DescriptionSet, dataset_class_names,
                           load_descriptions, merge_descriptions, save_descriptions,
                           validate_categories)
from .embedding import HashingEmbedder, embed_texts, l2_normalize, load_model
from .space import PropertySpace, assign_categories, build_property_space
from .label_space import (AttributeSpace, LabelSpace, NameEmbeddingSpace,
                          build_label_space, load_label_space)

__all__ = [
    'DATASETS', 'DEFAULT_NUM_PROPERTIES', 'FORMAT', 'DatasetInfo', 'DescriptionsError',
    'DescriptionSet', 'dataset_class_names', 'load_descriptions', 'merge_descriptions',
    'save_descriptions', 'validate_categories',
    'HashingEmbedder', 'embed_texts', 'l2_normalize', 'load_model',
    'PropertySpace', 'assign_categories', 'build_property_space',
    'LabelSpace', 'AttributeSpace', 'NameEmbeddingSpace', 'build_label_space', 'load_label_space',
]
