"""Convert an official DINO ViT checkpoint to mmseg ``VisionTransformer`` keys.

    python tools/convert_dino.py dino_deitsmall8_pretrain.pth checkpoints/dino_vits8_mmseg.pth
    python tools/convert_dino.py dino_vitbase8_pretrain_full_checkpoint.pth out.pth --key teacher

Official names (timm-style ViT): ``cls_token``, ``pos_embed``, ``patch_embed.proj.*``,
``blocks.N.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}.*``, ``norm.*``. The qkv weight is
already laid out as nn.MultiheadAttention's ``in_proj_weight`` ([q; k; v] rows), so every tensor
is copied unchanged; only the names change. ``module.``/``backbone.`` prefixes (full training
checkpoints) are stripped and DINO projection-head keys (``head.*``) dropped. Use the result with
``VisionTransformer(patch_bias=True, final_norm=True, norm_cfg=dict(type='LN', eps=1e-6))``
(see ``configs/_base_/models/equss_dino_vits8.py``).
"""
from __future__ import annotations

import argparse
import io
import re
import sys
from collections import OrderedDict

import torch

import prolab_seg  # noqa: F401  (safe checkpoint loading; before mmseg)
from prolab_seg import apis, cli
from prolab_seg.properties.files import atomic_write_bytes, check_outputs

# (official regex, mmseg replacement), tried in order; fullmatch on the whole key.
KEY_MAP: list[tuple[str, str]] = [
    (r'cls_token', r'cls_token'),
    (r'pos_embed', r'pos_embed'),
    (r'patch_embed\.proj\.(weight|bias)', r'patch_embed.projection.\1'),
    (r'blocks\.(\d+)\.norm1\.(weight|bias)', r'layers.\1.ln1.\2'),
    (r'blocks\.(\d+)\.attn\.qkv\.(weight|bias)', r'layers.\1.attn.attn.in_proj_\2'),
    (r'blocks\.(\d+)\.attn\.proj\.(weight|bias)', r'layers.\1.attn.attn.out_proj.\2'),
    (r'blocks\.(\d+)\.norm2\.(weight|bias)', r'layers.\1.ln2.\2'),
    (r'blocks\.(\d+)\.mlp\.fc1\.(weight|bias)', r'layers.\1.ffn.layers.0.0.\2'),
    (r'blocks\.(\d+)\.mlp\.fc2\.(weight|bias)', r'layers.\1.ffn.layers.1.\2'),
    (r'norm\.(weight|bias)', r'ln1.\1'),
]
DROPPED = re.compile(r'head\..*')


def convert_key(key: str) -> str | None:
    """mmseg name of an official DINO key; None for dropped keys; ``CheckpointError`` if
    unknown."""
    key = re.sub(r'^(module\.)?(backbone\.)?', '', key)
    if DROPPED.fullmatch(key):
        return None
    for pattern, repl in KEY_MAP:
        if re.fullmatch(pattern, key):
            return re.sub(pattern, repl, key)
    raise apis.CheckpointError(f'unexpected key in DINO checkpoint: {key!r} (not an official '
                               'DINO ViT checkpoint? a full training checkpoint needs --key)')


def convert_dino(state_dict: dict[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """Rename every tensor of an official DINO ViT state dict to mmseg's VisionTransformer."""
    out = OrderedDict()
    for key, value in state_dict.items():
        new = convert_key(key)
        if new is not None:
            out[new] = value
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official DINO checkpoint (.pth)')
    parser.add_argument('dst', help='output mmseg checkpoint (.pth)')
    parser.add_argument('--key', help="sub-dict to convert, e.g. 'teacher' (full checkpoints)")
    cli.add_debug_flag(parser)
    args = parser.parse_args(argv)
    check_outputs([args.dst], [args.src])
    ckpt = apis.check_checkpoint(args.src, 'DINO checkpoint')
    if args.key:
        if not isinstance(ckpt.get(args.key), dict):
            raise apis.CheckpointError(f'DINO checkpoint {args.src} has no sub-dict '
                                       f'{args.key!r}; its keys: {sorted(ckpt)[:10]}')
        ckpt = ckpt[args.key]
    converted = convert_dino(ckpt)
    buf = io.BytesIO()
    torch.save(dict(state_dict=converted), buf)
    atomic_write_bytes(args.dst, buf.getvalue())
    print(f'{len(converted)} tensors -> {args.dst}')


if __name__ == '__main__':
    sys.exit(cli.run(main))
