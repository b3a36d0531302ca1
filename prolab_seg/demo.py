"""The main job: the whole ProLab story on property-world at small scale, with a results table.

1. generate the dataset (if missing); 2. build the property space of the 18 seen categories from
the shipped descriptions and assign the 6 unseen ones onto it; 3. train the category-supervised
baseline and ProLab (same model, data, seed, schedule); 4. evaluate both on the seen categories
and ProLab zero-shot on the unseen ones; 5. segment val images holding an unseen category.
"""
from __future__ import annotations

import os.path as osp
import time

from prolab_seg import experiments
from prolab_seg.datasets import SEEN_CLASSES, UNSEEN_CLASSES, write_property_world


def _step(i: int, text: str) -> None:
    print(f'[{i}/5] {text}', flush=True)


def run_demo(work_dir: str = 'work_dirs/demo', data_root: str = 'data/property_world',
             iters: int = 300, seed: int = 0, num_properties: int = 32) -> dict:
    """Run the five stages; prints progress and returns the numbers of the final table."""
    from prolab_seg.properties import PropertySpace
    from prolab_seg.segment import load_segmentor, segment_images
    start = time.time()
    if osp.isdir(osp.join(data_root, 'img_dir')):
        _step(1, f'dataset: using {data_root}')
    else:
        _step(1, f'dataset: generating property-world into {data_root}')
        write_property_world(data_root, seed=seed)

    _step(2, f'property space: K={num_properties} from descriptions of {len(SEEN_CLASSES)} seen '
             f'categories; {len(UNSEEN_CLASSES)} unseen assigned from their descriptions')
    spaces = experiments.build_property_world_spaces(osp.join(work_dir, 'spaces'),
                                                     num_properties, seed)
    space = PropertySpace.load(spaces['all'])
    sim = space.similarity()
    for name in UNSEEN_CLASSES:
        i = space.index(name)
        near = sorted(SEEN_CLASSES, key=lambda c: -sim[i, space.index(c)])[:2]
        print(f'      {name:>20} ~ ' + ', '.join(f'{c} {sim[i, space.index(c)]:.2f}'
                                                 for c in near), flush=True)

    results, ckpts = {}, {}
    for name in ('baseline', 'prolab'):
        _step(3, f'training {name} for {iters} iterations')
        opts = experiments.schedule_options(data_root, iters, seed)
        if name == 'prolab':
            opts.update(experiments.space_options(spaces['seen']))
        t0 = time.time()
        ckpts[name] = experiments.train(experiments.CONFIGS[name], opts,
                                        osp.join(work_dir, name))
        s_iter = (time.time() - t0) / iters
        _step(4, f'evaluating {name}')
        seen = experiments.evaluate(experiments.CONFIGS[name], ckpts[name], opts,
                                    osp.join(work_dir, name, 'test_seen'))
        results[name] = dict(seen_mIoU=seen['mIoU'], seen_aAcc=seen['aAcc'], s_iter=s_iter)
        if name == 'prolab':
            zs = experiments.evaluate(
                experiments.CONFIGS[name], ckpts[name],
                dict(opts, **experiments.zero_shot_options(spaces['all'], UNSEEN_CLASSES)),
                osp.join(work_dir, name, 'test_unseen'))
            results[name]['unseen_mIoU'] = zs['mIoU']

    _step(5, 'segmenting val images that hold an unseen category (all 24 categories in the bank)')
    picks = experiments.images_with_unseen(data_root)[:3]
    model, is_prolab = load_segmentor(experiments.CONFIGS['prolab'], ckpts['prolab'],
                                      categories=spaces['all'],
                                      cfg_options=experiments.space_options(spaces['seen']))
    out_dir = osp.join(work_dir, 'segment')
    for (path, truth), summary in zip(picks, segment_images(model, is_prolab,
                                                            [p for p, _ in picks], out_dir)):
        found = ', '.join(f'{k} {v["pixel_share"]:.0%}' for k, v in summary['categories'].items())
        print(f'      {osp.basename(path)} (holds {truth}): {found}', flush=True)
    print(f'      masks and property pictures in {out_dir}', flush=True)

    chance = experiments.chance_unseen_miou(data_root)
    print('\n| method | seen mIoU (18) | seen aAcc | zero-shot mIoU (6 unseen) | train s/iter |')
    print('|---|---|---|---|---|')
    for name, label in (('baseline', 'category-supervised baseline'),
                        ('prolab', f'ProLab (K={num_properties} properties)')):
        r = results[name]
        unseen = f"{r['unseen_mIoU']:.2f}" if 'unseen_mIoU' in r else 'n/a (cannot name them)'
        print(f"| {label} | {r['seen_mIoU']:.2f} | {r['seen_aAcc']:.2f} | {unseen} | "
              f"{r['s_iter']:.3f} |")
    print(f'\nchance zero-shot mIoU (uniform among the 6 unseen): {chance:.2f}; '
          f'{iters} iterations, seed {seed}; total {time.time() - start:.0f} s')
    return dict(results, chance_unseen_mIoU=chance)
