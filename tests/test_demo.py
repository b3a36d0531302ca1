"""The main job (projects/property_world/demo.py) end to end at 2 iterations on the tiny
property-world (the real run: 300); its seen and zero-shot numbers are recomputed from the label
maps its tests wrote."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from projects.property_world import experiments as ex
from projects.property_world.demo import run_demo


def iou_from_label_maps(predictions: Path, annotations: Path, gt_of, num_classes: int):
    """Per-class IoU (percent; NaN: neither gt nor predicted pixels) of the predicted label maps
    ``predictions/<image>.png`` against ``gt_of(annotation)`` (255: ignored)."""
    names = sorted(p.name for p in annotations.glob('*.png'))
    assert sorted(p.name for p in predictions.glob('*.png')) == names
    conf = np.zeros((num_classes, num_classes), np.int64)
    for name in names:
        gt = gt_of(np.asarray(Image.open(annotations / name)).astype(np.int64))
        pred = np.asarray(Image.open(predictions / name)).astype(np.int64)
        keep = gt != 255
        conf += np.bincount(gt[keep] * num_classes + pred[keep],
                            minlength=num_classes ** 2).reshape(num_classes, num_classes)
    tp = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - tp
    return np.where(union > 0, 100 * tp / np.maximum(union, 1), np.nan)


def test_demo_runs_every_stage(property_world_root, tmp_path, capsys):
    work = tmp_path / 'demo'
    out = run_demo(str(work), str(property_world_root), iters=2, num_properties=8,
                   calibrations=(0.0, 0.3))
    info = ex.data_info(str(property_world_root))
    num_seen, num_unseen = len(info.seen), len(info.unseen)
    annotations = property_world_root / 'ann_dir' / 'val'   # labels index info.classes
    # seen: every seen class, unseen pixels ignored; zero-shot: the unseen ones, renumbered
    for name in ('baseline', 'prolab'):
        iou = iou_from_label_maps(work / name / 'test_seen' / 'predictions', annotations,
                                  lambda a: np.where(a < num_seen, a, 255), num_seen)
        assert out[name]['seen_mIoU'] == pytest.approx(np.nanmean(iou), abs=0.006)  # 2 decimals
        assert out[name]['s_iter'] > 0
    p = out['prolab']
    iou = iou_from_label_maps(work / 'prolab' / 'zero_shot' / 'predictions', annotations,
                              lambda a: np.where((a >= num_seen) & (a < 255), a - num_seen, 255),
                              num_unseen)
    assert p['zs_mIoU'] == pytest.approx(np.nanmean(iou), abs=0.006)
    assert list(p['zs_IoU']) == info.unseen and 'zs_mIoU' not in out['baseline']
    for c, value in zip(info.unseen, iou):
        assert p['zs_IoU'][c] == pytest.approx(value, abs=0.006, nan_ok=True), c
    # the GZSL calibration is one of the swept values, chosen on calib
    assert p['gzsl']['calibration'] in (0.0, 0.3) and 'calib_hIoU' in p['gzsl']
    assert out['chance_unseen_mIoU'] == ex.chance_unseen_miou(info)
    # step 5 loads the trained ProLab model from the demo's own spaces (not data/property_spaces)
    assert list((work / 'segment').glob('*_properties.png'))
    printed = capsys.readouterr().out
    assert '| ProLab (K=8 properties) |' in printed and '[5/5]' in printed
    assert f"| {out['baseline']['seen_mIoU']:.2f} |" in printed
    assert f"| {p['seen_mIoU']:.2f} | {p['zs_mIoU']:.2f} |" in printed
    assert f'seen mIoU ({num_seen})' in printed
    assert f'zero-shot mIoU ({num_unseen} unseen)' in printed
    assert 'properties that fired on the' in printed
