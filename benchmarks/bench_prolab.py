"""Property-world zero-shot benchmark: one protocol, every number from the same run.

    python benchmarks/bench_prolab.py [--data-root data/property_world] [--spec SPEC]
        [--descriptions descriptions/property_world.json] [--iters 300] [--quick]
        [--v1-data-root data/property_world_v1] [--no-v1] [--rows NAME ...]
        [--no-class-balance] [--json FILE]

All rows train the same model (configs/property_world/*: ResNetV1c-18/2 + FCN heads, from
scratch, class-balanced loss) on the same data, seed and schedule; only the label space differs:

* baseline   -- one-hot categories, cross-entropy (cannot name unseen categories);
* ProLab     -- K k-means properties of the descriptions of the seen categories; the unseen
                ones are ``assign``-ed onto them from their descriptions alone; again with
                facet-wise clustering (each facet's sentences clustered on their own);
* text-emb   -- the sentence embedding of each category name;
* mpnet      -- ProLab with all-mpnet-base-v2 (768-d) sentence embeddings instead of
                all-MiniLM-L6-v2 (skipped unless its PyPI parts are installed);
* random     -- control: ProLab with each category's sentences drawn from other categories;
* attributes -- oracle: one property per attribute value of the data (upper bound of the
                property route);
* supervised -- upper bound: ProLab's space, trained with the unseen categories labelled
                (``train_all`` split).
Pretrained rows (``--rows baseline_mnv2 prolab_mnv2 prolab_mnv2_frozen random_mnv2 ...``): the
same row with the from-scratch ResNet-18/2 replaced by torchvision's ImageNet MobileNetV2
(``offline://mobilenet_v2``), fine-tuned at 0.1x the heads' learning rate or frozen, meant for
data drawn at 128 px (``--data-root data/property_world_128 --size 128``).
v1 rows (the old, confounded property-world, with its own descriptions) are added when its data
root exists (``tools/make_dataset.py --spec .../property_world_v1.json``).

Columns: seen mIoU (val, seen classes); zero-shot mIoU on val's unseen pixels choosing among the
unseen categories, and per unseen category; generalised zero-shot over all categories with the
seen-score calibration chosen on the ``calib`` split (never on val); per-attribute probe
(linear probe of the pixel features fitted on seen pixels, accuracy on unseen pixels);
train s/iter of the run, and ProLab / baseline ratios from an interleaved micro-benchmark.
Seen/unseen/chance counts come from the data's meta.json.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
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
from prolab_seg.properties.encoders import MPNET_MODEL_NAME, mpnet_model_path  # noqa: E402
from projects.property_world import experiments as ex  # noqa: E402

LABELS = dict(baseline='baseline (one-hot CE)', prolab='ProLab (K={k})',
              facets='ProLab, facet-wise clustering (K={k})',
              mpnet='ProLab, all-mpnet-base-v2 embeddings (K={k})',
              textemb='text-embedding (category name)',
              random='ProLab, random descriptions (control)',
              attributes='attribute space (oracle)',
              supervised='supervised upper bound (unseen labelled)')
#: Pretrained-backbone variants of the rows (``<row>_<suffix>``, e.g. ``prolab_mnv2``): the
#: same row with each from-scratch config replaced by its counterpart on the backbone.
BACKBONE_VARIANTS = dict(
    mnv2=('ImageNet MobileNetV2, fine-tuned',
          {ex.CONFIGS['baseline']: ex.CONFIGS['baseline_mnv2'],
           ex.CONFIGS['prolab']: ex.CONFIGS['prolab_mnv2']}),
    mnv2_frozen=('ImageNet MobileNetV2, frozen',
                 {ex.CONFIGS['prolab']: ex.CONFIGS['prolab_mnv2_frozen']}))
BASE_CONFIG = dict(baseline='baseline', textemb='textemb')  # the others: ProLab's config
LABELS.update({f'{row}_{suffix}': f'{label} [{backbone}]'
               for suffix, (backbone, configs) in BACKBONE_VARIANTS.items()
               for row, label in list(LABELS.items())
               if ex.CONFIGS[BASE_CONFIG.get(row, 'prolab')] in configs})


def split_row(name: str) -> tuple[str, str | None]:
    """``(row, backbone suffix or None)`` of a row name such as ``prolab_mnv2_frozen``."""
    for suffix in sorted(BACKBONE_VARIANTS, key=len, reverse=True):
        if name.endswith('_' + suffix):
            return name[:-len(suffix) - 1], suffix
    return name, None


def sh(cmd):
    print('$', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)


def zero_shot_row(config, spaces, info):
    """A row trained on ``spaces['seen']`` and tested with ``spaces['all']``."""
    return (config, ex.space_options(spaces['seen'], info), ex.zero_shot_options(spaces['all']),
            spaces['all'], ex.CALIBRATIONS)


def variants(info, descriptions, work, k, seed, rows):
    """name -> (config, training options, zero-shot options or None, GZSL bank or None,
    calibrations); a backbone variant (:func:`split_row`) is its row on that backbone."""
    out = _from_scratch_variants(info, descriptions, work, k, seed,
                                 {split_row(r)[0] for r in rows})
    for name in rows:
        row, suffix = split_row(name)
        if suffix is not None:
            config, *rest = out[row]
            out[name] = (BACKBONE_VARIANTS[suffix][1][config], *rest)
    return {n: out[n] for n in rows}


def _from_scratch_variants(info, descriptions, work, k, seed, rows):
    def spaces(name, desc=descriptions, **kwargs):
        return ex.build_spaces(osp.join(work, 'spaces', name), info, desc, k, seed, **kwargs)

    prolab = spaces('prolab')
    out = dict(baseline=(ex.CONFIGS['baseline'], ex.baseline_options(info), None, None, ()),
               prolab=zero_shot_row(ex.CONFIGS['prolab'], prolab, info))
    if 'facets' in rows:
        out['facets'] = zero_shot_row(ex.CONFIGS['prolab'], spaces('facets', facet_wise=True),
                                      info)
    if 'mpnet' in rows:
        out['mpnet'] = zero_shot_row(ex.CONFIGS['prolab'], spaces('mpnet', model=MPNET_MODEL_NAME),
                                     info)
    if 'textemb' in rows:
        out['textemb'] = zero_shot_row(
            ex.CONFIGS['textemb'], ex.name_banks(osp.join(work, 'spaces', 'names'), info), info)
    if 'random' in rows:
        rand = ex.random_descriptions(descriptions, info.classes, seed)
        out['random'] = zero_shot_row(ex.CONFIGS['prolab'], spaces('random', rand), info)
    if 'attributes' in rows:
        out['attributes'] = zero_shot_row(
            ex.CONFIGS['prolab'], ex.attribute_space(osp.join(work, 'spaces', 'attributes'), info),
            info)
    if 'supervised' in rows:
        out['supervised'] = (ex.CONFIGS['prolab'], ex.upper_bound_options(info, prolab['all']),
                             ex.zero_shot_options(prolab['all'], info.unseen), prolab['all'],
                             (0.0,))
    return out


def run_rows(info, descriptions, work, args, rows):
    """Train and evaluate every row on ``info``'s data; returns name -> numbers."""
    results = {}
    for name, (config, train_opts, zs_opts, bank, cals) in variants(
            info, descriptions, work, args.num_properties, args.seed, rows).items():
        opts = dict(ex.schedule_options(info.root, args.iters, args.seed), **train_opts)
        if args.no_class_balance:  # ablation: every pixel weighs the same
            opts.update({f'model.{h}.loss_decode.class_weight': None
                         for h in ('decode_head', 'auxiliary_head')})
        wd = osp.join(work, name)
        print(f'{info.root}: training {name} ({args.iters} iterations) ...', flush=True)
        t0 = time.time()
        ckpt = ex.train(config, opts, wd)
        row = dict(s_iter=(time.time() - t0) / args.iters, checkpoint=ckpt, config=config,
                   options=opts)
        seen_opts = opts if split_row(name)[0] != 'supervised' else dict(
            opts, **ex.zero_shot_options(bank, info.seen))
        row['seen_mIoU'] = ex.evaluate(config, ckpt, seen_opts, osp.join(wd, 'seen'))['mIoU']
        if zs_opts is not None:
            row.update(ex.zero_shot_metrics(config, ckpt, opts, zs_opts, bank, info, wd, cals))
        row['probe'] = ex.attribute_probe_row(config, ckpt, opts, info, args.seed)
        results[name] = row
    return results


