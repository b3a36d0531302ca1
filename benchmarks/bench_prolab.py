"""Property-world benchmark: category-supervised baseline vs ProLab vs text-embedding label space.

    python benchmarks/bench_prolab.py [--iters 300] [--work-dir work_dirs/bench_prolab]
                                      [--data data/property_world] [--quick]

All variants train the same model (configs/property_world/*: ResNetV1c-18/2 + FCN heads, from
scratch) on the same data with the same seed and schedule; only the label space differs:

* baseline  -- one-hot categories, cross-entropy (FCNHead as shipped);
* ProLab    -- the heads wrapped in PropertyHead, multi-hot property vectors (K=32 k-means
               clusters of all-MiniLM-L6-v2 description embeddings of the 18 seen categories;
               T=0.04, normalize_embedding=True as in the shipped property-world config);
               three times: loss at label resolution (default), at feature resolution
               (``loss_resolution='feature'``), and with a space built from the descriptions
               with the category name masked ('A tiger is orange' -> 'it is orange', K=64), so
               that properties group attributes across categories rather than by name;
* text-emb  -- the same PropertyHead with a name-embedding bank (regress the sentence embedding of
               the category name, match by cosine).

Prints one table: mIoU / aAcc on the seen categories (val split, 18 classes); zero-shot mIoU on
the 6 unseen categories (unseen-only bank: ProLab via the properties that
`gen_properties.py assign` gives their descriptions, text-emb via their name embeddings; the
baseline cannot name unseen categories); generalised zero-shot over all 24 (mIoU of the unseen
and seen classes, harmonic mean; plus a sweep of ``seen_calibration`` for ProLab and text-emb);
train s/iter and inference s/img, and ProLab/baseline ratios.
Timings come from interleaved micro-benchmarks in this process (A, B, A, B, ... on the same batch,
median), so load from other processes on a shared machine hits both alike; the full training
runs' mean s/iter is printed too.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
os.chdir(REPO)

import prolab_seg  # noqa: E402,F401
import torch  # noqa: E402

from prolab_seg import apis  # noqa: E402
from prolab_seg.datasets import ALL_CLASSES, SEEN_CLASSES, UNSEEN_CLASSES  # noqa: E402
from prolab_seg.experiments import (CONFIGS as PW_CONFIGS, DESCRIPTIONS,  # noqa: E402
                                    build_property_world_spaces, chance_unseen_miou, evaluate,
                                    schedule_options, space_options, zero_shot_options)

CONFIGS = dict(baseline=PW_CONFIGS['baseline'], prolab=PW_CONFIGS['prolab'],
               prolab_feat=PW_CONFIGS['prolab'], prolab_masked=PW_CONFIGS['prolab'],
               textemb=PW_CONFIGS['textemb'])
VARIANTS = tuple(CONFIGS)
CALIBRATIONS = (0.0, 0.1, 0.2, 0.4, 0.6, 0.8)  # PropertyHead.seen_calibration, GZSL sweep
CALIBRATED = ('prolab', 'textemb')


def sh(cmd):
    print('$', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def mask_names(category, sentences):
    """'A tiger is orange with black stripes.' -> 'it is orange with black stripes.'"""
    pat = re.compile(r'\b(?:an?|the)?\s*' + re.escape(category) + r'(?:e?s)?\b', re.I)
    return [pat.sub('it', s).strip() for s in sentences]


def build_banks(out, k, seed, k_masked=64):
    """Property spaces (seen; seen + assigned unseen) and name-embedding banks."""
    from prolab_seg.models.prolab import build_label_embedding_bank, save_label_embedding_bank
    from prolab_seg.properties import (PropertySpace, assign_categories, build_property_space,
                                       load_descriptions)
    spaces = build_property_world_spaces(out, k, seed)
    desc = load_descriptions(DESCRIPTIONS).categories
    # same, from descriptions whose category name is masked ('it'): properties then describe
    # attributes shared across categories instead of clustering by category name
    masked = {c: mask_names(c, s) for c, s in desc.items()}
    seen_m = build_property_space({c: masked[c] for c in SEEN_CLASSES}, num_properties=k_masked,
                                  seed=seed)
    seen_m.save(f'{out}/seen_masked.npz')
    seen_m.extend(assign_categories(seen_m, {c: masked[c] for c in UNSEEN_CLASSES})).save(
        f'{out}/all_masked.npz')
    names = build_label_embedding_bank(list(ALL_CLASSES))
    save_label_embedding_bank(f'{out}/names_seen.npz', names.class_names[:len(SEEN_CLASSES)],
                              names.vectors[:len(SEEN_CLASSES)])
    save_label_embedding_bank(f'{out}/names_all.npz', names.class_names, names.vectors)
    assert PropertySpace.load(f'{out}/all.npz').class_names == list(ALL_CLASSES)
    return dict(spaces, names_seen=f'{out}/names_seen.npz', names_all=f'{out}/names_all.npz',
                seen_masked=f'{out}/seen_masked.npz', all_masked=f'{out}/all_masked.npz')


def variant_options(name, banks):
    if name == 'prolab':
        return space_options(banks['seen'])
    if name == 'prolab_masked':
        return space_options(banks['seen_masked'])
    if name == 'prolab_feat':
        return dict(space_options(banks['seen']), **{
            'model.decode_head.loss_resolution': 'feature',
            'model.auxiliary_head.loss_resolution': 'feature'})
    if name == 'textemb':
        return space_options(banks['names_seen'])
    return {}


def test_options(name, banks, classes):
    bank = dict(prolab_masked=banks['all_masked']).get(
        name, banks['all'] if name.startswith('prolab') else banks['names_all'])
    return zero_shot_options(bank, classes)


def iou_from_results(results, num_classes):
    """Per-class IoU from IoUMetric's per-image (area_intersect, area_union, ...) results."""
    inter = sum(r[0] for r in results).numpy()
    union = sum(r[1] for r in results).numpy()
    with np.errstate(invalid='ignore', divide='ignore'):
        return inter / union


