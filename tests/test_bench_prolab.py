"""benchmarks/bench_prolab.py end to end on the tiny property-world (2 iterations per row)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_prolab_prints_every_row(property_world_root, tmp_path):
    out = tmp_path / 'bench.json'
    rows = ['baseline', 'prolab', 'textemb', 'random', 'attributes', 'supervised']
    proc = subprocess.run(
        [sys.executable, str(REPO / 'benchmarks' / 'bench_prolab.py'), '--data-root',
         str(property_world_root), '--iters', '2', '--no-v1', '-k', '8', '--work-dir',
         str(tmp_path / 'w'), '--json', str(out), '--rows', *rows],
        capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert list(result['rows']) == rows
    for name in rows[1:]:
        r = result['rows'][name]
        assert set(r['zs_IoU']) == {'tiger', 'cheetah', 'lemon', 'blueberry',
                                    'checkered tablecloth', 'autumn leaves'}
        assert 'hIoU' in r['gzsl'] and set(r['probe']) <= {'color', 'texture', 'shape'}
    assert result['rows']['supervised']['gzsl']['calibration'] == 0.0
    table = proc.stdout
    assert '| baseline (one-hot CE) |' in table and '| attribute space (oracle) |' in table
    assert 'zero-shot mIoU (6 unseen)' in table and 'seen mIoU (23)' in table
    assert 'ProLab zero-shot / supervised upper bound' in table
    assert (tmp_path / 'w' / 'property_report_prolab.md').read_text().count('\n') == 8 + 2
