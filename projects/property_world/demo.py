"""The main job: the whole ProLab story on property-world at small scale, with a results table.

    python -m projects.property_world.demo [--iters 300] [--work-dir work_dirs/demo]

(a few minutes on CPU; run from the repository root). ``--spec`` / ``--data-root`` /
``--descriptions`` run it on your own categories: the seen and unseen sets come from the
generated data's meta.json.

1. generate the dataset (if missing); 2. build the property space of the seen categories from
the descriptions and assign the unseen ones onto it; 3. train the category-supervised baseline
and ProLab (same model, data, seed, schedule); 4. evaluate seen, zero-shot and generalised
zero-shot (calibration from the calib split); 5. segment val images holding an unseen category
and name the properties that fired on it. Every count comes from the data's meta.json. The
seen and zero-shot tests also write each predicted label map to
``<work_dir>/<model>/test_seen/predictions`` and ``<work_dir>/prolab/zero_shot/predictions``
(``<image>.png``, class indices of the test's classes), so their numbers can be checked.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
import time
import warnings

from prolab_seg import cli

from . import experiments as ex
from .datasets import write_property_world


def _step(i: int, text: str) -> None:
    print(f'[{i}/5] {text}', flush=True)


def _predictions_to(out_dir: str, options: dict) -> dict:
    """The option that makes a test with ``options`` also write each predicted label map to
    ``out_dir/<image>.png`` (mmseg's ``IoUMetric`` output, beside the options' own metric)."""
    return {'test_evaluator': [options['test_evaluator'],
                               dict(type='IoUMetric', output_dir=out_dir, format_only=True)]}


def run_demo(work_dir: str = 'work_dirs/demo', data_root: str = 'data/property_world',
             iters: int = 300, seed: int = 0, num_properties: int = 32, spec: str | None = None,
             descriptions: str = ex.DESCRIPTIONS,
             calibrations: tuple[float, ...] = ex.CALIBRATIONS) -> dict:
    """Run the five stages; prints progress and returns the numbers of the final table
    (``calibrations``: the seen-score calibrations tried on the calib split)."""
    from prolab_seg.properties import PropertySpace
    from prolab_seg.apis import load_segmentor, segment_images
    start = time.time()
    ex.check_descriptions(descriptions, data_root, spec)
    if osp.isfile(osp.join(data_root, 'meta.json')):
        _step(1, f'dataset: using {data_root}')
    else:
        _step(1, f'dataset: generating property-world into {data_root}')
        write_property_world(data_root, spec=spec, seed=seed)
    info = ex.data_info(data_root)

    _step(2, f'property space: K={num_properties} from descriptions of {len(info.seen)} seen '
             f'categories; {len(info.unseen)} unseen assigned from their descriptions')
    spaces = ex.build_spaces(osp.join(work_dir, 'spaces'), info, descriptions, num_properties,
                             seed)
    space = PropertySpace.load(spaces['all'])
    sim = space.similarity()
    for name in info.unseen:
        i = space.index(name)
        near = sorted(info.seen, key=lambda c: -sim[i, space.index(c)])[:2]
        print(f'      {name:>20} ~ ' + ', '.join(f'{c} {sim[i, space.index(c)]:.2f}'
                                                 for c in near), flush=True)

    results, ckpts, opts = {}, {}, {}
    train_opts = dict(baseline=ex.baseline_options(info),
                      prolab=ex.space_options(spaces['seen'], info))
    for name in ('baseline', 'prolab'):
        _step(3, f'training {name} for {iters} iterations')
        opts[name] = dict(ex.schedule_options(data_root, iters, seed), **train_opts[name])
        t0 = time.time()
        ckpts[name] = ex.train(ex.CONFIGS[name], opts[name], osp.join(work_dir, name))
        s_iter = (time.time() - t0) / iters
        _step(4, f'evaluating {name}')
        test_dir = osp.join(work_dir, name, 'test_seen')
        seen = ex.evaluate(ex.CONFIGS[name], ckpts[name], dict(opts[name], **_predictions_to(
            osp.join(test_dir, 'predictions'), opts[name])), test_dir)
        results[name] = dict(seen_mIoU=seen['mIoU'], s_iter=s_iter)
    zs_options = dict(ex.zero_shot_options(spaces['all']), **_predictions_to(
        osp.join(work_dir, 'prolab', 'zero_shot', 'predictions'), opts['prolab']))
    results['prolab'].update(ex.zero_shot_metrics(
        ex.CONFIGS['prolab'], ckpts['prolab'], opts['prolab'], zs_options, spaces['all'], info,
        osp.join(work_dir, 'prolab'), calibrations))
    gzsl = results['prolab']['gzsl']

    _step(5, f'segmenting val images that hold an unseen category (all {len(info.classes)} '
             'categories in the bank)')
    picks = ex.images_with_unseen(info)[:3]
    model = load_segmentor(ex.CONFIGS['prolab'], ckpts['prolab'], categories=spaces['all'],
                           cfg_options=opts['prolab'])
    out_dir = osp.join(work_dir, 'segment')
    summaries = segment_images(model, [p for p, _ in picks], out_dir,
                               ann_dir=osp.join(data_root, 'ann_dir', 'val'))
    for (path, truth), summary in zip(picks, summaries):
        found = ', '.join(f'{k} {v["pixel_share"]:.0%}' for k, v in summary['categories'].items())
        print(f'      {osp.basename(path)} (holds {truth}): predicted {found}', flush=True)
        fired = ex.fired_properties(model, info, path, truth)
        print(f'        properties that fired on the {truth} pixels: '
              + '; '.join(f'{n} ({a:.2f})' for n, a in fired), flush=True)
    print(f'      masks and property pictures in {out_dir}', flush=True)

    chance = ex.chance_unseen_miou(info)
    b, p = results['baseline'], results['prolab']
    print(f'\n| method | seen mIoU ({len(info.seen)}) | zero-shot mIoU ({len(info.unseen)} '
          'unseen) | GZSL seen / unseen / H | train s/iter |')
    print('|---|---|---|---|---|')
    print(f"| category-supervised baseline | {b['seen_mIoU']:.2f} | n/a (cannot name them) | "
          f"n/a | {b['s_iter']:.3f} |")
    print(f"| ProLab (K={num_properties} properties) | {p['seen_mIoU']:.2f} | "
          f"{p['zs_mIoU']:.2f} | {gzsl['mIoU_seen']:.1f} / {gzsl['mIoU_unseen']:.1f} / "
          f"{gzsl['hIoU']:.1f} | {p['s_iter']:.3f} |")
    print('\nzero-shot IoU per unseen category: ' + ', '.join(
        f'{c} {v:.1f}' for c, v in p['zs_IoU'].items()))
    print(f'chance zero-shot mIoU (uniform among the {len(info.unseen)} unseen): {chance:.2f}; '
          f'GZSL seen calibration {gzsl["calibration"]} chosen on the calib split; '
          f'{iters} iterations, seed {seed}; total {time.time() - start:.0f} s')
    return dict(results, chance_unseen_mIoU=chance)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--data-root', default='data/property_world')
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--num-properties', '-k', type=int, default=32)
    p.add_argument('--spec', help='spec to generate --data-root from when it holds no data')
    p.add_argument('--descriptions', default=ex.DESCRIPTIONS,
                   help='descriptions of every seen and unseen category of the data')
    cli.add_debug_flag(p)
    args = p.parse_args(argv)
    warnings.simplefilter('ignore')  # mmengine/mmseg deprecation chatter; progress stays visible
    run_demo(args.work_dir, args.data_root, args.iters, args.seed, args.num_properties,
             args.spec, args.descriptions)


if __name__ == '__main__':
    sys.exit(cli.run(main))
