"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--work-dir D] [--out DIR]``.

Same flags as mmsegmentation's tools/test.py.
"""
import argparse
import sys

import prolab_seg  # noqa: F401  (patches the stack, registers modules; before mmseg)

from prolab_seg import apis, cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Test (and evaluate) a segmentor (mmseg + prolab-seg)')
    p.add_argument('config', help='config file path')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--work-dir', help='where evaluation results are dumped as json')
    p.add_argument('--out', help='directory to save predictions for offline evaluation')
    p.add_argument('--show-dir', help='directory where painted images are saved')
    p.add_argument('--tta', action='store_true', help='test-time augmentation')
    apis.add_run_args(p)
    cli.add_debug_flag(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    apis.set_local_rank(args.local_rank)
    cfg = apis.load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    apis.test(cfg, args.checkpoint, out=args.out, show_dir=args.show_dir, tta=args.tta)


if __name__ == '__main__':
    sys.exit(cli.run(main))
