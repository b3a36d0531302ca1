"""`pip install .` (not editable): the wheel carries every file of the package and none of the
property-world project (its generator lives in projects/property_world); installed outside the
checkout it imports, registers PropertyWorldDataset and loads a shipped descriptions file."""
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

CHECK = '''
import importlib.util
import sys
import prolab_seg
from mmseg.registry import DATASETS
from prolab_seg.properties import load_descriptions
print(prolab_seg.__file__)
print(DATASETS.get('PropertyWorldDataset').__name__)
print(len(load_descriptions(sys.argv[1]).categories))
print(importlib.util.find_spec('projects') is None)
'''


@pytest.mark.slow
def test_wheel_has_the_package_only_and_runs_outside_the_checkout(tmp_path):
    src = tmp_path / 'src'
    shutil.copytree(REPO / 'prolab_seg', src / 'prolab_seg',
                    ignore=shutil.ignore_patterns('__pycache__'))
    for name in ('pyproject.toml', 'README.md', 'LICENSE'):
        if (REPO / name).exists():
            shutil.copy(REPO / name, src / name)
    pip = [sys.executable, '-m', 'pip']
    subprocess.run(pip + ['wheel', '-q', '--no-deps', '--no-build-isolation', '-w',
                          str(tmp_path / 'dist'), str(src)], check=True)
    wheel, = (tmp_path / 'dist').glob('prolab_seg-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    package = {p.relative_to(src).as_posix() for p in (src / 'prolab_seg').rglob('*')
               if p.is_file()}
    assert package <= names
    in_wheel = {n for n in names if n.startswith('prolab_seg/datasets/')}
    assert in_wheel == {'prolab_seg/datasets/__init__.py', 'prolab_seg/datasets/property_world.py'}
    assert not any(n.startswith('projects/') for n in names)
    site = tmp_path / 'site'
    subprocess.run(pip + ['install', '-q', '--no-deps', '--target', str(site), str(wheel)],
                   check=True)
    env = {'PYTHONPATH': str(site), 'PATH': '/usr/bin:/bin', 'OMP_NUM_THREADS': '1'}
    ade20k = REPO / 'descriptions' / 'ade20k.json'
    run = subprocess.run([sys.executable, '-c', CHECK, str(ade20k)], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    where, dataset, count, no_projects = run.stdout.splitlines()
    assert where.startswith(str(site)) and dataset == 'PropertyWorldDataset'
    assert int(count) == len(json.loads(ade20k.read_text())['categories'])
    assert no_projects == 'True'
