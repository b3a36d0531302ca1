"""Tests of the generalised zero-shot metric (prolab_seg.evaluation.zero_shot)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData

import prolab_seg  # noqa: F401  (registers modules)
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample
from prolab_seg.evaluation import ZeroShotIoUMetric, iou_from_confusion
from prolab_seg.evaluation.zero_shot import harmonic_iou

CLASSES = ('road', 'car', 'zebra', 'kite')
UNSEEN = ['zebra', 'kite']
META = dict(classes=CLASSES, seen=['road', 'car'], unseen=UNSEEN)

# Two samples, classes 0..3, 255 = ignore. Counted (gt, pred) pixels:
#   sample A: (0,0) (0,1) (1,1) (1,1) (2,2) (2,0) (3,3)   [+ ignored gt 255 predicted 3]
#   sample B: (0,0) (3,2) (1,1)                          [+ ignored gt 255 predicted 2]
SAMPLES = [
    (np.array([[0, 1, 1, 1], [2, 0, 3, 3]]),    # pred A
     np.array([[0, 0, 1, 1], [2, 2, 255, 3]])),  # gt A
    (np.array([[0, 2], [2, 1]]),                # pred B
     np.array([[0, 3], [255, 1]])),             # gt B
]
# Summed confusion matrix, rows gt, columns pred.
EXPECTED_CONF = np.array([[2, 1, 0, 0],
                          [0, 3, 0, 0],
                          [1, 0, 1, 0],
                          [0, 0, 1, 1]])
# IoU = TP / (TP + FP + FN) per class, by hand from EXPECTED_CONF.
EXPECTED_IOU = dict(road=2 / 4, car=3 / 4, zebra=1 / 3, kite=1 / 2)


def seg_sample(pred: np.ndarray, gt: np.ndarray) -> SegDataSample:
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=torch.as_tensor(pred, dtype=torch.int64)[None])
    sample.gt_sem_seg = PixelData(data=torch.as_tensor(gt, dtype=torch.uint8)[None])
    return sample


def evaluate(metric, samples=SAMPLES, meta=META) -> dict:
    """Run ``metric`` through mmengine's Evaluator, one sample per batch."""
    evaluator = Evaluator(metric)
    evaluator.dataset_meta = meta
    for pred, gt in samples:
        evaluator.process(data_samples=[seg_sample(pred, gt)])
    return evaluator.evaluate(len(samples))


def test_areas_and_iou_match_hand_computation():
    metric = ZeroShotIoUMetric(unseen_classes=UNSEEN)
    assert isinstance(metric, IoUMetric)
    metric.dataset_meta = META
    metric.process({}, [seg_sample(p, g).to_dict() for p, g in SAMPLES])
    intersect, union, pred, gt = (sum(area).numpy() for area in zip(*metric.results))
    np.testing.assert_array_equal(intersect, np.diag(EXPECTED_CONF))
    np.testing.assert_array_equal(pred, EXPECTED_CONF.sum(0))  # columns: predictions
    np.testing.assert_array_equal(gt, EXPECTED_CONF.sum(1))
    np.testing.assert_array_equal(union, pred + gt - intersect)
    res = metric.evaluate(len(SAMPLES))
    assert res['aAcc'] == round(100 * 7 / 10, 2)
    assert res['mIoU'] == round(100 * (1 / 2 + 3 / 4 + 1 / 3 + 1 / 2) / 4, 2)  # 25/48
    assert res['mIoU_seen'] == round(100 * (1 / 2 + 3 / 4) / 2, 2)  # 5/8
    assert res['mIoU_unseen'] == round(100 * (1 / 3 + 1 / 2) / 2, 2)  # 5/12
    s, u = 5 / 8, 5 / 12
    assert res['hIoU'] == round(100 * 2 * s * u / (s + u), 2) == 50.0
    for name, iou in EXPECTED_IOU.items():
        assert res[f'IoU.{name}'] == round(100 * iou, 2)
    assert set(res) == {'aAcc', 'mIoU', 'mIoU_seen', 'mIoU_unseen', 'hIoU'} | {
        f'IoU.{c}' for c in CLASSES}
    assert metric.results == []  # evaluate clears the accumulated samples


def test_per_class_false_drops_class_keys():
    res = evaluate(ZeroShotIoUMetric(per_class=False))
    assert set(res) == {'aAcc', 'mIoU', 'mIoU_seen', 'mIoU_unseen', 'hIoU'}


def test_absent_class_is_nan_and_left_out_of_the_means():
    iou = iou_from_confusion(np.array([[3, 1, 0], [0, 2, 0], [0, 0, 0]]))
    assert iou[:2].tolist() == [3 / 4, 2 / 3] and math.isnan(iou[2])
    # a last row of predictions of no class: misses only
    iou = iou_from_confusion(np.array([[3, 1, 0], [0, 2, 0], [0, 0, 0], [1, 0, 0]]))
    assert iou[:2].tolist() == [3 / 5, 2 / 3] and math.isnan(iou[2])
    meta = dict(classes=('a', 'b', 'c'), unseen=['b', 'c'])
    res = evaluate(ZeroShotIoUMetric(), [(np.array([[0, 0, 1, 1]]), np.array([[0, 0, 0, 1]]))],
                   meta)
    assert math.isnan(res['IoU.c'])
    assert res['mIoU'] == round(100 * (2 / 3 + 1 / 2) / 2, 2)
    assert res['mIoU_unseen'] == round(100 * 1 / 2, 2)  # only 'b'; 'c' is NaN