def micro_bench(rows, data_root, reps=15):
    """Interleaved train-step and inference timings (median s) of the baseline and ProLab rows
    on the same batches."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.apis import init_model
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    models, optims = {}, {}
    for name in ('baseline', 'prolab'):
        cfg = apis.load_config(rows[name]['config'], rows[name]['options'])
        models[name] = init_model(cfg, rows[name]['checkpoint'], device='cpu')
        optims[name] = build_optim_wrapper(models[name], cfg.optim_wrapper)
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
    with torch.no_grad():
        for rep in range(3):
            for item in val_items:
                for name, m in models.items():
                    m.eval()
                    t0 = time.perf_counter()
                    m.test_step(item)
                    if rep >= 1:
                        t_inf[name].append(time.perf_counter() - t0)
    return ({n: float(np.median(v)) for n, v in t_train.items()},
            {n: float(np.median(v)) for n, v in t_inf.items()})


def fmt(v, f='{:.1f}'):
    return 'n/a' if v is None or (isinstance(v, float) and np.isnan(v)) else f.format(v)


def table(results, info, k, tag=''):
    """Markdown lines: the main table and the per-unseen-category IoU table."""
    lines = [f'| method{tag} | seen mIoU ({len(info.seen)}) | zero-shot mIoU '
             f'({len(info.unseen)} unseen) | GZSL seen / unseen / H (calib g) | '
             'probe on unseen px: colour / texture / shape | train s/iter |',
             '|' + '---|' * 6]
    for name, r in results.items():
        g, p = r.get('gzsl'), r['probe']
        gz = (f"{fmt(g['mIoU_seen'])} / {fmt(g['mIoU_unseen'])} / {fmt(g['hIoU'])} "
              f"({g['calibration']})") if g else 'n/a'
        probe = ' / '.join(fmt(p.get(t)) for t in ('color', 'texture', 'shape'))
        lines.append(f"| {LABELS[name].format(k=k)} | {fmt(r['seen_mIoU'])} | "
                     f"{fmt(r.get('zs_mIoU'))} | {gz} | {probe} | {r['s_iter']:.3f} |")
    named = [n for n in results if 'zs_IoU' in results[n]]
    lines += ['', f'| zero-shot IoU per unseen category{tag} | '
              + ' | '.join(LABELS[n].format(k=k) for n in named) + ' |',
              '|' + '---|' * (1 + len(named))]
    for c in info.unseen:
        lines.append(f'| {c} | ' + ' | '.join(fmt(results[n]['zs_IoU'][c]) for n in named)
                     + ' |')
    return lines


def targets(results):
    """The issue's targets, each with its numbers (printed, never asserted)."""
    r = results
    out = []
    if 'supervised' in r and 'prolab' in r:
        ratio = r['prolab']['zs_mIoU'] / max(r['supervised']['zs_mIoU'], 1e-9) * 100
        out.append(f"ProLab zero-shot / supervised upper bound: {ratio:.0f} % (target >= 50 %)")
    for other in ('textemb', 'random'):
        if other in r and 'prolab' in r:
            out.append(f"ProLab zero-shot - {LABELS[other]}: "
                       f"{r['prolab']['zs_mIoU'] - r[other]['zs_mIoU']:+.1f} (target >= +10)")
    if 'prolab' in r and 'baseline' in r:
        out.append(f"ProLab GZSL harmonic mean: {r['prolab']['gzsl']['hIoU']:.1f} (target >= 25)")
        out.append(f"ProLab seen mIoU - baseline: "
                   f"{r['prolab']['seen_mIoU'] - r['baseline']['seen_mIoU']:+.1f} (target >= 0)")
    return out


