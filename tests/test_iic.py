"""IIC: loss against hand-computed values, its maximum, the displacement window, head, views."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import prolab_seg  # noqa: F401  (registers modules)
from mmseg.registry import MODELS
from prolab_seg.models.iic import (IICViews, align_to_first_view, iic_joint,
                                   mutual_information_loss, warp)
from test_equss_train import dumping_config, hungarian_scores


REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / 'projects' / 'property_world' / 'configs' / 'iic' / \
    'iic_resnet18-tiny_property-world_2k.py'


def one_hot(labels, num_classes: int) -> torch.Tensor:
    """B x H x W int labels -> B x C x H x W float one-hot."""
    return F.one_hot(torch.as_tensor(labels), num_classes).permute(0, 3, 1, 2).float()


def reference_joint(p1: np.ndarray, p2: np.ndarray, r: int) -> np.ndarray:
    """Brute force: sum of p1[:, :, y, x] p2[:, :, y+dy, x+dx]^T over in-image pairs."""
    b, c, h, w = p1.shape
    joint = np.zeros((c, c))
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            for y in range(h):
                for x in range(w):
                    if 0 <= y + dy < h and 0 <= x + dx < w:
                        joint += p1[:, :, y, x].T @ p2[:, :, y + dy, x + dx]
    joint = (joint + joint.T) / 2
    return joint / joint.sum()


def test_loss_equals_hand_computed_value():
    # 10 pixels: 4 agree on cluster 0, 4 on cluster 1, 2 disagree -> J = [[.4,.1],[.1,.4]].
    p1 = one_hot([[[0, 0, 0, 0, 0, 1, 1, 1, 1, 1]]], 2)
    p2 = one_hot([[[0, 0, 0, 0, 1, 0, 1, 1, 1, 1]]], 2)
    joint = iic_joint(p1, p2)
    torch.testing.assert_close(joint, torch.tensor([[0.4, 0.1], [0.1, 0.4]]))
    # marginals are 0.5: -sum J log(J / 0.25) = -(0.8 log 1.6 + 0.2 log 0.4)
    expected = -(0.8 * math.log(1.6) + 0.2 * math.log(0.4))
    assert mutual_information_loss(joint).item() == pytest.approx(expected, abs=1e-6)
    # entropy weight 2: -sum J (log J - 2 log .5 - 2 log .5) = -sum J log J - 4 log 2
    expected_l2 = -(0.8 * math.log(0.4) + 0.2 * math.log(0.1)) - 4 * math.log(2)
    assert mutual_information_loss(joint, lamb=2.0).item() == pytest.approx(expected_l2, abs=1e-6)


def test_loss_module_matches_functions_on_logits():
    logits1, logits2 = torch.randn(2, 2, 3, 5, 5).unbind(0)
    loss = MODELS.build(dict(type='IICLoss', displacement=1, loss_weight=0.5))
    ref = iic_joint(logits1.softmax(1), logits2.softmax(1), 1)
    torch.testing.assert_close(loss(logits1, logits2), 0.5 * mutual_information_loss(ref))
    assert loss.loss_name == 'loss_iic'


@pytest.mark.parametrize('displacement', [0, 2])
def test_loss_is_maximal_for_perfect_clustering(displacement):
    num_classes = 4
    # image k is entirely cluster k: every displacement pairs equal clusters, marginals uniform
    labels = torch.arange(num_classes).view(-1, 1, 1).expand(-1, 6, 6)
    p = one_hot(labels, num_classes)
    loss = mutual_information_loss(iic_joint(p, p, displacement))
    assert loss.item() == pytest.approx(-math.log(num_classes), abs=1e-5)
    # any soft or imperfect clustering has less mutual information
    noisy = (p + 0.3 * torch.rand_like(p)).softmax(1)
    assert mutual_information_loss(iic_joint(noisy, noisy, displacement)) > loss + 1e-3


def test_loss_is_finite_with_empty_clusters_and_has_gradients():
    p = one_hot(torch.zeros(1, 4, 4, dtype=torch.long), 3)  # clusters 1, 2 never used
    logits = (10 * p).requires_grad_()
    loss = MODELS.build(dict(type='IICLoss', displacement=1))(logits, logits.detach())
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


@pytest.mark.parametrize('displacement', [0, 1, 2])
def test_joint_matches_brute_force_with_borders(displacement):
    gen = torch.Generator().manual_seed(0)
    p1 = torch.rand(2, 3, 4, 5, generator=gen).softmax(1)
    p2 = torch.rand(2, 3, 4, 5, generator=gen).softmax(1)
    ref = reference_joint(p1.double().numpy(), p2.double().numpy(), displacement)
    np.testing.assert_allclose(iic_joint(p1, p2, displacement).numpy(), ref, atol=1e-6)


def test_displacement_beyond_image_adds_no_pairs():
    # 1 x 4 image: shifts of 4 or more have no overlapping pixel, so nothing wraps around
    p1 = one_hot([[[0, 1, 1, 0]]], 2)
    p2 = one_hot([[[1, 0, 0, 1]]], 2)
    torch.testing.assert_close(iic_joint(p1, p2, 3), iic_joint(p1, p2, 4))
    torch.testing.assert_close(iic_joint(p1, p2, 3), iic_joint(p1, p2, 10))
    # a 1 x 1 image: every displacement but (0, 0) falls outside
    q1, q2 = torch.rand(2, 1, 3, 1, 1).softmax(2).unbind(0)
    torch.testing.assert_close(iic_joint(q1, q2, 5), iic_joint(q1, q2, 0))


def test_mask_removes_pixels():
    p1 = one_hot([[[0, 0, 1, 1]]], 2)
    p2 = one_hot([[[0, 1, 1, 0]]], 2)
    mask = torch.tensor([[[1.0, 0.0, 1.0, 0.0]]])
    torch.testing.assert_close(iic_joint(p1, p2, 0, mask), torch.tensor([[0.5, 0.0], [0.0, 0.5]]))


def test_flip_and_shift_are_inverted_on_outputs():
    x = torch.rand(1, 2, 8, 8)
    flip = torch.tensor([[[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    aligned, mask = align_to_first_view(warp(x, flip), flip)
    torch.testing.assert_close(aligned, x)
    assert mask.shape == (1, 8, 8) and bool(mask.all())
    # view 2 = x(u + 0.5): x moved left by 2 of 8 pixels, so x's first 2 columns are not in it
    shift = torch.tensor([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]])
    aligned, mask = align_to_first_view(warp(x, shift), shift)
    np.testing.assert_array_equal(mask[0].sum(0).numpy(), [0] * 2 + [8] * 6)
    torch.testing.assert_close(aligned[..., 2:], x[..., 2:])


def test_views_shapes_and_identity():
    x = torch.rand(3, 3, 16, 16)
    views = IICViews(flip_prob=0.0, max_shift=0.0, scale_range=(1.0, 1.0), brightness=0.0,
                     contrast=0.0, color=0.0)
    view2, theta = views(x)
    assert theta.shape == (3, 2, 3)
    torch.testing.assert_close(view2, x)
    view2, theta = IICViews()(x)
    assert view2.shape == x.shape and torch.isfinite(view2).all()


def test_head_outputs_main_and_overclustering():
    head = MODELS.build(dict(type='IICHead', in_channels=8, channels=16, num_classes=5,
                             num_overclusters=20, norm_cfg=dict(type='BN')))
    feats = [torch.rand(2, 8, 6, 7)]
    main, over = head.forward_heads(feats)
    assert main.shape == (2, 5, 6, 7) and over.shape == (2, 20, 6, 7)
    assert head(feats).shape == (2, 5, 6, 7)
    losses = head.loss_views((main, over), (main, over))
    assert set(losses) == {'loss_iic', 'loss_iic_over'}
    with pytest.raises(ValueError, match='num_overclusters'):
        MODELS.build(dict(type='IICHead', in_channels=8, channels=16, num_classes=5,
                          num_overclusters=5))


def run_tool(*args: str) -> None:
    # the repository root on the path: the config imports projects.property_world
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_config_model_learns_and_predicts_cluster_ids():
    """The shipped config's model: IIC losses with gradients to the backbone, then prediction."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.structures import SegDataSample

    init_default_scope('mmseg')
    cfg = Config.fromfile(str(CONFIG))
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    batch = dict(inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8) for _ in range(2)],
                 data_samples=[SegDataSample(metainfo=dict(img_shape=(64, 64),
                                                           ori_shape=(64, 64)))
                               for _ in range(2)])
    data = model.data_preprocessor(batch, training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_iic', 'loss_iic_over'}
    sum(losses.values()).backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        preds = model.test_step(batch)
    seg = preds[0].pred_sem_seg.data
    assert seg.shape == (1, 64, 64) and 0 <= seg.min() and seg.max() < cfg.num_clusters


@pytest.mark.slow
def test_train_and_test_from_scratch_through_tools(property_world_v1_root, tmp_path):
    """A few IIC iterations from scratch via tools/train.py, then tools/test.py (~40 s), on v1
    data (the config's 18 clusters are v1's seen classes)."""
    roots = [f'{loader}.dataset.data_root={property_world_v1_root}'
             for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    work = tmp_path / 'work'
    run_tool('tools/train.py', str(CONFIG), '--work-dir', str(work), '--cfg-options', *roots,
             'train_cfg.max_iters=4', 'train_cfg.val_interval=4', 'train_dataloader.batch_size=4',
             'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=4')
    scalars = [json.loads(line) for line in next(work.glob('*/vis_data/scalars.json'))
               .read_text().splitlines()]
    losses = [s for s in scalars if 'loss_iic' in s]
    assert len(losses) == 4 and all(math.isfinite(s['loss_iic_over']) for s in losses)
    assert any('mIoU' in s for s in scalars)
    dump = tmp_path / 'samples.pkl'
    run_tool('tools/test.py', dumping_config(CONFIG, dump, tmp_path), str(work / 'iter_4.pth'),
             '--work-dir', str(tmp_path / 'test'), '--cfg-options', *roots)
    result = json.loads(next((tmp_path / 'test').glob('*/*.json')).read_text())
    acc, miou = hungarian_scores(dump, num_clusters=18)
    assert result['aAcc'] == pytest.approx(acc, abs=0.006)      # the metric rounds to 0.01
    assert result['mIoU'] == pytest.approx(miou, abs=0.006)
