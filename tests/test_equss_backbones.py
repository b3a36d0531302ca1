"""Backbones for EQUSS: the network-free filter bank, DINO key conversion, DINO ViT configs."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from skimage.color import rgb2lab

import prolab_seg  # noqa: F401  (registers modules)
from mmseg.registry import MODELS
from prolab_seg.models.backbones import FilterBankBackbone, rgb_to_lab

REPO = Path(__file__).resolve().parents[1]
from convert_dino import convert_dino  # noqa: E402


def test_filter_bank_shapes_frozen_and_lab():
    bank = FilterBankBackbone(stride=4)
    assert list(bank.parameters()) == [] and bank.out_channels == 14
    bank.train()
    assert not bank.training
    x = torch.rand(2, 3, 64, 64) * 255
    (feats, ) = bank(x)
    assert feats.shape == (2, 14, 16, 16) and torch.isfinite(feats).all()
    ref = rgb2lab(x[0].permute(1, 2, 0).numpy() / 255)
    got = rgb_to_lab(x[:1] / 255)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, ref, atol=0.02)
    # undoing the preprocessor's normalisation gives the same features
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    normed = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(FilterBankBackbone(mean=mean, std=std)(normed)[0], feats,
                               atol=1e-4, rtol=1e-4)


def test_gabor_energy_is_orientation_selective():
    bank = FilterBankBackbone(stride=4, wavelengths=(8.0, ), num_orientations=4)
    xs = torch.arange(64, dtype=torch.float32)
    stripes = 127.5 + 127.5 * torch.cos(2 * math.pi * xs / 8)  # varies along x
    img = stripes.view(1, 1, 1, 64).expand(1, 3, 64, 64)
    energy = bank(img)[0][0, 3:7, 4:12, 4:12].mean((1, 2))  # 4 orientations, centre
    assert int(energy.argmax()) == 0 and energy[0] > 3 * energy[2]


def official_dino_state_dict(dim: int, depth: int, patch: int, num_tokens: int) -> dict:
    """Random tensors under the official DINO (timm ViT) key names."""
    g = torch.Generator().manual_seed(0)

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * 0.2

    sd = {'cls_token': r(1, 1, dim), 'pos_embed': r(1, num_tokens + 1, dim),
          'patch_embed.proj.weight': r(dim, 3, patch, patch), 'patch_embed.proj.bias': r(dim)}
    for i in range(depth):
        p = f'blocks.{i}.'
        sd.update({p + 'norm1.weight': 1 + r(dim), p + 'norm1.bias': r(dim),
                   p + 'attn.qkv.weight': r(3 * dim, dim), p + 'attn.qkv.bias': r(3 * dim),
                   p + 'attn.proj.weight': r(dim, dim), p + 'attn.proj.bias': r(dim),
                   p + 'norm2.weight': 1 + r(dim), p + 'norm2.bias': r(dim),
                   p + 'mlp.fc1.weight': r(4 * dim, dim), p + 'mlp.fc1.bias': r(4 * dim),
                   p + 'mlp.fc2.weight': r(dim, 4 * dim), p + 'mlp.fc2.bias': r(dim)})
    sd.update({'norm.weight': 1 + r(dim), 'norm.bias': r(dim)})
    return sd


def reference_dino_forward(sd: dict, x: torch.Tensor, depth: int, heads: int) -> torch.Tensor:
    """The official DINO ViT forward (timm Block), returning normed patch tokens B×C×h×w."""
    t = F.conv2d(x, sd['patch_embed.proj.weight'], sd['patch_embed.proj.bias'],
                 stride=sd['patch_embed.proj.weight'].shape[-1])
    b, c, h, w = t.shape
    t = torch.cat([sd['cls_token'].expand(b, -1, -1), t.flatten(2).transpose(1, 2)], 1)
    t = t + sd['pos_embed']

    def ln(v: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(v, (c, ), sd[name + '.weight'], sd[name + '.bias'], 1e-6)

    for i in range(depth):
        p = f'blocks.{i}.'
        qkv = F.linear(ln(t, p + 'norm1'), sd[p + 'attn.qkv.weight'], sd[p + 'attn.qkv.bias'])
        q, k, v = qkv.view(b, -1, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * (c // heads)**-0.5).softmax(-1)
        out = (attn @ v).transpose(1, 2).reshape(b, -1, c)
        t = t + F.linear(out, sd[p + 'attn.proj.weight'], sd[p + 'attn.proj.bias'])
        hid = F.gelu(F.linear(ln(t, p + 'norm2'), sd[p + 'mlp.fc1.weight'],
                              sd[p + 'mlp.fc1.bias']))
        t = t + F.linear(hid, sd[p + 'mlp.fc2.weight'], sd[p + 'mlp.fc2.bias'])
    t = ln(t, 'norm')
    return t[:, 1:].transpose(1, 2).reshape(b, c, h, w)


def test_dino_conversion_loads_strictly_and_matches_official_forward(tmp_path):
    dim, depth, heads, patch, size = 48, 2, 4, 8, 32
    sd = official_dino_state_dict(dim, depth, patch, (size // patch)**2)
    converted = convert_dino({'module.backbone.' + k: v for k, v in sd.items()}
                             | {'head.mlp.0.weight': torch.zeros(2, 2)})
    cfg = Config.fromfile(REPO / 'configs/_base_/models/equss_dino_vits8.py')
    vit_cfg = dict(cfg.model.backbone, img_size=(size, size), embed_dims=dim, num_layers=depth,
                   num_heads=heads, out_indices=(depth - 1, ), init_cfg=None)
    vit = MODELS.build(vit_cfg)
    vit.eval()  # (mmseg ViT.train() returns None)
    vit.load_state_dict(converted, strict=True)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        torch.testing.assert_close(vit(x)[0], reference_dino_forward(sd, x, depth, heads),
                                   atol=1e-4, rtol=1e-4)
    # CLI round trip
    src, dst = tmp_path / 'dino.pth', tmp_path / 'out' / 'mmseg.pth'
    torch.save({'teacher': sd}, src)
    subprocess.run([sys.executable, str(REPO / 'tools/convert_dino.py'), str(src), str(dst),
                    '--key', 'teacher'], check=True, capture_output=True)
    saved = torch.load(dst, weights_only=True)['state_dict']
    assert saved.keys() == converted.keys()


def test_dino_vit_configs_build_with_expected_sizes():
    for name, dim, k in (('equss_dino_vits8', 384, 256), ('equss_dino_vitb8', 768, 32)):
        cfg = Config.fromfile(REPO / f'configs/_base_/models/{name}.py')
        assert cfg.model.backbone.embed_dims == dim and cfg.model.head.in_channels == dim
        assert cfg.model.quantizer.num_codewords == k
        assert cfg.model.backbone.patch_size == 8


def test_convert_dino_errors_are_one_line(tmp_path, capsys):
    """A file that is not a weights-only checkpoint is refused by name, without torch's advice
    to load it with weights_only=False (which would run its code); the output never replaces
    the input; an unknown key names itself."""
    import argparse

    import convert_dino as tool
    from prolab_seg import cli
    pickled = tmp_path / 'pickled.pth'
    torch.save({'state_dict': argparse.Namespace(a=1)}, pickled)  # a global torch refuses
    assert cli.run(tool.main, [str(pickled), str(tmp_path / 'out.pth')]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'convert_dino.py: error: DINO checkpoint {pickled} cannot be loaded')
    assert 'weights_only' not in err and len(err.strip().splitlines()) == 1
    src = tmp_path / 'dino.pth'
    torch.save({'blocks.0.unknown.weight': torch.ones(1)}, src)
    before = src.read_bytes()
    assert cli.run(tool.main, [str(src), str(src)]) == 2
    assert 'it would replace' in capsys.readouterr().err and src.read_bytes() == before
    assert cli.run(tool.main, [str(src), str(tmp_path / 'out.pth')]) == 2
    assert "unexpected key in DINO checkpoint: 'blocks.0.unknown.weight'" in \
        capsys.readouterr().err
    assert cli.run(tool.main, [str(src), str(tmp_path / 'out.pth'), '--key', 'teacher']) == 2
    assert "has no sub-dict 'teacher'" in capsys.readouterr().err
