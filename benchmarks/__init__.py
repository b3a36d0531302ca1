"""Benchmarks of the package (run as scripts: ``python benchmarks/<name>.py``); the projects'
benchmarks live in their project (``projects/property_world/benchmarks/``)."""