def generalized_zero_shot(name, cfg_path, ckpt, opts, work):
    """Seen+unseen bank on all 24 classes: per-class IoU -> mIoU(seen), mIoU(unseen), hIoU."""
    from mmengine.runner import Runner
    from mmseg.evaluation import IoUMetric

    captured = {}
    orig = IoUMetric.compute_metrics

    def capture(self, results):
        captured['iou'] = iou_from_results(results, len(ALL_CLASSES))
        return orig(self, results)

    cfg = apis.load_config(cfg_path, opts, work)
    cfg.load_from = ckpt
    cfg.log_level = 'WARNING'
    IoUMetric.compute_metrics = capture
    try:
        Runner.from_cfg(cfg).test()
    finally:
        IoUMetric.compute_metrics = orig
    iou = captured['iou'] * 100
    s, u = np.nanmean(iou[:len(SEEN_CLASSES)]), np.nanmean(iou[len(SEEN_CLASSES):])
    return dict(seen=s, unseen=u, h=2 * s * u / max(s + u, 1e-9))


def micro_bench(ckpts, data, banks, reps=15):
    """Interleaved train-step and inference timings (median s), same batch for all variants."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.apis import init_model
    from mmseg.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    init_default_scope('mmseg')
    models, optims = {}, {}
    for name, ckpt in ckpts.items():
        cfg = apis.load_config(CONFIGS[name], variant_options(name, banks))
        m = init_model(cfg, ckpt, device='cpu')
        models[name] = m
        optims[name] = build_optim_wrapper(m, cfg.optim_wrapper)
    cfg = Config.fromfile(CONFIGS['baseline'])
    cfg.train_dataloader.dataset.data_root = data
    cfg.val_dataloader.dataset.data_root = data
    train_ds = DATASETS.build(cfg.train_dataloader.dataset)
    val_ds = DATASETS.build(cfg.val_dataloader.dataset)
    train_batch = pseudo_collate([train_ds[i] for i in range(8)])
    val_items = [pseudo_collate([val_ds[i]]) for i in range(min(16, len(val_ds)))]
    t_train = {n: [] for n in models}
    t_inf = {n: [] for n in models}
    for rep in range(reps + 2):
        for name, m in models.items():
            m.train()
            t0 = time.perf_counter()
            m.train_step(train_batch, optims[name])
            if rep >= 2:
                t_train[name].append(time.perf_counter() - t0)
    for name, m in models.items():
        m.eval()
    with torch.no_grad():
        for rep in range(3):
            for item in val_items:
                for name, m in models.items():
                    t0 = time.perf_counter()
                    m.test_step(item)
                    if rep >= 1:
                        t_inf[name].append(time.perf_counter() - t0)
    return ({n: float(np.median(v)) for n, v in t_train.items()},
            {n: float(np.median(v)) for n, v in t_inf.items()})


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default='data/property_world')
    p.add_argument('--work-dir', default='work_dirs/bench_prolab')
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--num-properties', '-k', type=int, default=32)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--quick', action='store_true', help='20 iterations (smoke test)')
    p.add_argument('--json', help='also write the numbers here')
    args = p.parse_args()
    if args.quick:
        args.iters = 20
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
    t_start = time.time()
    if not osp.isdir(osp.join(args.data, 'img_dir')):
        sh([sys.executable, 'tools/make_dataset.py', '--out', args.data, '--seed', '0'])
    banks = build_banks(osp.join(args.work_dir, 'banks'), args.num_properties, args.seed)

    ckpts, run_s_iter = {}, {}
    for name in VARIANTS:
        work = osp.join(args.work_dir, name)
        opts = schedule_options(args.data, args.iters, args.seed)
        opts.update(variant_options(name, banks))
        cfg = apis.load_config(CONFIGS[name], opts, work)
        cfg.log_level = 'WARNING'
        print(f'training {name} ({args.iters} iterations) ...', flush=True)
        t0 = time.time()
        runner = apis.train(cfg)
        run_s_iter[name] = (time.time() - t0) / args.iters
        ckpts[name] = osp.join(work, f'iter_{args.iters}.pth')
        del runner

    rows = {}
    for name in VARIANTS:
        opts = schedule_options(args.data, args.iters, args.seed)
        opts.update(variant_options(name, banks))
        seen = evaluate(CONFIGS[name], ckpts[name], opts,
                        osp.join(args.work_dir, name, 'test_seen'))
        row = dict(seen_mIoU=seen['mIoU'], seen_aAcc=seen['aAcc'])
        if name != 'baseline':
            o = dict(opts, **test_options(name, banks, UNSEEN_CLASSES))
            zs = evaluate(CONFIGS[name], ckpts[name], o,
                          osp.join(args.work_dir, name, 'test_unseen'))
            row['unseen_mIoU'] = zs['mIoU']
            o = dict(opts, **test_options(name, banks, None))
            o['val_dataloader.dataset.metainfo'] = None
            row['gzsl'] = generalized_zero_shot(name, CONFIGS[name], ckpts[name], o,
                                                osp.join(args.work_dir, name, 'test_all'))
            if name in CALIBRATED:
                row['gzsl_calibrated'] = {g: generalized_zero_shot(
                    name, CONFIGS[name], ckpts[name],
                    dict(o, **{'model.decode_head.seen_calibration': g}),
                    osp.join(args.work_dir, name, f'test_all_cal{g}')) for g in CALIBRATIONS[1:]}
                row['gzsl_calibrated'][0.0] = row['gzsl']
        rows[name] = row
    print('timing (interleaved micro-benchmark) ...', flush=True)
    t_train, t_inf = micro_bench(ckpts, args.data, banks)
    chance = chance_unseen_miou(args.data)

    def f(v, fmt='{:.2f}'):
        return 'n/a' if v is None else fmt.format(v)

    head = ('| method | seen mIoU | seen aAcc | zero-shot unseen mIoU (6-way) | GZSL mIoU '
            'seen / unseen / H (24-way) | train s/iter | infer s/img | train s/iter (full run) |')
    lines = [head, '|' + '---|' * 8]
    label = dict(baseline='baseline (one-hot CE)',
                 prolab='ProLab (K=%d, loss at label res.)' % args.num_properties,
                 prolab_feat='ProLab (K=%d, loss at feature res.)' % args.num_properties,
                 prolab_masked='ProLab (K=64, names masked in descriptions)',
                 textemb='text-embedding (category name)')
    for name, r in rows.items():
        g = r.get('gzsl')
        lines.append(
            f"| {label[name]} | {f(r['seen_mIoU'])} | {f(r['seen_aAcc'])} | "
            f"{f(r.get('unseen_mIoU'))} | "
            + (f"{g['seen']:.2f} / {g['unseen']:.2f} / {g['h']:.2f}" if g else 'n/a')
            + f" | {t_train[name]:.4f} | {t_inf[name]:.4f} | {run_s_iter[name]:.3f} |")
    lines.append('')
    for name in VARIANTS[1:]:
        lines.append(f'{label[name]} / baseline: train time per iteration '
                     f'{t_train[name] / t_train["baseline"]:.3f}, inference time per image '
                     f'{t_inf[name] / t_inf["baseline"]:.3f}')
    lines.append(f'chance (uniform random among the 6 unseen) unseen mIoU: {chance:.2f}')
    lines += ['', 'GZSL with calibrated stacking (seen_calibration g subtracted from the seen '
              'categories\' scores; swept on the val split itself, so the best row is an upper bound)',
              '| g | ' + ' | '.join(f'{label[n]}: seen / unseen / H' for n in CALIBRATED) + ' |',
              '|' + '---|' * (1 + len(CALIBRATED))]
    for g in CALIBRATIONS:
        cells = [rows[n]['gzsl_calibrated'][g] for n in CALIBRATED]
        lines.append(f'| {g} | ' + ' | '.join(
            f"{c['seen']:.2f} / {c['unseen']:.2f} / {c['h']:.2f}" for c in cells) + ' |')
    lines.append(f'{args.iters} iterations, batch 8, 64x64, seed {args.seed}, '
                 f'torch threads {torch.get_num_threads()}, total {time.time() - t_start:.0f} s')
    print('\n' + '\n'.join(lines))
    if args.json:
        with open(args.json, 'w') as fh:
            json.dump(dict(rows=rows, train_s_iter=t_train, infer_s_img=t_inf,
                           run_s_iter=run_s_iter, chance_unseen_mIoU=chance,
                           iters=args.iters), fh, indent=2, default=float)


if __name__ == '__main__':
    main()
