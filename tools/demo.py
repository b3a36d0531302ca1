"""The main job: ``python tools/demo.py [--iters 300] [--work-dir work_dirs/demo]``.

Generates property-world, builds the property space from the shipped descriptions, trains the
category-supervised baseline and ProLab, evaluates seen, zero-shot and generalised zero-shot,
segments images of unseen categories, and ends with a results table (a few minutes on CPU).
``--spec`` / ``--data-root`` / ``--descriptions`` run it on your own categories: the seen and
unseen sets come from the generated data's meta.json.
"""
import argparse
import os.path as osp
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the repo's projects/

import prolab_seg  # noqa: E402,F401  (patches the stack, registers modules; before mmseg)
from prolab_seg import cli  # noqa: E402
from projects.property_world.demo import run_demo  # noqa: E402
from projects.property_world.experiments import DESCRIPTIONS  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--data-root', default='data/property_world')
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--num-properties', '-k', type=int, default=32)
    p.add_argument('--spec', help='spec to generate --data-root from when it holds no data')
    p.add_argument('--descriptions', default=DESCRIPTIONS,
                   help='descriptions of every seen and unseen category of the data')
    cli.add_debug_flag(p)
    args = p.parse_args(argv)
    warnings.simplefilter('ignore')  # mmengine/mmseg deprecation chatter; progress stays visible
    run_demo(args.work_dir, args.data_root, args.iters, args.seed, args.num_properties,
             args.spec, args.descriptions)


if __name__ == '__main__':
    sys.exit(cli.run(main))
