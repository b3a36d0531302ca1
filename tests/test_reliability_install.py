"""`pip install .` (not editable): the wheel carries every data file the package reads."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_has_package_data_and_runs_outside_the_checkout(tmp_path):
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
    data = {str(p.relative_to(src)) for p in (src / 'prolab_seg').rglob('*')
            if p.is_file() and p.suffix != '.py'}
    assert data, 'the package reads data files (dataset specs)'
    assert data <= set(zipfile.ZipFile(wheel).namelist())
    site = tmp_path / 'site'
    subprocess.run(pip + ['install', '-q', '--no-deps', '--target', str(site), str(wheel)],
                   check=True)
    out = tmp_path / 'pw'
    env = {'PYTHONPATH': str(site), 'PATH': '/usr/bin:/bin', 'OMP_NUM_THREADS': '1'}
    run = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'make_dataset.py'), '--out', str(out),
         '--num-train', '2', '--num-val', '1'], cwd=tmp_path, env=env, capture_output=True,
        text=True)
    assert run.returncode == 0, run.stderr
    where = subprocess.run([sys.executable, '-c', 'import prolab_seg; print(prolab_seg.__file__)'],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(site))
    assert (out / 'meta.json').exists()