def report_lines(space, info, out):
    """Write the per-property report of ``space`` to ``out`` (markdown); return a summary."""
    rows = ex.property_report(space, info)
    with open(out, 'w') as fh:
        fh.write('| property | categories | attribute values its sentences mention |\n'
                 '|---|---|---|\n')
        for r in rows:
            fh.write(f"| {r['property']} | {', '.join(r['categories'])} | "
                     f"{', '.join(r['values'])} |\n")
    one = sum(len(r['values']) == 1 for r in rows)
    single = sum(len(r['categories']) == 1 for r in rows)
    return [f'{space}: {len(rows)} properties, {np.mean([len(r["categories"]) for r in rows]):.1f}'
            f' categories each, {single} with a single category; {one} mention exactly one '
            f'attribute value (keyword match; table in {out})']


def ensure_data(root, spec, size=64):
    if not osp.isfile(osp.join(root, 'meta.json')):
        sh([sys.executable, 'tools/make_dataset.py', '--out', root, '--seed', '0',
            '--size', str(size)] + (['--spec', spec] if spec else []))
    return ex.data_info(root)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default='data/property_world')
    p.add_argument('--spec', help='spec to generate --data-root from when it is missing')
    p.add_argument('--size', type=int, default=64, help='image size to generate --data-root '
                   'at when it is missing (the MobileNetV2 rows are meant for 128)')
    p.add_argument('--descriptions', default=ex.DESCRIPTIONS)
    p.add_argument('--v1-data-root', default='data/property_world_v1')
    p.add_argument('--v1-descriptions', default=osp.join(REPO, 'descriptions',
                                                         'property_world_v1.json'))
    p.add_argument('--no-v1', action='store_true', help='skip the v1 rows')
    p.add_argument('--rows', nargs='+', default=list(LABELS), choices=list(LABELS))
    p.add_argument('--work-dir', default='work_dirs/bench_prolab')
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--num-properties', '-k', type=int, default=32)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--no-class-balance', action='store_true',
                   help='ablation: no class-balanced loss weights')
    p.add_argument('--quick', action='store_true', help='20 iterations, no v1 (smoke test)')
    p.add_argument('--json', help='also write the numbers here')
    args = p.parse_args()
    if args.quick:
        args.iters, args.no_v1 = 20, True
    if 'prolab' in args.rows and 'baseline' not in args.rows:  # the targets compare the two
        args.rows.insert(0, 'baseline')
    if 'mpnet' in args.rows:
        try:
            mpnet_model_path()
        except FileNotFoundError as err:
            print(f'skipping the mpnet row: {err}', flush=True)
            args.rows.remove('mpnet')
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
    t_start = time.time()
    try:
        ex.check_descriptions(args.descriptions, args.data_root, args.spec)
    except ValueError as e:  # DescriptionsError, SpecError: before any data are written
        raise SystemExit(f'bench_prolab.py: {e}')
    info = ensure_data(args.data_root, args.spec, args.size)
    results = run_rows(info, args.descriptions, args.work_dir, args, args.rows)
    v1 = None
    if not args.no_v1 and osp.isfile(osp.join(args.v1_data_root, 'meta.json')):
        v1_info = ex.data_info(args.v1_data_root)
        v1 = (v1_info, run_rows(v1_info, args.v1_descriptions, osp.join(args.work_dir, 'v1'),
                                args, ['baseline', 'prolab']))
    timing = None
    if 'prolab' in results and 'baseline' in results:
        print('timing (interleaved micro-benchmark) ...', flush=True)
        timing = micro_bench(results, args.data_root)
    chance = ex.chance_unseen_miou(info)

    lines = table(results, info, args.num_properties)
    for name in ('prolab', 'facets', 'mpnet', 'random'):
        if name in results:
            space = osp.join(args.work_dir, 'spaces', name, 'all.npz')
            lines += report_lines(space, info,
                                  osp.join(args.work_dir, f'property_report_{name}.md'))
            lines.append(f'  agreement of its category similarities with the attribute space '
                         f'(Spearman): {ex.attribute_agreement(space, info):.3f}')
    if v1:
        lines += [''] + table(v1[1], v1[0], args.num_properties, ' [v1 data]')
    lines += ['', f'chance (uniform among the {len(info.unseen)} unseen) zero-shot mIoU: '
              f'{chance:.1f}'] + targets(results)
    if timing:
        t_train, t_inf = timing
        lines.append(f"ProLab / baseline: train step {t_train['prolab'] / t_train['baseline']:.3f}"
                     f", inference {t_inf['prolab'] / t_inf['baseline']:.3f} (interleaved, "
                     'median)')
    lines.append(f'{args.data_root}: {args.iters} iterations, batch 8, seed {args.seed}, '
                 f'torch threads {torch.get_num_threads()}, total {time.time() - t_start:.0f} s')
    print('\n' + '\n'.join(lines))
    if args.json:
        with open(args.json, 'w') as fh:
            json.dump(dict(rows=results, v1_rows=v1[1] if v1 else None,
                           chance_unseen_mIoU=chance, timing=timing, iters=args.iters),
                      fh, indent=2, default=str)


if __name__ == '__main__':
    main()
