"""PropertyHead(loss_chunk_rows=R): the same label-resolution loss, gradients and accuracy as
today's path (the reference), to 1e-5, with ignore pixels, class and loss weights, an auxiliary
head and chunks that do not divide the label height."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

import prolab_seg  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from prolab_seg.models.prolab.chunked import interpolation_matrix

init_default_scope('mmseg')
K, E, C = 6, 10, 4


def space(seed=0):
    rng = np.random.default_rng(seed)
    centroids = rng.normal(size=(K, E)).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    vectors = (rng.random((C, K)) > 0.5).astype(np.float32)
    vectors[:, 0] = 1
    return dict(class_names=[f'c{i}' for i in range(C)], vectors=vectors, centroids=centroids)


def samples(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, C, shape, generator=g)
    labels[:, :3, :5] = 255  # ignored pixels
    out = []
    for lab in labels:
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab[None])
        out.append(s)
    return out


def head_cfg(in_channels=8, **kw):
    fcn = dict(type='FCNHead', in_channels=in_channels, channels=8, num_convs=1,
               concat_input=False, dropout_ratio=0.0, norm_cfg=None)
    return dict(type='PropertyHead', head=fcn, label_space=space(), **kw)


def assert_same_losses(got: dict, ref: dict) -> None:
    """Losses to 1e-5. ``acc_seg`` to 1 point: with T = 0.04 the activations saturate and many
    pixels tie exactly between categories (~40 % here), where the argmax follows rounding."""
    assert got.keys() == ref.keys()
    for key in ref:
        tol = 1.0 if 'acc_seg' in key else 1e-5
        torch.testing.assert_close(got[key], ref[key], rtol=1e-5, atol=tol)


def grads(module):
    return {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}


@pytest.mark.parametrize('align_corners', [False, True])
def test_interpolation_matrix_is_f_interpolate(align_corners):
    x = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    a_h = interpolation_matrix(5, 13, align_corners, x)
    a_w = interpolation_matrix(7, 11, align_corners, x)
    ref = F.interpolate(x, size=(13, 11), mode='bilinear', align_corners=align_corners)
    torch.testing.assert_close(torch.einsum('Hh,nkhw,Ww->nkHW', a_h, x, a_w), ref)


@pytest.mark.parametrize('chunk_rows,align_corners', [(7, False), (1, False), (64, True)])
def test_chunked_head_equals_reference(chunk_rows, align_corners):
    weights = [0.5, 2.0, 1.0, 3.0]
    loss = [dict(type='CosineSimilarityLoss', loss_weight=1.0, class_weight=weights),
            dict(type='CosineSimilarityLoss', loss_weight=0.4, loss_name='loss_cos_b')]
    ref = MODELS.build(head_cfg(loss_decode=loss))
    ref.align_corners = ref.head.align_corners = align_corners
    chunked = MODELS.build(head_cfg(loss_decode=loss, loss_chunk_rows=chunk_rows))
    chunked.align_corners = chunked.head.align_corners = align_corners
    chunked.load_state_dict(ref.state_dict())
    x = [torch.randn(2, 8, 8, 8)]
    batch = samples((2, 30, 29))
    out_ref, out_chunked = ref.loss(x, batch, None), chunked.loss(x, batch, None)
    assert_same_losses(out_chunked, out_ref)
    sum(v for k, v in out_ref.items() if k.startswith('loss')).backward()
    sum(v for k, v in out_chunked.items() if k.startswith('loss')).backward()
    g_ref, g_chunked = grads(ref), grads(chunked)
    assert g_ref.keys() == g_chunked.keys() and len(g_ref) >= 4
    for name in g_ref:
        torch.testing.assert_close(g_chunked[name], g_ref[name], rtol=1e-5, atol=1e-6)
    assert max(g.abs().max() for g in g_ref.values()) > 1e-4  # a real gradient was compared


def test_chunked_segmentor_with_auxiliary_head_equals_reference():
    def segmentor(**kw):
        return MODELS.build(dict(
            type='EncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1]),
            backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                          out_indices=(2, 3), norm_cfg=dict(type='BN')),
            decode_head=dict(head_cfg(64, **kw), head=dict(
                type='FCNHead', in_channels=64, in_index=1, channels=8, num_convs=1,
                concat_input=False, dropout_ratio=0.0, norm_cfg=None)),
            auxiliary_head=dict(head_cfg(32, **kw), head=dict(
                type='FCNHead', in_channels=32, in_index=0, channels=8, num_convs=1,
                concat_input=False, dropout_ratio=0.0, norm_cfg=None),
                loss_decode=dict(type='CosineSimilarityLoss', loss_weight=0.4)),
            test_cfg=ConfigDict(mode='whole')))

    torch.manual_seed(0)
    ref = segmentor()
    chunked = segmentor(loss_chunk_rows=5)
    chunked.load_state_dict(copy.deepcopy(ref.state_dict()))
    ref.train(), chunked.train()
    imgs = torch.rand(2, 3, 32, 32)
    batch = samples((2, 32, 32), seed=1)
    out_ref, out_chunked = ref.loss(imgs, batch), chunked.loss(imgs, batch)
    assert out_ref.keys() == out_chunked.keys() and 'aux.loss_cos' in out_ref
    assert_same_losses(out_chunked, out_ref)
    sum(v for k, v in out_ref.items() if 'loss' in k).backward()
    sum(v for k, v in out_chunked.items() if 'loss' in k).backward()
    g_ref, g_chunked = grads(ref), grads(chunked)
    assert any(n.startswith('backbone') for n in g_ref)
    for name in g_ref:
        torch.testing.assert_close(g_chunked[name], g_ref[name], rtol=1e-5, atol=1e-6)


def test_chunked_option_is_checked():
    with pytest.raises(ValueError, match='a loss needs the dense activations'):
        MODELS.build(head_cfg(loss_chunk_rows=8, loss_decode=dict(
            type='CosineSimilarityLoss', bce_weight=0.5)))
    with pytest.raises(ValueError, match='loss_chunk_rows must be a positive'):
        MODELS.build(head_cfg(loss_chunk_rows=8, loss_resolution='feature'))
    with pytest.raises(ValueError, match='loss_chunk_rows must be a positive'):
        MODELS.build(head_cfg(loss_chunk_rows=0))
