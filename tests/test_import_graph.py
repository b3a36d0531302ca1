"""The module import graph of prolab_seg (read with ``ast``, nothing imported): no import circle,
and the layering rules -- label spaces (``prolab_seg.properties``) do not depend on the
datasets (``prolab_seg.datasets``), clustering and evaluation do not load the text stack,
``prolab_seg.utils`` depends on nothing of prolab_seg, the installable package never imports the
projects (``projects/``: the property-world generator and experiment), whose own graph has no
circle either.

An edge ``a -> b`` is any import statement of module ``a`` that names module ``b`` (``from b
import name``, or ``from pkg import b`` when ``b`` is a module), at module level or inside a
function; imports under ``if TYPE_CHECKING:`` never run and are left out, as is the implicit
import of a module's parent packages.
"""
from __future__ import annotations

import ast
import graphlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def module_names(root: Path, package: str) -> dict[str, Path]:
    """``{dotted module name: file}`` of every ``.py`` file of ``root/package``."""
    out = {}
    for path in sorted((root / package).rglob('*.py')):
        parts = path.relative_to(root).with_suffix('').parts
        out['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = path
    return out


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        getattr(node.test, 'id', None) == 'TYPE_CHECKING'
        or getattr(node.test, 'attr', None) == 'TYPE_CHECKING')


def _imports(tree: ast.AST):
    """Every ``Import`` / ``ImportFrom`` node of ``tree`` outside ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif _is_type_checking(node):
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]))
        else:
            yield from _imports(node)


def import_targets(name: str, path: Path, modules: dict[str, Path]) -> list[str]:
    """Absolute names every import statement of module ``name`` (file ``path``) names: the
    module, or ``module.name`` when that is a module of ``modules``."""
    here = name.split('.') if path.name == '__init__.py' else name.split('.')[:-1]
    targets = []
    for node in _imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
            continue
        base = node.module or ''
        if node.level:
            base = '.'.join(here[:len(here) - node.level + 1] + ([base] if base else []))
        targets += [f'{base}.{a.name}' if f'{base}.{a.name}' in modules else base
                    for a in node.names]
    return targets


def import_graph(root: Path, package: str = 'prolab_seg') -> dict[str, set[str]]:
    """``{module: modules of the package it imports}`` (see the module docstring)."""
    modules = module_names(root, package)
    graph = {}
    for name, path in modules.items():
        deps = set()
        for target in import_targets(name, path, modules):
            while target and target not in modules:  # a name inside a module: the module
                target = target.rpartition('.')[0]
            if target and target != name:
                deps.add(target)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (``[a, b, ..., a]``), or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as e:
        return e.args[1]
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """The modules ``start`` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for dep in graph[todo.pop()] - seen:
            seen.add(dep)
            todo.append(dep)
    return seen


@pytest.fixture(scope='module')
def graph() -> dict[str, set[str]]:
    return import_graph(REPO)


def test_the_graph_sees_lazy_imports_and_circles(tmp_path):
    """The checker itself: a circle through a function-level relative import is found, one
    through ``TYPE_CHECKING`` only is not, and ``from pkg import module`` is an edge."""
    pkg = tmp_path / 'pkg'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'a.py').write_text('from pkg.b import f\n')
    (pkg / 'b.py').write_text('from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n'
                              '    from .a import g\n\ndef f():\n    from . import c\n')
    (pkg / 'c.py').write_text('def g():\n    from .a import f\n')
    graph = import_graph(tmp_path, 'pkg')
    assert graph == {'pkg': set(), 'pkg.a': {'pkg.b'}, 'pkg.b': {'pkg.c'}, 'pkg.c': {'pkg.a'}}
    assert set(find_cycle(graph)) == {'pkg.a', 'pkg.b', 'pkg.c'}
    (pkg / 'c.py').write_text('')
    assert find_cycle(import_graph(tmp_path, 'pkg')) is None
    (pkg / 'c.py').write_text('def g():\n    from projects.world import data\n')
    assert imports_of(tmp_path, 'pkg', 'projects') == [('pkg.c', 'projects.world')]


def imports_of(root: Path, package: str, other: str) -> list[tuple[str, str]]:
    """(module of ``package``, what it imports) for each import of ``package`` that names
    package ``other`` or one of its modules."""
    modules = module_names(root, package)
    return sorted({(name, target) for name, path in modules.items()
                   for target in import_targets(name, path, modules)
                   if target == other or target.startswith(other + '.')})


def test_no_import_circle(graph):
    assert len(graph) > 50  # every module was read
    assert find_cycle(graph) is None, ' -> '.join(find_cycle(graph))
    projects = import_graph(REPO, 'projects')
    assert 'projects.property_world.datasets.spec' in projects
    assert find_cycle(projects) is None, ' -> '.join(find_cycle(projects))


def test_the_package_never_imports_the_projects():
    """prolab_seg is what ``pip install`` ships; projects/ is not in it."""
    assert imports_of(REPO, 'prolab_seg', 'projects') == []


#: The text stack: sentence encoders and the LLM client.
TEXT_STACK = ('prolab_seg.properties.embedding', 'prolab_seg.properties.encoders',
              'prolab_seg.properties.llm')


@pytest.mark.parametrize('package, forbidden', [
    ('prolab_seg.properties', ('prolab_seg.datasets', )),
    ('prolab_seg.clustering', TEXT_STACK),
    ('prolab_seg.evaluation', TEXT_STACK),
    ('prolab_seg.utils', ('prolab_seg', )),
])
def test_layers(graph, package, forbidden):
    """No module of ``package`` imports, directly or through others, a module of
    ``forbidden``."""
    offending = {
        (name, dep) for name in graph if name == package or name.startswith(package + '.')
        for dep in reachable(graph, name)
        if not (dep == package or dep.startswith(package + '.'))
        and any(dep == f or dep.startswith(f + '.') for f in forbidden)}
    assert not offending, sorted(offending)


def test_property_world_keys_known_once_the_project_is_imported(tmp_path):
    """The property-world specs' descriptions keys are registered by the project
    (``import projects.property_world``), not by prolab_seg: with only prolab_seg.properties
    imported a file whose "dataset" is "property_world" is not a known key (nothing of the
    project loaded); once the project is imported it is checked against the property-world
    classes."""
    v1_path = REPO / 'projects' / 'property_world' / 'descriptions' / 'property_world_v1.json'
    v1 = json.loads(v1_path.read_text())
    v1['dataset'] = 'property_world'  # the v1 world's categories under the v2 key
    wrong = tmp_path / 'wrong.json'
    wrong.write_text(json.dumps(v1))
    script = ('import sys\n'
              'from prolab_seg.properties import DATASETS, DescriptionsError, load_descriptions\n'
              "print('property_world' in DATASETS, len(load_descriptions(sys.argv[1]).categories),"
              " any(m.startswith('projects') for m in sys.modules))\n"
              'import projects.property_world\n'
              'try:\n'
              '    load_descriptions(sys.argv[1])\n'
              'except DescriptionsError as e:\n'
              '    print(e)\n'
              'print(len(load_descriptions(sys.argv[2]).categories))\n')
    proc = subprocess.run(
        [sys.executable, '-c', script, str(wrong), str(v1_path)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    before, error, count = proc.stdout.splitlines()
    assert before == f'False {len(v1["categories"])} False'
    assert error.startswith(f'{wrong}: its "dataset" is \'property_world\', a known dataset key')
    assert 'set "dataset" to \'property_world_v1\', whose classes these are' in error
    assert count == str(len(v1['categories']))
