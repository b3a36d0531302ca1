"""Property label space (ProLab): descriptions, LLM generation, embedding, k-means, assignment.

Typical use::

    from prolab_seg.properties import load_descriptions, build_property_space, PropertySpace
    d = load_descriptions('descriptions/ade20k.json')
    space = build_property_space(d.categories, num_properties=256, seed=0)
    space.save('work_dirs/ade_space')            # property_space.npz
    space = PropertySpace.load('work_dirs/ade_space')

Text encoders are registered classes (:mod:`.encoders`); the LLM description client is
:mod:`.llm` (``openai`` is imported only when a client is made). :mod:`.report` tells how much a
space's categories share properties; :mod:`.prolab_properties` imports ProLab's published
property clustering; :mod:`.class_names` matches other spellings of class names.
"""
from .class_names import CLASS_ALIASES, match_class_names, sentences_naming_category
from .descriptions import (DATASETS, DEFAULT_NUM_PROPERTIES, FORMAT, DatasetInfo,
                           DescriptionsError, DescriptionSet, dataset_class_names,
                           load_descriptions, merge_descriptions, register_dataset,
                           save_descriptions, validate_categories)
from .embedding import embed_texts, get_embedder, model_name
from .encoders import (HashingEncoder, HFMeanPoolingEncoder, OpenAIEmbeddingEncoder,
                       SentenceTransformerEncoder, TextEncoder, load_model)
from .space import (PropertySpace, assign_categories, build_property_space,
                    landing_markdown, landing_report)
from .label_space import (AttributeSpace, LabelSpace, NameEmbeddingSpace,
                          build_label_space, load_label_space)
from .prolab_properties import import_prolab_properties
from .report import label_space_report

__all__ = [
    'CLASS_ALIASES', 'match_class_names', 'sentences_naming_category',
    'DATASETS', 'DEFAULT_NUM_PROPERTIES', 'FORMAT', 'DatasetInfo', 'DescriptionsError',
    'DescriptionSet', 'dataset_class_names', 'load_descriptions', 'merge_descriptions',
    'register_dataset', 'save_descriptions', 'validate_categories',
    'embed_texts', 'get_embedder', 'load_model', 'model_name',
    'HashingEncoder', 'HFMeanPoolingEncoder', 'OpenAIEmbeddingEncoder',
    'SentenceTransformerEncoder', 'TextEncoder',
    'PropertySpace', 'assign_categories', 'build_property_space',
    'landing_markdown', 'landing_report',
    'LabelSpace', 'AttributeSpace', 'NameEmbeddingSpace', 'build_label_space', 'load_label_space',
    'import_prolab_properties', 'label_space_report',
]
