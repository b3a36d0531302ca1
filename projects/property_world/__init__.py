"""The property-world ProLab experiment, a self-contained project outside the installable
package (like mmseg's ``projects/``; run from the repository root with ``python -m``):
:mod:`.datasets` (the procedural generator and its specs), :mod:`.make_dataset` (its CLI),
:mod:`.experiments` (label spaces, training, the zero-shot protocol) shared by :mod:`.demo` (the
main job) and :mod:`.benchmarks`, and the project's ``configs/`` and ``descriptions/``.

Importing it registers the generator side: the descriptions dataset keys of the shipped specs
(``property_world``, ``property_world_v1``, ``property_world_v3``;
:data:`.datasets.spec.DESCRIPTION_KEYS`). Its configs load it with
``custom_imports = dict(imports=['prolab_seg', 'projects.property_world'], ...)``.
"""
from . import datasets  # noqa: F401  (registers the specs' descriptions dataset keys)
