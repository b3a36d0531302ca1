"""CategoryCrossEntropyLoss: softmax CE over the categories' cosine scores, alone and beside
CosineSimilarityLoss in a PropertyHead."""
import math

import pytest
import torch
import torch.nn.functional as F

import prolab_seg  # noqa: F401
from mmengine.registry import init_default_scope

from prolab_seg.models.prolab import CategoryCrossEntropyLoss, CosineSimilarityLoss, LabelTargets
from test_prolab import C, K, build_head, make_space, samples

init_default_scope('mmseg')


def test_matches_hand_computation_with_class_weight_and_ignore():
    vectors = torch.tensor([[1., 0.], [1., 1.]])  # two categories, K = 2
    pred = torch.tensor([[3., 0.], [4., 1.]]).reshape(1, 2, 1, 2)  # pixels (3,4), (0,1)
    label = torch.tensor([[[0, 1]]])
    cos = [[3 / 5, 7 / (5 * math.sqrt(2))], [0.0, 1 / math.sqrt(2)]]  # pixel -> category

    def ce(c, y, t):
        z = [x / t for x in c]
        return -z[y] + math.log(sum(math.exp(v) for v in z))

    loss = CategoryCrossEntropyLoss(loss_weight=2.0, temperature=0.5, class_weight=[1.0, 3.0])
    hand = 2.0 * (1.0 * ce(cos[0], 0, 0.5) + 3.0 * ce(cos[1], 1, 0.5)) / 2
    assert loss(pred, LabelTargets(label, vectors)).item() == pytest.approx(hand, rel=1e-5)
    # an ignored pixel leaves the sum and the count
    ignored = torch.tensor([[[0, 255]]])
    hand = 2.0 * ce(cos[0], 0, 0.5)
    assert loss(pred, LabelTargets(ignored, vectors)).item() == pytest.approx(hand, rel=1e-5)
    none = torch.full_like(label, 255)
    assert loss(pred, LabelTargets(none, vectors)).item() == 0.0


def test_same_value_from_pred_dots_or_cos():
    torch.manual_seed(0)
    vectors = (torch.rand(5, 7) > 0.5).float()
    vectors[:, 0] = 1
    pred = torch.rand(2, 7, 3, 4)
    label = torch.randint(0, 5, (2, 3, 4))
    label[0, 0] = 255
    loss = CategoryCrossEntropyLoss(temperature=0.1)
    plain = loss(pred, LabelTargets(label, vectors))
    dots = F.conv2d(pred, vectors[:, :, None, None])
    cos = torch.stack([F.cosine_similarity(pred, v.view(1, 7, 1, 1), dim=1) for v in vectors], 1)
    torch.testing.assert_close(loss(pred, LabelTargets(label, vectors, dots=dots)), plain)
    torch.testing.assert_close(loss(pred, LabelTargets(label, vectors, cos=cos)), plain)


def test_pushes_away_from_a_close_category_where_the_cosine_loss_does_not():
    """Category 1's vector shares a property with category 0's: the cosine loss of a pixel of
    category 0 is already at its minimum for a prediction that also scores category 1 high;
    the category CE still lowers category 1's score."""
    vectors = torch.tensor([[1., 1., 0.], [1., 1., 1.]])
    pred = torch.tensor([1., 1., 0.6]).view(1, 3, 1, 1).requires_grad_()
    label = torch.zeros(1, 1, 1, dtype=torch.long)
    CategoryCrossEntropyLoss(temperature=0.1)(pred, LabelTargets(label, vectors)).backward()
    assert pred.grad[0, 2, 0, 0] > 0  # a gradient step lowers the shared-out property
    exact = torch.tensor([1., 1., 0.]).view(1, 3, 1, 1).requires_grad_()
    CosineSimilarityLoss()(exact, LabelTargets(label, vectors)).backward()
    assert exact.grad.abs().max() < 1e-6


def test_bad_arguments():
    with pytest.raises(ValueError, match='temperature must be > 0'):
        CategoryCrossEntropyLoss(temperature=0)
    with pytest.raises(ValueError, match='class_weight must be'):
        CategoryCrossEntropyLoss(class_weight=[])
    label = torch.zeros(1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match='2 class_weight values for 3 categories'):
        CategoryCrossEntropyLoss(class_weight=[1.0, 1.0])(torch.rand(1, 3, 2, 2),
                                                          LabelTargets(label, torch.eye(3)))


@pytest.mark.parametrize('resolution', ['label', 'feature'])
def test_property_head_sums_both_losses(resolution):
    """In a loss_decode list each loss gets its own key; the CE key equals the CE of the head's
    category scores computed by hand."""
    space = make_space()
    head = build_head(space, temperature=0.5, loss_resolution=resolution, loss_decode=[
        dict(type='CosineSimilarityLoss'),
        dict(type='CategoryCrossEntropyLoss', loss_weight=0.5, temperature=0.2)])
    torch.manual_seed(0)
    x = [torch.randn(2, 8, 4, 4)]
    label = torch.randint(0, C, (2, 8, 8))
    label[0, 0] = 255
    logits = head(x)
    losses = head.loss_by_feat(logits, samples(label))
    assert set(losses) == {'loss_cos', 'loss_category_ce', 'acc_seg'}
    vec = torch.from_numpy(space['vectors'])
    if resolution == 'label':
        up = F.interpolate(logits, size=(8, 8), mode='bilinear', align_corners=False)
        scores = head.scores_from_activations(torch.sigmoid(up / 0.5), vec)
    else:
        scores = F.interpolate(head.scores_from_activations(torch.sigmoid(logits / 0.5), vec),
                               size=(8, 8), mode='bilinear', align_corners=False)
    hand = 0.5 * F.cross_entropy(scores / 0.2, label, ignore_index=255)
    assert losses['loss_category_ce'].item() == pytest.approx(hand.item(), rel=1e-5)
    (losses['loss_cos'] + losses['loss_category_ce']).backward()
    assert head.head.conv_seg.weight.grad.abs().sum() > 0


def test_chunked_head_refuses_it():
    with pytest.raises(ValueError, match='cosine to every category'):
        build_head(loss_chunk_rows=4, loss_decode=[dict(type='CosineSimilarityLoss'),
                                                   dict(type='CategoryCrossEntropyLoss')])
    with pytest.raises(ValueError, match='loss_chunk_rows'):
        CategoryCrossEntropyLoss()(torch.rand(1, K, 2, 2), LabelTargets(
            torch.zeros(1, 4, 4, dtype=torch.long), torch.eye(K), label_cos=torch.rand(1, 4, 4)))
