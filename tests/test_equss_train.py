"""End to end: a few unsupervised EQUSS iterations via tools/train.py, tools/test.py, analysis."""
from __future__ import annotations

import csv
import json
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / 'projects' / 'property_world' / 'configs' / 'equss' / \
    'equss_filterbank_property_world.py'
# a smaller head / quantizer than the config's D = 1024 keeps the test fast
SMALL = ['model.head.channels=128', 'model.quantizer.dim=128', 'model.quantizer.num_codebooks=8',
         'model.quantizer.num_codewords=16', 'model.cluster_probe.channels=128']


def run_tool(*args: str) -> str:
    # the repository root on the path: the config imports projects.property_world
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def dumping_config(config: Path, dump: Path, tmp_path: Path) -> str:
    """``config`` whose test run also dumps every sample (prediction, ground truth) to ``dump``
    (mmengine's ``DumpResults``)."""
    path = tmp_path / 'dumping_config.py'
    dumper = f"dict(type='DumpResults', out_file_path={str(dump)!r})"
    path.write_text(f'_base_ = [{str(config)!r}]\n'
                    f'test_evaluator = [{{{{_base_.test_evaluator}}}}, {dumper}]\n')
    return str(path)


def dumped_confusion(dump: Path, num_classes: int) -> np.ndarray:
    """gt x prediction pixel counts over the samples ``DumpResults`` wrote to ``dump`` (gt 255
    skipped)."""
    samples = pickle.loads(dump.read_bytes())
    pred = np.concatenate([s['pred_sem_seg']['data'].numpy().ravel() for s in samples])
    gt = np.concatenate([s['gt_sem_seg']['data'].numpy().ravel() for s in samples])
    keep = gt != 255
    assert pred.min() >= 0 and pred.max() < num_classes and gt[keep].max() < num_classes
    return np.bincount(gt[keep] * num_classes + pred[keep],
                       minlength=num_classes ** 2).reshape(num_classes, num_classes)


def hungarian_scores(dump: Path, num_clusters: int) -> tuple[float, float]:
    """aAcc and mIoU (percent) of the dumped cluster ids, recomputed here: clusters matched
    one-to-one to the classes (most matched pixels over the whole split), IoU per class."""
    conf = dumped_confusion(dump, num_clusters).T  # cluster x class
    clusters, classes = linear_sum_assignment(conf, maximize=True)
    tp = conf[clusters, classes]
    union = conf[clusters].sum(1) + conf[:, classes].sum(0) - tp
    return 100 * tp.sum() / conf.sum(), 100 * np.mean(tp[union > 0] / union[union > 0])


def test_equss_train_test_and_analyze_through_tools(property_world_v1_root, tmp_path):
    # the config's 18 clusters are v1's seen classes: run it on v1 data
    num_seen = len(json.loads((property_world_v1_root / 'meta.json').read_text())['seen'])
    assert num_seen == 18
    roots = [f'{loader}.dataset.data_root={property_world_v1_root}'
             for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    work = tmp_path / 'work'
    run_tool('tools/train.py', str(CONFIG), '--work-dir', str(work), '--cfg-options', *roots,
             *SMALL, 'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
             'train_dataloader.batch_size=4', 'default_hooks.logger.interval=1',
             'default_hooks.checkpoint.interval=4')
    scalars = [json.loads(line) for line in next(work.glob('*/vis_data/scalars.json'))
               .read_text().splitlines()]
    losses = [s for s in scalars if 'loss_pq' in s]
    assert len(losses) == 4
    assert all(math.isfinite(s[k]) for s in losses for k in ('loss_corr', 'loss_pq', 'loss_probe'))
    assert any('mIoU' in s for s in scalars)
    ckpt = str(work / 'iter_4.pth')
    dump = tmp_path / 'samples.pkl'
    run_tool('tools/test.py', dumping_config(CONFIG, dump, tmp_path), ckpt, '--work-dir',
             str(tmp_path / 'test'), '--cfg-options', *roots, *SMALL)
    result = json.loads(next((tmp_path / 'test').glob('*/*.json')).read_text())
    acc, miou = hungarian_scores(dump, num_seen)
    assert result['aAcc'] == pytest.approx(acc, abs=0.006)      # the metric rounds to 0.01
    assert result['mIoU'] == pytest.approx(miou, abs=0.006)
    out = tmp_path / 'codes'
    run_tool('tools/analyze_codes.py', str(CONFIG), ckpt, '--out-dir', str(out),
             '--cfg-options', *roots, *SMALL)
    rows = list(csv.DictReader(open(out / 'entropy.csv')))
    assert len(rows) == num_seen
    present = [float(r['entropy_bits']) for r in rows if int(r['pixels']) > 0]
    assert present and all(0 <= e <= 8 * math.log2(16) + 1e-6 for e in present)
    assert (out / 'entropy_vs_acc.png').stat().st_size > 1000
