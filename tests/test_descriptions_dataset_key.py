"""A descriptions file whose ``"dataset"`` is a known key but whose categories are another
spec's is refused before any data are written, naming the file, the key, the categories that
differ and the fix (the project's demo and bench_prolab, load_descriptions)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prolab_seg.cli import run
from prolab_seg.properties import load_descriptions
from prolab_seg.properties.descriptions import DescriptionsError
from projects.property_world import demo
from projects.property_world import experiments as ex
from projects.property_world.datasets.spec import V1_SPEC

REPO = Path(__file__).resolve().parents[1]
V1_DESCRIPTIONS = REPO / 'projects' / 'property_world' / 'descriptions' / 'property_world_v1.json'


def copied_descriptions(tmp_path: Path, dataset: str = 'property_world',
                        drop: str | None = None) -> Path:
    """The v1 spec's descriptions (a stand-in for a user's own spec), ``"dataset"`` set to
    ``dataset``, without category ``drop``."""
    data = json.loads(V1_DESCRIPTIONS.read_text())
    data['dataset'] = dataset
    data['categories'].pop(drop, None)
    path = tmp_path / 'my_desc.json'
    path.write_text(json.dumps(data))
    return path


def test_load_descriptions_names_the_key_the_classes_and_the_fix(tmp_path):
    v1 = ex.data_classes(str(tmp_path / 'none'), V1_SPEC)
    v2 = ex.data_classes(str(tmp_path / 'none'))
    path = copied_descriptions(tmp_path)
    with pytest.raises(DescriptionsError) as err:
        load_descriptions(path)
    msg = str(err.value)
    assert msg.startswith(f'{path}: its "dataset" is \'property_world\', a known dataset key')
    assert f'missing {[c for c in v2 if c not in v1]}' in msg
    assert f'unexpected {[c for c in v1 if c not in v2]}' in msg
    assert 'set "dataset" to \'property_world_v1\', whose classes these are' in msg
    # categories of no known dataset: the fix is a name that is not a key
    with pytest.raises(DescriptionsError, match='set "dataset" to a name that is not a known '
                                                'dataset key, e.g. the spec\'s file name'):
        load_descriptions(copied_descriptions(tmp_path, drop=v1[0]))
    fixed = load_descriptions(copied_descriptions(tmp_path, dataset='my_spec'))
    assert list(fixed.categories) == list(json.loads(V1_DESCRIPTIONS.read_text())['categories'])


def test_demo_refuses_before_generating(tmp_path, capsys):
    path = copied_descriptions(tmp_path)
    data, work = tmp_path / 'data', tmp_path / 'work'
    with pytest.raises(DescriptionsError, match='"dataset" is \'property_world\''):
        demo.run_demo(str(work), str(data), iters=1, spec=str(V1_SPEC), descriptions=str(path))
    assert run(demo.main, ['--work-dir', str(work), '--data-root', str(data), '--spec',
                           str(V1_SPEC), '--descriptions', str(path)]) == 2
    assert capsys.readouterr().err.startswith(f'demo.py: error: {path}: its "dataset"')
    assert not data.exists() and not work.exists()
    # a description missing for a category of the spec: also before generating
    with pytest.raises(DescriptionsError, match=r"no descriptions for \['sky'\]"):
        ex.check_descriptions(str(copied_descriptions(tmp_path, 'my_spec', 'sky')), str(data),
                              str(V1_SPEC))
    ex.check_descriptions(str(copied_descriptions(tmp_path, 'my_spec')), str(data), str(V1_SPEC))
    assert not data.exists()


def test_bench_refuses_before_generating(tmp_path):
    path = copied_descriptions(tmp_path)
    data = tmp_path / 'data'
    proc = subprocess.run(
        [sys.executable, '-m', 'projects.property_world.benchmarks.bench_prolab', '--data-root',
         str(data), '--spec', str(V1_SPEC), '--descriptions', str(path), '--rows', 'prolab',
         '--work-dir', str(tmp_path / 'w')],
        capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'), cwd=REPO,
        timeout=300)
    assert proc.returncode == 2
    assert f'bench_prolab.py: error: {path}: its "dataset" is \'property_world\'' in proc.stderr
    assert not data.exists() and not (tmp_path / 'w').exists()
