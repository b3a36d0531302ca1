"""torchvision's ImageNet MobileNetV2 state dict -> mmseg ``MobileNetV2`` backbone keys.

torchvision numbers the network as one ``features`` sequence: ``features.0`` the stem
(``0`` conv, ``1`` BN), ``features.1..17`` the inverted-residual blocks and ``features.18`` the
1x1 conv to 1,280 channels, then ``classifier.1`` (Linear 1,280 -> 1,000). Inside a block,
``conv.k.0`` / ``conv.k.1`` are the conv / BN of a conv-BN-ReLU6 unit and the last two entries
are the linear 1x1 conv and its BN. mmseg's ``MobileNetV2`` has the same stem and blocks as
``conv1`` and ``layer{1..7}.{j}`` (``arch_settings``: expand ratio, channels, blocks per layer),
every unit a ``ConvModule`` (``.conv`` / ``.bn``), and no ``features.18`` or classifier: those
are returned apart (:func:`split_mobilenet_v2`) for an ImageNet check.
"""
from __future__ import annotations

import re
from collections import OrderedDict

import torch

#: mmseg's / torchvision's MobileNetV2 layers: (expand ratio, channels, blocks).
ARCH_SETTINGS = ((1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3),
                 (6, 320, 1))
#: torchvision keys outside mmseg's backbone: the last 1x1 conv and the ImageNet classifier.
HEAD_KEY = re.compile(r'(features\.18|classifier)\..*')
_STEM = re.compile(r'features\.0\.(0|1)\.(.+)')
_BLOCK = re.compile(r'features\.(\d+)\.conv\.(\d+)\.(?:(0|1)\.)?(.+)')


def _block_names() -> dict[int, tuple[str, int]]:
    """torchvision block index (1..17) -> (mmseg block name ``layerL.j``, index of its last
    (BN) entry in torchvision's ``conv`` sequence)."""
    out, index = {}, 1
    for layer, (expand, _, blocks) in enumerate(ARCH_SETTINGS, 1):
        for j in range(blocks):
            out[index] = (f'layer{layer}.{j}', 2 if expand == 1 else 3)
            index += 1
    return out


_BLOCKS = _block_names()


def mobilenet_v2_key(key: str) -> str | None:
    """mmseg ``MobileNetV2`` name of torchvision key ``key``; None for the head keys
    (:data:`HEAD_KEY`); ``KeyError`` for a key that is neither."""
    if HEAD_KEY.fullmatch(key):
        return None
    stem = _STEM.fullmatch(key)
    if stem:
        return f"conv1.{('conv', 'bn')[int(stem[1])]}.{stem[2]}"
    block = _BLOCK.fullmatch(key)
    if block and int(block[1]) in _BLOCKS:
        name, last = _BLOCKS[int(block[1])]
        k, unit, param = int(block[2]), block[3], block[4]
        if unit is not None and k < last - 1:  # conv-BN-ReLU6 unit
            return f"{name}.conv.{k}.{('conv', 'bn')[int(unit)]}.{param}"
        if unit is None and k == last - 1 and param == 'weight':  # linear 1x1 conv
            return f'{name}.conv.{k}.conv.weight'
        if unit is None and k == last:  # its BN
            return f'{name}.conv.{k - 1}.bn.{param}'
    raise KeyError(f'not a torchvision MobileNetV2 key: {key!r}')


def split_mobilenet_v2(state_dict: dict[str, torch.Tensor]
                       ) -> tuple[OrderedDict[str, torch.Tensor], OrderedDict[str, torch.Tensor]]:
    """``(backbone, head)``: every tensor of a torchvision MobileNetV2 state dict, the backbone
    ones renamed to mmseg's ``MobileNetV2`` (``widen_factor=1``), the head ones
    (:data:`HEAD_KEY`) under their torchvision names. ``KeyError`` on an unknown key."""
    backbone, head = OrderedDict(), OrderedDict()
    for key, value in state_dict.items():
        new = mobilenet_v2_key(key)
        if new is None:
            head[key] = value
        else:
            backbone[new] = value
    return backbone, head


def convert_mobilenet_v2(state_dict: dict[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """The backbone part of :func:`split_mobilenet_v2`, in mmseg's names."""
    return split_mobilenet_v2(state_dict)[0]
