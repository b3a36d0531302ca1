"""benchmarks/bench_gpu_cost.py --small end to end on CPU (shrunk models, tiny crops)."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAIRS = ('upernet_ade20k', 'deeplab_ade20k', 'upernet_cityscapes')
VARIANTS = ('ce', 'prolab_label', 'prolab_chunked', 'prolab_feature')


def test_bench_gpu_cost_small(tmp_path):
    out = tmp_path / 'cost.json'
    proc = subprocess.run(
        [sys.executable, str(REPO / 'benchmarks' / 'bench_gpu_cost.py'), '--small',
         '--json', str(out)],
        capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert tuple(result['pairs']) == PAIRS
    assert result['environment']['small'] is True
    for name, pair in result['pairs'].items():
        assert tuple(pair['variants']) == VARIANTS, name
        ce = pair['variants']['ce']
        for v, r in pair['variants'].items():
            for key in ('train_s', 'infer_s'):
                assert math.isfinite(r[key]) and r[key] > 0, (name, v, key)
            assert len(r['train_times']) == 2 and len(r['infer_times']) == 2
            assert all(math.isfinite(t) and t > 0 for t in r['train_times'] + r['infer_times'])
            assert r['train_ratio'] == pytest.approx(r['train_s'] / ce['train_s'])
            assert r['infer_ratio'] == pytest.approx(r['infer_s'] / ce['infer_s'])
            assert r['peak_gib'] is None  # CPU
        opts = pair['variants']['prolab_feature']['cfg_options']
        assert opts['model.decode_head.loss_resolution'] == 'feature'
        assert opts['model.auxiliary_head.loss_resolution'] == 'feature'
        assert 'model.decode_head.loss_resolution' not in pair['variants']['prolab_label'][
            'cfg_options']
        opts = pair['variants']['prolab_chunked']['cfg_options']
        assert opts['model.decode_head.loss_chunk_rows'] == 64
        assert opts['model.auxiliary_head.loss_chunk_rows'] == 64
    assert pair['crop'] == [64, 128] and pair['num_properties'] == 32
    table = proc.stdout
    assert table.count('| variant | train s/iter | ratio to ce | infer s/img | ratio | peak GiB |'
                       ) == 3
    for name in PAIRS:
        assert f'### {name}:' in table
    for v in VARIANTS:
        assert table.count(f'| {v} |') == 3
    assert '| ce |' in table and 'x1.000 |' in table and '| n/a |' in table
    assert '- torch:' in table and '- mmseg:' in table and '- mmengine:' in table


def test_amp_refused_on_cpu():
    proc = subprocess.run(
        [sys.executable, str(REPO / 'benchmarks' / 'bench_gpu_cost.py'), '--amp', '--device',
         'cpu', '--pairs', 'deeplab_ade20k'],
        capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=120)
    assert proc.returncode == 2
    assert '--amp needs a CUDA device' in proc.stderr
