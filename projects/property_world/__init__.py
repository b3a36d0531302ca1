"""The property-world ProLab experiment (outside the installable package, like mmseg's
``projects/``): :mod:`.experiments` (label spaces, training, the zero-shot protocol) shared by
``tools/demo.py`` and ``benchmarks/bench_prolab.py``, and :mod:`.demo` (the main job)."""
