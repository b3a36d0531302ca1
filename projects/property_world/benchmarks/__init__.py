"""The project's benchmarks, run from the repository root: ``python -m
projects.property_world.benchmarks.bench_prolab`` (zero-shot ProLab rows) and ``python -m
projects.property_world.benchmarks.bench_unsupervised`` (unsupervised segmentation rows)."""