def test_ignore_index_inside_the_class_range_is_skipped():
    meta = dict(classes=('a', 'b', 'c'), unseen=['c'])
    # the gt-2 pixel (predicted 1) is ignored: b is fully right and c has no pixels at all
    res = evaluate(ZeroShotIoUMetric(ignore_index=2),
                   [(np.array([[0, 1, 1]]), np.array([[0, 2, 1]]))], meta)
    assert (res['IoU.a'], res['IoU.b']) == (100.0, 100.0) and math.isnan(res['IoU.c'])
    assert res['aAcc'] == 100.0


def test_harmonic_iou_edge_cases():
    assert harmonic_iou(0.0, 0.0) == 0.0
    assert harmonic_iou(40.0, 0.0) == 0.0
    assert harmonic_iou(60.0, 30.0) == pytest.approx(40.0)
    assert math.isnan(harmonic_iou(float('nan'), 30.0))


def test_unseen_from_dataset_meta_equals_explicit_argument():
    from_meta = evaluate(ZeroShotIoUMetric())
    explicit = evaluate(ZeroShotIoUMetric(unseen_classes=UNSEEN),
                        meta=dict(classes=CLASSES))  # no 'unseen' in the meta
    assert from_meta == explicit
    assert from_meta['mIoU_unseen'] == round(100 * 5 / 12, 2)
    # a different unseen set changes the split, so the equality above is not vacuous
    other = evaluate(ZeroShotIoUMetric(unseen_classes=['car']))
    assert other['mIoU_unseen'] == round(100 * 3 / 4, 2) != from_meta['mIoU_unseen']


def test_missing_unseen_key_names_it():
    with pytest.raises(ValueError, match="'unseen'"):
        evaluate(ZeroShotIoUMetric(), meta=dict(classes=CLASSES))


def test_unknown_unseen_name_raises_naming_it():
    with pytest.raises(ValueError, match='unicorn'):
        evaluate(ZeroShotIoUMetric(unseen_classes=['kite', 'unicorn']))
    with pytest.raises(ValueError, match='dragon'):
        evaluate(ZeroShotIoUMetric(), meta=dict(META, unseen=['dragon']))
    with pytest.raises(TypeError, match="\\['kite'\\]"):
        ZeroShotIoUMetric(unseen_classes='kite')


def test_out_of_range_prediction_raises():
    pred, gt = np.array([[0, 7]]), np.array([[0, 1]])
    with pytest.raises(ValueError, match=r'predictions \[7\] are outside 0\.\.3'):
        evaluate(ZeroShotIoUMetric(), [(pred, gt)])
    pred, gt = np.array([[0, 255]]), np.array([[0, 255]])  # ignore_index is not a prediction
    with pytest.raises(ValueError, match=r'predictions \[255\]'):
        evaluate(ZeroShotIoUMetric(), [(pred, gt)])
    pred, gt = np.array([[0, 1]]), np.array([[0, 9]])
    with pytest.raises(ValueError, match=r'gt labels \[9\]'):
        evaluate(ZeroShotIoUMetric(), [(pred, gt)])
    with pytest.raises(ValueError, match='shape'):
        evaluate(ZeroShotIoUMetric(), [(np.zeros((2, 3), int), np.zeros((3, 2), int))])


def test_built_through_the_registry():
    metric = METRICS.build(dict(type='ZeroShotIoUMetric'))
    assert type(metric) is ZeroShotIoUMetric and metric.unseen_classes is None
    assert METRICS.get('ZeroShotIoUMetric') is ZeroShotIoUMetric
    built = METRICS.build(dict(type='ZeroShotIoUMetric', unseen_classes=('kite', ),
                               ignore_index=0, prefix='gzsl'))
    assert (built.unseen_classes, built.ignore_index, built.prefix) == (['kite'], 0, 'gzsl')
    assert evaluate(metric)['hIoU'] == 50.0


def test_same_miou_and_aacc_as_mmseg_iou_metric():
    rng = np.random.default_rng(0)
    num_classes = 6
    classes = tuple(f'c{i}' for i in range(num_classes))
    samples = []
    for _ in range(4):
        gt = rng.integers(0, num_classes - 1, size=(12, 16))  # class 5 never in the gt
        gt[rng.random(gt.shape) < 0.15] = 255
        pred = np.where(rng.random(gt.shape) < 0.6, np.where(gt == 255, 0, gt),
                        rng.integers(0, num_classes - 2, size=gt.shape))  # nor predicted
        samples.append((pred, gt))
    meta = dict(classes=classes, unseen=['c3', 'c4', 'c5'])
    ours = evaluate(ZeroShotIoUMetric(), samples, meta)
    ref = evaluate(IoUMetric(), samples, meta)
    assert math.isnan(ours['IoU.c5'])
    # IoUMetric works in float32: equal up to its precision
    assert ours['mIoU'] == pytest.approx(float(ref['mIoU']), abs=1e-4)
    assert ours['aAcc'] == pytest.approx(float(ref['aAcc']), abs=1e-4)
    assert 0 < ours['mIoU'] < 100
    # seen/unseen from the per-class IoU of mmseg's own bookkeeping
    results = []
    iou_metric = IoUMetric()
    for pred, gt in samples:
        results.append(iou_metric.intersect_and_union(
            torch.as_tensor(pred), torch.as_tensor(gt), num_classes, 255))
    iou = (sum(r[0] for r in results) / sum(r[1] for r in results)).numpy() * 100
    assert ours['mIoU_seen'] == pytest.approx(round(float(np.nanmean(iou[:3])), 2))
    assert ours['mIoU_unseen'] == pytest.approx(round(float(np.nanmean(iou[3:])), 2))
    for i, c in enumerate(classes[:5]):
        assert ours[f'IoU.{c}'] == pytest.approx(round(float(iou[i]), 2))
