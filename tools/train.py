"""Train a segmentor: ``python tools/train.py CONFIG [--work-dir D] [--resume] [--cfg-options k=v]``.

Same flags as mmsegmentation's tools/train.py; multi-process with
``torchrun --nproc_per_node N tools/train.py CONFIG --launcher pytorch``.
"""
import argparse
import sys

import prolab_seg  # noqa: F401  (patches the stack, registers modules; before mmseg)

from prolab_seg import apis, cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Train a segmentor (mmseg + prolab-seg)')
    p.add_argument('config', help='train config file path')
    p.add_argument('--work-dir', help='the dir to save logs and models')
    p.add_argument('--resume', action='store_true',
                   help='resume from the latest checkpoint in the work_dir automatically')
    p.add_argument('--amp', action='store_true', help='automatic mixed precision')
    apis.add_run_args(p)
    cli.add_debug_flag(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    apis.set_local_rank(args.local_rank)
    cfg = apis.load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    apis.train(cfg, resume=args.resume, amp=args.amp)


if __name__ == '__main__':
    sys.exit(cli.run(main))
