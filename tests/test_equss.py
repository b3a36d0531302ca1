"""EQUSS parts: product quantizer, STEGO correlation loss, feature bank, head, segmentor."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import prolab_seg  # noqa: F401  (registers modules)
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from prolab_seg.models.equss import FeatureBank, ProductQuantizer, STEGOCorrelationLoss
from prolab_seg.models.equss.stego_loss import correlation


def brute_force_codes(pq: ProductQuantizer, z: torch.Tensor) -> torch.Tensor:
    """Reference: loop over codebooks and pixels, squared L2 to every normalised codeword."""
    b, d, h, w = z.shape
    codes = torch.empty(b, pq.num_codebooks, h, w, dtype=torch.long)
    for m in range(pq.num_codebooks):
        book = F.normalize(pq.codebooks[m].detach(), dim=-1)
        sub = F.normalize(z[:, m * pq.sub_dim:(m + 1) * pq.sub_dim], dim=1)
        for i in range(b):
            for y in range(h):
                for x in range(w):
                    dist = ((sub[i, :, y, x][None] - book)**2).sum(-1)
                    codes[i, m, y, x] = dist.argmin()
    return codes


def test_quantizer_nearest_codeword_matches_brute_force():
    torch.manual_seed(0)
    pq = ProductQuantizer(dim=64, num_codebooks=8, num_codewords=16)
    z = torch.randn(2, 64, 3, 5)
    z_q, codes, _ = pq(z)
    assert codes.shape == (2, 8, 3, 5) and codes.dtype == torch.long
    torch.testing.assert_close(codes, brute_force_codes(pq, z), rtol=0, atol=0)
    # the quantized features are the selected normalised codewords
    books = F.normalize(pq.codebooks.detach(), dim=-1)
    expect = torch.stack([books[m][codes[:, m]] for m in range(8)], 1)  # B×M×H×W×d
    expect = expect.permute(0, 1, 4, 2, 3).reshape(2, 64, 3, 5)
    torch.testing.assert_close(z_q, expect)


def test_quantizer_straight_through_gradient_and_losses():
    torch.manual_seed(0)
    pq = ProductQuantizer(dim=32, num_codebooks=4, num_codewords=8, beta=0.25)
    z = torch.randn(2, 32, 4, 4, requires_grad=True)
    w = torch.randn(2, 32, 4, 4)
    z_q, _, loss = pq(z)
    (z_q * w).sum().backward(retain_graph=True)
    # straight-through: d z_q / d (normalised sub-vectors) = identity
    z_ref = z.detach().clone().requires_grad_()
    sub = F.normalize(z_ref.view(2, 4, 8, 4, 4), dim=2).view(2, 32, 4, 4)
    (sub * w).sum().backward()
    torch.testing.assert_close(z.grad, z_ref.grad)
    assert pq.codebooks.grad is None  # the output never trains the codebooks
    # loss = MSE(z_q, sg(z)) + beta MSE(z, sg(z_q)): value (1+beta)·MSE, split gradients
    sub = pq.split(z.detach())
    quant = pq.split(z_q.detach())
    torch.testing.assert_close(loss, 1.25 * F.mse_loss(quant, sub))
    z.grad = None
    loss.backward()
    assert pq.codebooks.grad is not None and pq.codebooks.grad.abs().sum() > 0
    z_ref.grad = None
    (0.25 * F.mse_loss(pq.split(z_ref), quant)).backward()
    torch.testing.assert_close(z.grad, z_ref.grad)


def test_plain_vq_is_a_single_codebook_and_dim_must_split():
    pq = ProductQuantizer(dim=16, num_codebooks=1, num_codewords=64)
    _, codes, _ = pq(torch.randn(1, 16, 2, 2))
    assert codes.shape == (1, 1, 2, 2) and int(codes.max()) < 64
    with pytest.raises(ValueError, match='divisible'):
        ProductQuantizer(dim=30, num_codebooks=4)


def test_dead_codewords_are_reinitialised_from_current_subvectors():
    torch.manual_seed(0)
    pq = ProductQuantizer(dim=8, num_codebooks=2, num_codewords=6, reinit_interval=2)
    pq.train()
    z = torch.randn(1, 8, 1, 3)  # 3 pixels -> at most 3 of 6 codewords used per codebook
    before = F.normalize(pq.codebooks.detach().clone(), dim=-1)
    pq(z)
    torch.testing.assert_close(F.normalize(pq.codebooks.detach(), dim=-1), before)  # step 1
    _, codes, _ = pq(z)
    used = torch.zeros(2, 6, dtype=torch.bool)
    used[torch.arange(2)[:, None], codes.view(2, -1)] = True
    after = pq.codebooks.detach()
    torch.testing.assert_close(F.normalize(after[used], dim=-1), before[used])
    subs = pq.split(z)  # M×N×d
    for m, k in (~used).nonzero().tolist():  # dead ones now equal one of the sub-vectors
        assert torch.isclose(subs[m], after[m, k]).all(-1).any()
    assert int(pq.usage.sum()) == 0


def test_stego_pair_loss_matches_formula_and_trains_only_the_code():
    torch.manual_seed(0)
    loss_fn = STEGOCorrelationLoss(pointwise=False, zero_clamp=True)
    f1, f2 = torch.randn(2, 6, 3, 3), torch.randn(2, 6, 3, 3)
    c1 = torch.randn(2, 5, 3, 3, requires_grad=True)
    c2 = torch.randn(2, 5, 3, 3)
    got = loss_fn.pair_loss(f1, f2, c1, c2, shift=0.1)
    fd = torch.einsum('nchw,ncij->nhwij', F.normalize(f1, dim=1), F.normalize(f2, dim=1))
    cd = torch.einsum('nchw,ncij->nhwij', F.normalize(c1, dim=1), F.normalize(c2, dim=1))
    torch.testing.assert_close(got, -(cd.clamp(min=0) * (fd - 0.1)).mean())
    torch.testing.assert_close(correlation(f1, f2), fd)
    got.backward()
    assert c1.grad is not None and c1.grad.abs().sum() > 0


def test_stego_loss_prefers_codes_that_follow_feature_correlations():
    torch.manual_seed(0)
    # two groups of images with opposite features; the good code copies the grouping
    feats = torch.cat([torch.ones(4, 8, 6, 6), -torch.ones(4, 8, 6, 6)]) + 0.1 * torch.randn(
        8, 8, 6, 6)
    good = feats[:, :4].clone()
    bad = torch.randn(8, 4, 6, 6)
    loss_fn = STEGOCorrelationLoss(feature_samples=5, neg_samples=3, pos_intra_shift=0.0,
                                   pos_inter_shift=0.0, neg_inter_shift=0.0)
    torch.manual_seed(1)
    l_good = loss_fn(feats, good, feats, good)
    torch.manual_seed(1)
    l_bad = loss_fn(feats, bad, feats, bad)
    assert l_good < l_bad
    loss_single = loss_fn(feats[:1], good[:1], feats[:1], good[:1])  # no negatives with B=1
    assert torch.isfinite(loss_single)


def test_feature_bank_returns_a_nearest_neighbour_other_than_itself():
    torch.manual_seed(0)
    bank = FeatureBank(size=4, num_neighbors=1)
    base = torch.eye(6)[:, :, None, None].expand(6, 6, 2, 2).clone()
    first = base[:3] + 0.05
    bank.push(first)
    # query 0 is closest to stored 0 (it equals it up to a shift), not to the other queries
    query = torch.stack([first[0] * 2, base[4] + 0.05, base[5] * 3])
    pos = bank.knn_positive(query)
    torch.testing.assert_close(pos[0], first[0])
    bank.push(query)
    assert int(bank.count) == 6 and bank.feats.shape == (4, 6, 2, 2)
    assert torch.equal(bank.feats[0], query[1])  # FIFO wrap-around


def test_expansion_head_shapes_and_segmentor_losses():
    init_default_scope('mmseg')
    torch.manual_seed(0)
    head = MODELS.build(dict(type='ExpansionHead', in_channels=14, channels=64))
    out = head((torch.randn(2, 14, 4, 4), ))
    assert out.shape == (2, 64, 4, 4)
    model = MODELS.build(dict(
        type='EQUSSSegmentor',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.] * 3, std=[1.] * 3,
                               bgr_to_rgb=True, size_divisor=4),
        backbone=dict(type='FilterBankBackbone', stride=4),
        head=dict(type='ExpansionHead', in_channels=14, channels=64),
        quantizer=dict(type='ProductQuantizer', dim=64, num_codebooks=8, num_codewords=16),
        corr_loss=dict(type='STEGOCorrelationLoss', feature_samples=5, center_feats=True),
        feature_bank=dict(type='FeatureBank', size=8),
        cluster_probe=dict(type='ClusterProbe', channels=64, num_clusters=5)))
    model.train()
    assert not model.backbone.training
    imgs = torch.rand(3, 3, 32, 32) * 255
    losses = model.loss(imgs, None)
    assert set(losses) == {'loss_corr', 'loss_pq', 'loss_probe'}
    sum(losses.values()).backward()
    assert model.head.linear.weight.grad is not None
    assert model.quantizer.codebooks.grad is not None
    model.eval()
    enc = model.encode(imgs)
    assert enc['codes'].shape == (3, 8, 8, 8) and enc['quantized'].shape == (3, 64, 8, 8)
    scores = model._forward(imgs)
    assert scores.shape == (3, 5, 32, 32)
    pred = model.predict(imgs)
    assert pred[0].pred_sem_seg.data.shape == (1, 32, 32)
    assert int(pred[0].pred_sem_seg.data.max()) < 5
    with pytest.raises(ValueError, match='probe_on'):
        MODELS.build(dict(type='EQUSSSegmentor', backbone=dict(type='FilterBankBackbone'),
                          head=dict(type='ExpansionHead', in_channels=14, channels=8),
                          corr_loss=dict(type='STEGOCorrelationLoss'),
                          cluster_probe=dict(type='ClusterProbe', channels=8, num_clusters=2)))


def test_segmentor_losses_are_deterministic_under_seed():
    init_default_scope('mmseg')
    cfg = dict(type='EQUSSSegmentor', backbone=dict(type='FilterBankBackbone', stride=4),
               head=dict(type='ExpansionHead', in_channels=14, channels=32),
               quantizer=dict(type='ProductQuantizer', dim=32, num_codebooks=4,
                              num_codewords=8, reinit_interval=1),
               corr_loss=dict(type='STEGOCorrelationLoss', feature_samples=4),
               cluster_probe=dict(type='ClusterProbe', channels=32, num_clusters=3))
    imgs = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 255
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = MODELS.build(cfg)
        model.train()
        losses = [model.loss(imgs, None) for _ in range(2)]
        runs.append(torch.stack([v for d in losses for v in d.values()]))
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)
