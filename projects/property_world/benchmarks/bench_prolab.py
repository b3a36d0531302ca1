"""Property-world zero-shot benchmark: rows x unseen splits x seeds, one protocol.

    python -m projects.property_world.benchmarks.bench_prolab [--data-root ROOT ...]
        [--spec SPEC ...] [--seeds 0 1 2] [--rows NAME ...] [--descriptions FILE] [--iters 300]
        [--quick] [-k 32] [--no-class-balance] [--category-ce W] [--work-dir DIR]
        [--out FILE.jsonl] [--resume]
        [--target-row prolab] [--report-only]

Protocol: each ``--data-root`` is a generated dataset, i.e. one unseen split (its categories,
seen / unseen sets and pixel counts come from its ``meta.json``); every row of ``--rows`` runs
for every (root, seed), in the order given; no row is added. All trained rows train the same
model (the project's configs/*: ResNetV1c-18/2 + FCN heads, from scratch, class-balanced loss) on
the same data, seed and schedule; only the label space differs:

* baseline   -- one-hot categories, cross-entropy (cannot name unseen categories);
* prolab     -- K k-means properties of the descriptions of the seen categories; the unseen
                ones are ``assign``-ed onto them from their descriptions alone;
* facets     -- the same with facet-wise clustering (each facet's sentences on their own);
* mpnet      -- ProLab with all-mpnet-base-v2 (768-d) sentence embeddings (needs its PyPI
                parts; an error before any work names them);
* textemb    -- the sentence embedding of each category name;
* random     -- control: ProLab with each category's sentences drawn from other categories;
* attributes -- oracle: one property per attribute value of the data (upper bound of the
                property route);
* supervised -- upper bound: ProLab's space, trained with the unseen categories labelled
                (``train_all`` split);
* speed      -- not trained: interleaved train-step and inference timings of the baseline and
                prolab rows' checkpoints of the same (root, seed); needs both earlier in --rows.
* calib_chosen -- not trained: the prolab row's model with every inference setting chosen on
                calib (abstaining assignment threshold, then the GZSL calibration route among
                scalar / Apollonius / per-category biases); needs prolab earlier in --rows.
* featgen    -- not trained end to end: the prolab row's model with its last 1x1 conv re-fitted
                on real seen features plus features generated for the unseen categories from
                their property vectors (ZS3Net; the amount, or none, chosen on calib), then the
                columns with the GZSL route chosen on calib; needs prolab earlier in --rows.
* transductive -- TRANSDUCTIVE, reported apart: the prolab row's model fine-tuned on
                pseudo-labels of the unlabelled train_all pixels (3 rounds), then the same
                columns; needs prolab earlier in --rows.
``<row>_mnv2`` / ``<row>_mnv2_frozen``: the row with the from-scratch ResNet-18/2 replaced by
torchvision's ImageNet MobileNetV2 (``offline://mobilenet_v2``), fine-tuned at 0.1x the heads'
learning rate or frozen, meant for data drawn at 128 px (``--size 128``);
``calib_chosen_mnv2``, ``featgen_mnv2`` and ``transductive_mnv2`` read ``prolab_mnv2``'s model,
and a row on a backbone is compared with the rows of that backbone (``baseline_mnv2``,
``supervised_mnv2``, ...). Old v1 data are a root of their own with their descriptions
(``--data-root data/property_world_v1 --descriptions
projects/property_world/descriptions/property_world_v1.json``). A new row is one entry: of
:data:`TRAINED` (label, model config, :class:`Recipe`) for a trained row, else of
:func:`row_table` (a :class:`Row`: label, ``measure(run, work_dir) -> numbers``, and the rows of
the same run it reads, ``needs``).

Columns: seen mIoU (val, seen classes); zero-shot mIoU on val's unseen pixels choosing among the
unseen categories, and per unseen category beside its chance level (uniform guess among the
unseen); generalised zero-shot over all categories with the seen-score calibration chosen on the
``calib`` split (never on val); per-attribute probe (linear probe of the pixel features fitted on
seen pixels, accuracy on unseen pixels); train s/iter.

Output: a line when a row starts and when it ends (wall time, headline numbers); each finished
row appended at once as one JSON line to ``--out``, keyed by row, data root, unseen split, seed
and the settings that change its numbers (iterations, image size, K, class balance, the
``--category-ce`` weight of the rows it changes, sha256 of the descriptions file and of the
data's meta.json); ``--resume`` reuses that file's rows with the
same key, so a killed run goes on where it stopped; ``--report-only`` prints the tables from that
file's rows and runs nothing. At the end: mean +- sample std over the
(split, seed) runs of each row, per unseen category, per split; the issue's targets as met /
missed with their numbers; where ``--out`` holds a row run with several settings (``-k``,
``--iters``, ``--category-ce``), its calib GZSL H per setting (:func:`settings_on_calib`: the
setting chosen on calib); one summary of the warnings (counted, not streamed).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import os.path as osp
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

import prolab_seg  # noqa: F401  (patches the stack, registers modules; before torch, mmseg)
import torch

from prolab_seg import apis, cli
from prolab_seg.datasets.property_world import read_meta
from prolab_seg.errors import ProlabError
from prolab_seg.evaluation.zero_shot import nan_mean
from prolab_seg.properties.encoders import MPNET_MODEL_NAME, mpnet_model_path
from prolab_seg.properties.files import sha256_file
from prolab_seg.warning_tally import WarningTally

from .. import experiments as ex
from ..datasets import write_property_world


class BenchError(ProlabError, ValueError):
    """Bad --rows, --spec or results file."""


# ------------------------------------------------------------------ rows
@dataclass(frozen=True)
class Recipe:
    """What a trained row trains and tests (``--cfg-options`` dicts)."""
    train: dict
    zero_shot: dict | None = None  # test options of the zero-shot columns (None: no such)
    bank: str | None = None  # inference bank of generalised zero-shot
    calibrations: Sequence[float] = ex.CALIBRATIONS  # seen calibrations tried on calib
    seen: dict = field(default_factory=dict)  # extra test options of the seen-mIoU column
    report: str | None = None  # property space whose text side is reported


@dataclass
class Run:
    """One (data root, seed) of the protocol: what its rows share."""
    info: ex.DataInfo
    seed: int
    work: str
    args: argparse.Namespace
    chance: dict[str, float]  # chance IoU per unseen category (ex.chance_unseen_iou)
    done: dict[str, dict] = field(default_factory=dict)  # row -> numbers, finished rows
    _spaces: dict[str, dict[str, str]] = field(default_factory=dict)

    def spaces(self, name: str, descriptions: str | Mapping | None = None,
               **kwargs) -> dict[str, str]:
        """:func:`ex.build_spaces` under ``spaces/<name>`` (built once per run)."""
        if name not in self._spaces:
            self._spaces[name] = ex.build_spaces(
                osp.join(self.work, 'spaces', name), self.info,
                self.args.descriptions if descriptions is None else descriptions,
                self.args.num_properties, self.seed, **kwargs)
        return self._spaces[name]


@dataclass(frozen=True)
class Row:
    """A benchmark row: ``measure(run, work_dir) -> numbers`` (JSON-able)."""
    label: str  # may hold ``{k}`` (the number of properties)
    measure: Callable[[Run, str], dict]
    needs: tuple[str, ...] = ()  # rows of the same run it reads (earlier in --rows)
    check: Callable[[], object] | None = None  # raises before any work if it cannot run
    property_loss: bool = False  # trains a PropertyHead or reads one: --category-ce applies


def train_and_test(config: str, recipe_of: Callable[[Run], Recipe], run: Run,
                   work_dir: str, property_loss: bool = False) -> dict:
    """Train ``config`` as ``recipe_of(run)`` says, then every column it has. A
    ``property_loss`` config (PropertyHead) takes ``--category-ce``."""
    info, args = run.info, run.args
    recipe = recipe_of(run)
    opts = dict(ex.schedule_options(info.root, args.iters, run.seed), **recipe.train)
    if args.no_class_balance:  # ablation: every pixel weighs the same
        opts.update({f'model.{h}.loss_decode.class_weight': None
                     for h in ('decode_head', 'auxiliary_head')})
    if property_loss and args.category_ce:
        opts = ex.category_ce_options(opts, args.category_ce)
    t0 = time.time()
    ckpt = ex.train(config, opts, work_dir)
    out = dict(s_iter=(time.time() - t0) / args.iters, checkpoint=ckpt, config=config,
               options=opts)
    out['seen_mIoU'] = ex.evaluate(config, ckpt, dict(opts, **recipe.seen),
                                   osp.join(work_dir, 'seen'))['mIoU']
    if recipe.zero_shot is not None:
        out.update(ex.zero_shot_metrics(config, ckpt, opts, recipe.zero_shot, recipe.bank, info,
                                        work_dir, recipe.calibrations),
                   chance_IoU=run.chance)
    out['probe'] = ex.attribute_probe_row(config, ckpt, opts, info, run.seed)
    if recipe.report:
        out['text'] = text_side(recipe.report, info, osp.join(work_dir, 'property_report.md'))
    return out


def text_side(space: str, info: ex.DataInfo, out: str) -> dict:
    """Write the per-property report of ``space`` to ``out`` (markdown); return its summary
    and the space's agreement with the attribute space."""
    rows = ex.property_report(space, info)
    with open(out, 'w') as fh:
        fh.write('| property | categories | attribute values its sentences mention |\n'
                 '|---|---|---|\n')
        for r in rows:
            fh.write(f"| {r['property']} | {', '.join(r['categories'])} | "
                     f"{', '.join(r['values'])} |\n")
    return dict(properties=len(rows),
                categories_each=float(np.mean([len(r['categories']) for r in rows])),
                single_category=sum(len(r['categories']) == 1 for r in rows),
                one_value=sum(len(r['values']) == 1 for r in rows),
                agreement=ex.attribute_agreement(space, info), report=out)


def _zero_shot(run: Run, spaces: dict[str, str], report: bool = True) -> Recipe:
    """Trained on ``spaces['seen']``, tested with ``spaces['all']``."""
    return Recipe(ex.space_options(spaces['seen'], run.info),
                  ex.zero_shot_options(spaces['all']), spaces['all'],
                  report=spaces['all'] if report else None)


def _supervised(run: Run) -> Recipe:
    bank = run.spaces('prolab')['all']
    return Recipe(ex.upper_bound_options(run.info, bank),
                  ex.zero_shot_options(bank, run.info.unseen), bank, (0.0,),
                  seen=ex.zero_shot_options(bank, run.info.seen))


#: Trained rows: name -> (label, ``ex.CONFIGS`` key of the model, recipe).
TRAINED: dict[str, tuple[str, str, Callable[[Run], Recipe]]] = dict(
    baseline=('baseline (one-hot CE)', 'baseline',
              lambda run: Recipe(ex.baseline_options(run.info))),
    prolab=('ProLab (K={k})', 'prolab', lambda run: _zero_shot(run, run.spaces('prolab'))),
    facets=('ProLab, facet-wise clustering (K={k})', 'prolab',
            lambda run: _zero_shot(run, run.spaces('facets', facet_wise=True))),
    mpnet=('ProLab, all-mpnet-base-v2 embeddings (K={k})', 'prolab',
           lambda run: _zero_shot(run, run.spaces('mpnet', model=MPNET_MODEL_NAME))),
    textemb=('text-embedding (category name)', 'textemb',
             lambda run: _zero_shot(
                 run, ex.name_banks(osp.join(run.work, 'spaces', 'names'), run.info), False)),
    random=('ProLab, random descriptions (control)', 'prolab',
            lambda run: _zero_shot(run, run.spaces('random', ex.random_descriptions(
                run.args.descriptions, run.info.classes, run.seed)))),
    attributes=('attribute space (oracle)', 'prolab',
                lambda run: _zero_shot(run, ex.attribute_space(
                    osp.join(run.work, 'spaces', 'attributes'), run.info), False)),
    supervised=('supervised upper bound (unseen labelled)', 'prolab', _supervised),
)
#: What a trained row needs installed, checked before any work (raises naming it).
CHECKS = dict(mpnet=mpnet_model_path)
#: Pretrained-backbone variants (``<row>_<suffix>``): each config replaced by its counterpart.
BACKBONES = dict(
    mnv2=('ImageNet MobileNetV2, fine-tuned', dict(baseline='baseline_mnv2',
                                                   prolab='prolab_mnv2',
                                                   textemb='textemb_mnv2')),
    mnv2_frozen=('ImageNet MobileNetV2, frozen', dict(prolab='prolab_mnv2_frozen')))


def micro_bench(done: Mapping[str, dict], reps: int = 15) -> tuple[dict, dict]:
    """Interleaved train-step and inference timings (median s) of the finished baseline and
    prolab rows ``done`` on the same batches."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.apis import init_model
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    models, optims = {}, {}
    for name in ('baseline', 'prolab'):
        cfg = apis.load_config(done[name]['config'], done[name]['options'])
        models[name] = init_model(cfg, done[name]['checkpoint'], device='cpu')
        optims[name] = build_optim_wrapper(models[name], cfg.optim_wrapper)
    train_ds = DATASETS.build(cfg.train_dataloader.dataset)
    val_ds = DATASETS.build(cfg.val_dataloader.dataset)
    train_batch = pseudo_collate([train_ds[i] for i in range(min(8, len(train_ds)))])
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


def finished_row(run: Run, name: str, reader: str) -> dict:
    """The numbers of row ``name`` of ``run``, whose checkpoint row ``reader`` reads
    (``BenchError`` if that checkpoint is gone)."""
    done = run.done[name]
    if not osp.isfile(done['checkpoint']):
        raise BenchError(f"row {reader} reads the checkpoint of row {name}, "
                         f"{done['checkpoint']}, which is gone; re-run {name} without --resume")
    return done


def speed(run: Run, work_dir: str) -> dict:
    """ProLab / baseline train-step and inference time ratios (:func:`micro_bench`)."""
    for name in ('baseline', 'prolab'):
        finished_row(run, name, 'speed')
    t_train, t_inf = micro_bench(run.done)
    return dict(train_step_s=t_train, inference_s=t_inf,
                train_ratio=t_train['prolab'] / t_train['baseline'],
                inference_ratio=t_inf['prolab'] / t_inf['baseline'])


def calib_chosen(source: str, run: Run, work_dir: str) -> dict:
    """Row ``source``'s ProLab model with every inference setting chosen on ``calib``: the
    unseen categories assigned with the abstention threshold of :func:`ex.abstaining_zero_shot`,
    and generalised zero-shot with the calibration route of
    :func:`ex.generalized_zero_shot_routes` on that bank. Seen mIoU and probe are the source
    row's (same model, same seen vectors)."""
    done = finished_row(run, source, f'calib_chosen ({source})')
    config, ckpt, opts = done['config'], done['checkpoint'], done['options']
    zs = ex.abstaining_zero_shot(config, ckpt, opts, run.info, run.args.descriptions,
                                 osp.join(run.work, 'spaces', 'prolab'),
                                 osp.join(work_dir, 'abstain'))
    gzsl = ex.generalized_zero_shot_routes(config, ckpt, opts, zs['bank'],
                                           osp.join(work_dir, 'gzsl'))
    return dict(seen_mIoU=done['seen_mIoU'], probe=done['probe'], zs_mIoU=zs['zs_mIoU'],
                zs_IoU=zs['zs_IoU'], chance_IoU=run.chance, min_similarity=zs['min_similarity'],
                abstention_calib=zs['calib'], landing=zs['landing'],
                gzsl={k: v for k, v in gzsl.items() if k != 'routes'},
                gzsl_routes={r: {k: v for k, v in m.items() if not k.startswith('IoU.')}
                             for r, m in gzsl['routes'].items()})


def changed_model_columns(run: Run, config: str, checkpoint: str, options: dict, bank: str,
                          work_dir: str) -> dict:
    """The columns of a ProLab model changed after training (``checkpoint`` loads with the
    training ``options``): seen mIoU, zero-shot, and GZSL over ``bank`` with the calibration
    route chosen on ``calib``."""
    out = dict(checkpoint=checkpoint, chance_IoU=run.chance, seen_mIoU=ex.evaluate(
        config, checkpoint, options, osp.join(work_dir, 'seen'))['mIoU'])
    out.update(ex.zero_shot_metrics(config, checkpoint, options, ex.zero_shot_options(bank),
                                    bank, run.info, work_dir, routes=ex.GZSL_ROUTES))
    out['gzsl'].pop('routes', None)
    return out


def transductive(source: str, run: Run, work_dir: str) -> dict:
    """TRANSDUCTIVE (uses the unlabelled pixels of training images): row ``source``'s ProLab
    model after :func:`ex.transductive_self_training`, then the same columns with the
    calibration routes chosen on ``calib``."""
    done = finished_row(run, source, f'transductive ({source})')
    config, opts, bank = done['config'], done['options'], run.spaces('prolab')['all']
    ckpt = ex.transductive_self_training(config, done['checkpoint'], opts, bank, run.info,
                                         work_dir, seed=run.seed)
    return changed_model_columns(run, config, ckpt, opts, bank, work_dir)


def feature_generation(source: str, run: Run, work_dir: str) -> dict:
    """Row ``source``'s ProLab model with its classifier re-fitted on features generated for the
    unseen categories from their property vectors (ZS3Net; :func:`ex.feature_generation`, the
    amount chosen on ``calib``, the model unchanged if none wins there), then the same columns
    with the calibration routes chosen on ``calib``."""
    done = finished_row(run, source, f'featgen ({source})')
    config, opts, bank = done['config'], done['options'], run.spaces('prolab')['all']
    fg = ex.feature_generation(config, done['checkpoint'], opts, bank,
                               osp.join(work_dir, 'generation'), seed=run.seed)
    out = changed_model_columns(run, config, fg['checkpoint'], opts, bank, work_dir)
    return dict(out, generator=fg['generator'], refit_loss=fg['loss'],
                generated_share=fg['share'], generation_calib=fg['calib'])


#: Rows that read a ProLab row's checkpoint instead of training: name -> (label,
#: ``measure(source_row, run, work_dir)``); each also exists per backbone (``<name>_<suffix>``
#: reading ``prolab_<suffix>``).
READERS = dict(
    calib_chosen=('ProLab (K={k}), abstention + GZSL route chosen on calib', calib_chosen),
    transductive=('TRANSDUCTIVE: ProLab (K={k}) + self-training on unlabelled train pixels',
                  transductive),
    featgen=('ProLab (K={k}) + classifier re-fitted with generated unseen features (ZS3Net)',
             feature_generation))


def row_table() -> dict[str, Row]:
    """Every row by name: :data:`TRAINED`, their :data:`BACKBONES` variants, ``speed``."""
    def trained(label: str, config: str, recipe: Callable, check, property_loss: bool) -> Row:
        return Row(label, functools.partial(train_and_test, ex.CONFIGS[config], recipe,
                                            property_loss=property_loss),
                   check=check, property_loss=property_loss)

    rows = {name: trained(label, config, recipe, CHECKS.get(name), config != 'baseline')
            for name, (label, config, recipe) in TRAINED.items()}
    rows['speed'] = Row('ProLab / baseline step time (interleaved micro-benchmark)', speed,
                        needs=('baseline', 'prolab'), property_loss=True)
    for name, (label, measure) in READERS.items():
        rows[name] = Row(label, functools.partial(measure, 'prolab'), needs=('prolab', ),
                         property_loss=True)
    for suffix, (backbone, configs) in BACKBONES.items():
        for name, (label, config, recipe) in TRAINED.items():
            if config in configs:
                rows[f'{name}_{suffix}'] = trained(f'{label} [{backbone}]', configs[config],
                                                   recipe, rows[name].check,
                                                   rows[name].property_loss)
        if 'prolab' in configs:
            for name, (label, measure) in READERS.items():
                source = f'prolab_{suffix}'
                rows[f'{name}_{suffix}'] = Row(f'{label} [{backbone}]',
                                               functools.partial(measure, source),
                                               needs=(source, ), property_loss=True)
    return rows


def backbone_variant(row: str, other: str) -> str:
    """``other``'s row on ``row``'s backbone: ``textemb_mnv2`` for (``prolab_mnv2``,
    ``textemb``), ``other`` itself for a row on the default backbone."""
    for suffix in sorted(BACKBONES, key=len, reverse=True):
        if row.endswith(f'_{suffix}'):
            return f'{other}_{suffix}'
    return other


ROWS = row_table()
DEFAULT_ROWS = ['baseline', 'prolab', 'facets', 'textemb', 'random', 'attributes', 'supervised',
                'speed']


def check_rows(names: Sequence[str], table: Mapping[str, Row]) -> None:
    """``BenchError`` unless every row's ``needs`` come before it; run the rows' checks."""
    for i, name in enumerate(names):
        missing = [n for n in table[name].needs if n not in names[:i]]
        if missing:
            raise BenchError(f'row {name} needs rows {missing} before it in --rows (it reads '
                             'their results of the same root and seed)')
    for check in dict.fromkeys(table[n].check for n in names if table[n].check):
        try:
            check()
        except (FileNotFoundError, KeyError) as e:
            raise BenchError(f'--rows: {e.args[0]}') from None


# ------------------------------------------------------------------ results file
def row_key(name: str, info: ex.DataInfo, seed: int, args: argparse.Namespace,
            property_loss: bool = False) -> dict:
    """What identifies a row's numbers: the row, its data and the settings that change them
    (``category_ce`` only where set and the row has a ``property_loss``, so the records of
    earlier runs keep their keys)."""
    key = dict(row=name, data_root=osp.abspath(info.root), unseen=list(info.unseen),
               seed=seed, iters=args.iters, size=read_meta(info.root)['size'],
               num_properties=args.num_properties, class_balance=not args.no_class_balance,
               descriptions_sha256=sha256_file(args.descriptions),
               data_sha256=sha256_file(osp.join(info.root, 'meta.json')))
    if property_loss and args.category_ce:
        key['category_ce'] = args.category_ce
    return key


def key_id(key: Mapping) -> str:
    return json.dumps(key, sort_keys=True)


def read_records(path: str) -> dict[str, dict]:
    """Records of a results file by :func:`key_id` (the last line of a key wins); a line cut
    short by a killed run is skipped with a note."""
    out = {}
    if not osp.isfile(path):
        return out
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                print(f'{path}:{n}: not a JSON line (cut short by a killed run?); ignored',
                      file=sys.stderr)
                continue
            if not isinstance(record, dict) or not {'key', 'numbers'} <= record.keys():
                raise BenchError(f'{path}:{n}: not a bench_prolab record (no "key" and '
                                 '"numbers"); give --out another file')
            out[key_id(record['key'])] = record
    return out


def append_record(path: str, record: dict) -> None:
    """Append ``record`` as one line, on a line of its own, flushed to disk."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'a+b') as fh:
        if fh.seek(0, os.SEEK_END):
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b'\n':  # a line cut short by a killed run
                fh.write(b'\n')
        fh.write((json.dumps(record, default=str) + '\n').encode())
        fh.flush()
        os.fsync(fh.fileno())


# ------------------------------------------------------------------ the protocol
def split_names(roots: Sequence[str]) -> dict[str, str]:
    """A short name per data root: its folder name, or its path where two names collide."""
    names = [osp.basename(osp.normpath(r)) for r in roots]
    if len(set(names)) < len(names):
        names = [osp.abspath(r) for r in roots]
    return dict(zip(roots, names))


def fmt(v, f: str = '{:.1f}') -> str:
    return 'n/a' if v is None or (isinstance(v, float) and np.isnan(v)) else f.format(v)


def headline(numbers: Mapping) -> str:
    """The row's main numbers in a few words."""
    parts = []
    if 'seen_mIoU' in numbers:
        parts.append(f"seen {fmt(numbers['seen_mIoU'])}")
    if 'zs_mIoU' in numbers:
        parts.append(f"zero-shot {fmt(numbers['zs_mIoU'])}")
    if 'gzsl' in numbers:
        parts.append(f"GZSL H {fmt(numbers['gzsl']['hIoU'])} (g {numbers['gzsl']['calibration']})")
    if 'train_ratio' in numbers:
        parts.append(f"ProLab / baseline: train step x{numbers['train_ratio']:.3f}, "
                     f"inference x{numbers['inference_ratio']:.3f}")
    return ', '.join(parts) or 'done'


def run_protocol(args: argparse.Namespace, table: Mapping[str, Row],
                 tally: WarningTally) -> list[dict]:
    """Every row of ``args.rows`` for every (root, seed), fresh or (``--resume``) reused from
    ``args.out``; each fresh row appended there as soon as it ends. Returns the records."""
    earlier = read_records(args.out) if args.resume or args.report_only else {}
    names = split_names(args.data_root)
    total = len(args.data_root) * len(args.seeds) * len(args.rows)
    records, i = [], 0
    for root in args.data_root:
        info = ex.data_info(root)
        chance = ex.chance_unseen_iou(info)
        for seed in args.seeds:
            work = osp.join(args.work_dir, names[root].strip('/').replace('/', '_'),
                            f'seed{seed}')
            run = Run(info, seed, work, args, chance)
            for name in args.rows:
                i += 1
                key = row_key(name, info, seed, args, table[name].property_loss)
                tag = f'[{i}/{total}] {name} | {names[root]} | seed {seed}'
                record = earlier.get(key_id(key))
                if record is None and args.report_only:
                    print(f'{tag}: not in {args.out}; skipped (--report-only)', flush=True)
                    continue
                if record is None:
                    print(f'{tag}: started {time.strftime("%H:%M:%S")}', flush=True)
                    t0 = time.time()
                    with tally.capture():
                        numbers = table[name].measure(run, osp.join(work, name))
                    record = dict(key=key, label=table[name].label.format(k=args.num_properties),
                                  split=names[root], wall_s=round(time.time() - t0, 1),
                                  finished=time.strftime('%Y-%m-%d %H:%M:%S'), numbers=numbers)
                    append_record(args.out, record)
                    print(f"{tag}: done in {record['wall_s']:.0f} s: {headline(numbers)}",
                          flush=True)
                else:
                    print(f"{tag}: reused from {args.out} (finished {record['finished']}, "
                          f"{record['wall_s']:.0f} s): {headline(record['numbers'])}",
                          flush=True)
                run.done[name] = record['numbers']
                records.append(record)
    return records


# ------------------------------------------------------------------ tables
def mean_std(values: Sequence[float], digits: int = 1) -> str:
    """``mean ± sample std`` of the non-NaN ``values`` (the mean alone for one, n/a for none)."""
    v = np.asarray([x for x in values if x is not None and not np.isnan(x)], np.float64)
    if not v.size:
        return 'n/a'
    mean = f'{v.mean():.{digits}f}'
    return mean if v.size == 1 else f'{mean} ± {v.std(ddof=1):.{digits}f}'


def _runs(n: int) -> str:
    return f'{n} run' + 's' * (n != 1)


def by_row(records: Sequence[dict]) -> dict[str, dict[tuple[str, int], dict]]:
    """row -> (data root, seed) -> numbers, rows in their first order."""
    out: dict[str, dict[tuple[str, int], dict]] = {}
    for r in records:
        out.setdefault(r['key']['row'], {})[(r['key']['data_root'], r['key']['seed'])] = \
            r['numbers']
    return out


def _get(numbers: Mapping, path: str):
    """``numbers['a']['b']`` for ``'a.b'``; None where missing."""
    for part in path.split('.'):
        if not isinstance(numbers, Mapping) or part not in numbers:
            return None
        numbers = numbers[part]
    return numbers


def paired(rows: Mapping[str, dict], a: str, b: str, path: str) -> tuple[list, list]:
    """``path``'s values of rows ``a`` and ``b`` on the (root, seed) runs both have."""
    common = [run for run in rows.get(a, {}) if run in rows.get(b, {})]
    return ([_get(rows[a][run], path) for run in common],
            [_get(rows[b][run], path) for run in common])


def main_table(records: Sequence[dict]) -> list[str]:
    """Markdown: per row, mean ± std over its runs; seen − baseline paired by run."""
    rows = by_row(records)
    labels = {r['key']['row']: r['label'] for r in records}
    lines = ['| method | runs | seen mIoU | seen − baseline | zero-shot mIoU | '
             'GZSL seen / unseen / H | probe on unseen px: colour / texture / shape | '
             'train s/iter |', '|' + '---|' * 8]
    notes = []
    for name, runs in rows.items():
        nums = list(runs.values())
        if not any(k in n for n in nums for k in ('seen_mIoU', 'zs_mIoU', 'gzsl')):
            continue
        col = lambda path: mean_std([_get(n, path) for n in nums])  # noqa: E731
        baseline = backbone_variant(name, 'baseline')
        if name == baseline:
            vs_base = '—'
        elif baseline not in rows:
            vs_base = 'missing'
            notes.append(f'seen − baseline: missing, row {baseline} was not run')
        else:
            ours, base = paired(rows, name, baseline, 'seen_mIoU')
            vs_base = mean_std([o - b for o, b in zip(ours, base)])
        gzsl = ' / '.join(col(f'gzsl.{m}') for m in ('mIoU_seen', 'mIoU_unseen', 'hIoU'))
        probe = ' / '.join(col(f'probe.{t}') for t in ('color', 'texture', 'shape'))
        s_iter = [n['s_iter'] for n in nums if 's_iter' in n]
        lines.append(f"| {labels[name]} | {len(nums)} | {col('seen_mIoU')} | {vs_base} | "
                     f"{col('zs_mIoU')} | {gzsl} | {probe} | "
                     f"{fmt(nan_mean(s_iter), '{:.3f}')} |")
    return lines + list(dict.fromkeys(notes))


def category_table(records: Sequence[dict]) -> list[str]:
    """Markdown: per unseen category (splits in order), its chance IoU and each zero-shot
    row's IoU, mean ± std over its runs; ``*``: the mean is at or below chance."""
    rows = {n: runs for n, runs in by_row(records).items()
            if any('zs_IoU' in v for v in runs.values())}
    if not rows:
        return []
    labels = {r['key']['row']: r['label'] for r in records}
    splits: dict[str, set[str]] = {}
    chance: dict[str, dict[str, float]] = {}  # category -> data root -> chance IoU
    for r in records:
        for c in r['key']['unseen']:
            splits.setdefault(c, set()).add(r['split'])
        for c, v in r['numbers'].get('chance_IoU', {}).items():
            chance.setdefault(c, {})[r['key']['data_root']] = v
    lines = ['| unseen category | split | chance | ' + ' | '.join(labels[n] for n in rows)
             + ' |', '|' + '---|' * (3 + len(rows))]
    for c, where in splits.items():
        level = nan_mean(list(chance.get(c, {}).values()))
        cells = []
        for runs in rows.values():
            values = [v['zs_IoU'][c] for v in runs.values() if c in v.get('zs_IoU', {})]
            below = not np.isnan(nan_mean(values)) and nan_mean(values) <= level
            cells.append(mean_std(values) + ('*' if below else ''))
        lines.append(f"| {c} | {', '.join(sorted(where))} | {fmt(level)} | "
                     + ' | '.join(cells) + ' |')
    return lines + ['* at or below its chance level (mean over its runs)']


def split_table(records: Sequence[dict]) -> list[str]:
    """Markdown: per row and split, mean ± std over the seeds."""
    groups: dict[tuple[str, str], list[dict]] = {}
    labels = {}
    for r in records:
        if any(k in r['numbers'] for k in ('seen_mIoU', 'zs_mIoU', 'gzsl')):
            groups.setdefault((r['key']['row'], r['split']), []).append(r['numbers'])
            labels[r['key']['row']] = r['label']
    lines = ['| method | split | seeds | seen mIoU | zero-shot mIoU | GZSL H | calib g |',
             '|' + '---|' * 7]
    for (name, split), nums in groups.items():
        g = sorted({n['gzsl']['calibration'] for n in nums if 'gzsl' in n})
        lines.append(f"| {labels[name]} | {split} | {len(nums)} | "
                     f"{mean_std([_get(n, 'seen_mIoU') for n in nums])} | "
                     f"{mean_std([_get(n, 'zs_mIoU') for n in nums])} | "
                     f"{mean_std([_get(n, 'gzsl.hIoU') for n in nums])} | "
                     f"{', '.join(map(str, g)) or 'n/a'} |")
    return lines


def other_lines(records: Sequence[dict], table_rows: Sequence[str]) -> list[str]:
    """Chance per split, the text side of the property rows, the speed ratios."""
    chance = {}
    for r in records:
        if 'chance_IoU' in r['numbers']:
            chance[r['split']] = nan_mean(list(r['numbers']['chance_IoU'].values()))
    lines = []
    if chance:
        lines.append('chance zero-shot mIoU (uniform guess among the unseen, val): '
                     + ', '.join(f'{s} {v:.1f}' for s, v in chance.items()))
    rows = by_row(records)
    labels = {r['key']['row']: r['label'] for r in records}
    for name, runs in rows.items():
        text = [n['text'] for n in runs.values() if 'text' in n]
        if text:
            m = lambda k: mean_std([t[k] for t in text])  # noqa: E731
            lines.append(f"{labels[name]}: {m('properties')} properties, "
                         f"{m('categories_each')} categories each, {m('single_category')} with a "
                         f"single category, {m('one_value')} naming exactly one attribute value; "
                         f"agreement with the attribute space (Spearman) "
                         f"{mean_std([t['agreement'] for t in text], 3)} "
                         f"(tables: {text[0]['report']} ...)")
    ratios = [n for runs in rows.values() for n in runs.values() if 'train_ratio' in n]
    if ratios:
        lines.append('ProLab / baseline (interleaved medians): train step x'
                     + mean_std([n['train_ratio'] for n in ratios], 3) + ', inference x'
                     + mean_std([n['inference_ratio'] for n in ratios], 3))
    elif 'speed' not in table_rows:
        lines.append('ProLab / baseline step-time ratio: missing, row speed (needs baseline and '
                     'prolab) was not run')
    return lines


#: The issue's targets.
TARGET_GZSL_H = 25.0
TARGET_UPPER_SHARE = 50.0
TARGET_MARGIN = 10.0
TARGET_SEEN_SLACK = 1.0


def targets(records: Sequence[dict], row: str = 'prolab') -> list[str]:
    """Markdown: each target of the issue as met / missed with its numbers (means over the
    runs, rows compared on the runs they share), or the rows it needs."""
    rows = by_row(records)
    out = ['| target | measured | |', '|---|---|---|']

    def add(what: str, needs: Sequence[str], judge: Callable[[], tuple[str, bool]]) -> None:
        missing = [n for n in (row, *needs) if n not in rows]
        if missing:
            out.append(f"| {what} | not measured: needs rows {', '.join(missing)} | — |")
        else:
            text, met = judge()
            out.append(f"| {what} | {text} | {'met' if met else 'MISSED'} |")

    def gzsl():
        h = nan_mean([_get(n, 'gzsl.hIoU') for n in rows[row].values()])
        return f'{row} GZSL H {h:.1f} ({_runs(len(rows[row]))})', h >= TARGET_GZSL_H

    supervised, textemb, random, baseline = (backbone_variant(row, r) for r in (
        'supervised', 'textemb', 'random', 'baseline'))

    def upper():
        ours, sup = paired(rows, row, supervised, 'zs_mIoU')
        a, b = nan_mean(ours), nan_mean(sup)
        share = 100 * a / max(b, 1e-9)
        return (f'{a:.1f} / {b:.1f} = {share:.0f} % ({_runs(len(ours))})',
                share >= TARGET_UPPER_SHARE)

    def difference(other: str, path: str, at_least: float):
        """Judge ``row`` minus ``other`` on ``path`` over their common runs."""
        def judge():
            ours, theirs = paired(rows, row, other, path)
            a, b = nan_mean(ours), nan_mean(theirs)
            return f'{a:.1f} − {b:.1f} = {a - b:+.1f} ({_runs(len(ours))})', a - b >= at_least
        return judge

    def above_chance():
        iou: dict[str, list[float]] = {}
        chance: dict[str, list[float]] = {}
        for n in rows[row].values():
            for c, v in n.get('zs_IoU', {}).items():
                iou.setdefault(c, []).append(v)
                chance.setdefault(c, []).append(n['chance_IoU'][c])
        # a category without val pixels (NaN) cannot be judged: it counts as not above chance
        margins = {c: nan_mean(iou[c]) - nan_mean(chance[c]) for c in iou}
        below = [c for c, m in margins.items() if not m > 0]
        shown = below or [min(margins, key=margins.get)]
        text = ('; '.join(f'{c} {fmt(nan_mean(iou[c]))} vs chance {fmt(nan_mean(chance[c]))}'
                          for c in shown))
        head = (f'{len(below)} of {len(margins)} not above: ' if below else
                f'all {len(margins)} above; closest: ')
        return head + text, not below

    add(f'GZSL harmonic mean ≥ {TARGET_GZSL_H:.0f} (calibration from calib)', (), gzsl)
    add(f'zero-shot ≥ {TARGET_UPPER_SHARE:.0f} % of the supervised upper bound', (supervised,),
        upper)
    add(f'zero-shot ≥ text-embedding + {TARGET_MARGIN:.0f}', (textemb,),
        difference(textemb, 'zs_mIoU', TARGET_MARGIN))
    add(f'zero-shot ≥ random descriptions + {TARGET_MARGIN:.0f}', (random,),
        difference(random, 'zs_mIoU', TARGET_MARGIN))
    add(f'seen mIoU ≥ baseline − {TARGET_SEEN_SLACK:.0f}', (baseline,),
        difference(baseline, 'seen_mIoU', -TARGET_SEEN_SLACK))
    add('every unseen category above its chance level', (), above_chance)
    return out


def report(records: Sequence[dict], table_rows: Sequence[str], target_row: str) -> list[str]:
    """Every table of the final report."""
    splits = {}
    for r in records:
        splits.setdefault(r['split'], (r['key']['data_root'], r['key']['unseen']))
    lines = [f'{s} = {root}: unseen {", ".join(unseen)}' for s, (root, unseen) in splits.items()]
    lines += ['', 'mean ± sample std over the (split, seed) runs of each row', '']
    lines += main_table(records)
    cats = category_table(records)
    lines += ([''] + cats if cats else []) + [''] + split_table(records) + ['']
    lines += other_lines(records, table_rows)
    lines += ['', f'targets of issue 20 for row {target_row} (means over runs):', '']
    return lines + targets(records, target_row)


def setting_name(key: Mapping) -> str:
    """The settings of a record chosen on calib, in words: ``K=32, 300 it``, ``K=32, 300 it,
    category CE 1``."""
    ce = key.get('category_ce')
    name = f"K={key['num_properties']}, {key['iters']} it"
    return name + (f', category CE {ce:g}' if ce else '')


def settings_on_calib(records: Sequence[dict]) -> list[str]:
    """Markdown: for each row of ``records`` run with several settings (``-k``, ``--iters``,
    ``--category-ce``), its calib GZSL harmonic mean (scalar calibration chosen on calib) per
    setting over the (root, seed) runs every setting has, the best marked: the setting chosen
    on calib, val unread. Empty if no row has two settings."""
    runs: dict[tuple, dict[str, dict[tuple, float]]] = {}
    for r in records:
        h = _get(r['numbers'], 'gzsl.calib_hIoU')
        if h is not None:
            k = r['key']
            row = (k['row'], k['size'], k['class_balance'], k['descriptions_sha256'])
            runs.setdefault(row, {}).setdefault(setting_name(k), {})[
                (k['data_root'], k['seed'])] = h
    lines = []
    for (row, size, *_), by_setting in runs.items():
        common = set.intersection(*(set(v) for v in by_setting.values()))
        if len(by_setting) < 2 or not common:
            continue
        means = {name: float(np.mean([v[run] for run in common]))
                 for name, v in by_setting.items()}
        best = max(means, key=means.get)
        lines += [f'| {row}, {size} px | {name} | {_runs(len(common))} | {h:.1f}'
                  + (' (best)' if name == best else '') + ' |' for name, h in means.items()]
    head = ['| row | setting | runs | calib GZSL H |', '|---|---|---|---|']
    return head + lines if lines else []


# ------------------------------------------------------------------ CLI
def _help_epilog() -> str:
    width = max(map(len, ROWS))
    lines = ['rows (--rows runs them in the order given and adds none):']
    for name, row in ROWS.items():
        needs = f'; needs {", ".join(row.needs)} earlier in --rows' if row.needs else ''
        lines.append(f'  {name:<{width}}  {row.label.format(k="K")}{needs}')
    lines += ['', 'columns and targets that need other rows (printed as missing / not measured '
              'without them):',
              '  seen − baseline: baseline; ProLab / baseline step time: row speed',
              '  targets: --target-row, plus supervised (share of the upper bound), textemb and '
              'random (margins), baseline (seen mIoU)',
              '  a row on another backbone (<row>_mnv2 ...) is compared with the rows of its '
              'backbone (baseline_mnv2, supervised_mnv2 ...)']
    return '\n'.join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0], epilog=_help_epilog(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data-root', nargs='+',
                   default=[osp.join(ex.REPO, 'data', 'property_world')],
                   help='generated datasets, one per unseen split (their meta.json)')
    p.add_argument('--spec', nargs='+', help='specs to generate the --data-root that are '
                   'missing from: one per root, in the same order')
    p.add_argument('--size', type=int, default=64, help='image size of generated data (the '
                   'MobileNetV2 rows are meant for 128)')
    p.add_argument('--descriptions', default=ex.DESCRIPTIONS)
    p.add_argument('--seeds', nargs='+', type=int, default=[0],
                   help='training / clustering seeds; every row runs for each')
    p.add_argument('--rows', nargs='+', default=DEFAULT_ROWS, choices=list(ROWS),
                   metavar='ROW', help=f'default: {" ".join(DEFAULT_ROWS)} (see below)')
    p.add_argument('--work-dir', default=osp.join(ex.REPO, 'work_dirs', 'bench_prolab'))
    p.add_argument('--out', help='results, one JSON line per finished row (appended); '
                   'default: WORK_DIR/bench_prolab.jsonl')
    p.add_argument('--resume', action='store_true',
                   help='reuse the rows of --out with the same key instead of running them')
    p.add_argument('--report-only', action='store_true',
                   help='run nothing: the tables from the rows of --out with the same key '
                   '(rows not there are listed as skipped)')
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--num-properties', '-k', type=int, default=32)
    p.add_argument('--no-class-balance', action='store_true',
                   help='ablation: no class-balanced loss weights')
    p.add_argument('--category-ce', type=float, default=0.0, metavar='W',
                   help='the PropertyHead rows train with a CategoryCrossEntropyLoss (softmax CE '
                   "over the seen categories' cosine scores, T=0.05) of W times each head's "
                   'cosine loss weight beside it (0: the cosine loss alone, ProLab)')
    p.add_argument('--quick', action='store_true', help='20 iterations (smoke test)')
    p.add_argument('--target-row', default='prolab', choices=list(ROWS), metavar='ROW',
                   help='the row the targets judge')
    cli.add_debug_flag(p)
    args = p.parse_args(argv)
    if args.quick:
        args.iters = 20
    args.out = args.out or osp.join(args.work_dir, 'bench_prolab.jsonl')
    if args.spec and len(args.spec) != len(args.data_root):
        raise BenchError(f'--spec: {len(args.spec)} given for {len(args.data_root)} '
                         '--data-root; give one per root')
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    check_rows(args.rows, ROWS)
    specs = args.spec or [None] * len(args.data_root)
    for root, spec in zip(args.data_root, specs):  # before any data are written
        ex.check_descriptions(args.descriptions, root, spec)
    for root, spec in zip(args.data_root, specs):
        if read_meta(root) is None and args.report_only:
            raise BenchError(f'--report-only: {root} holds no generated data (no meta.json), so '
                             'no row of --out can be matched to it; give the --data-root the '
                             'rows were run on')
        if read_meta(root) is None:
            print(f'generating {root} ({args.size} px) from {spec or "the default spec"} ...',
                  flush=True)
            write_property_world(root, spec=spec, seed=0, size=args.size)
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
    t_start = time.time()
    tally = WarningTally()
    records = run_protocol(args, ROWS, tally)
    print('\n' + '\n'.join(report(records, args.rows, args.target_row)))
    chosen = settings_on_calib(list(read_records(args.out).values()))
    if chosen:
        print('\nSettings on calib (every record of --out with the calib numbers, val unread):'
              '\n\n' + '\n'.join(chosen))
    print(f'\n{len(args.data_root)} split(s) x seeds {args.seeds}: {args.iters} iterations, '
          f'batch 8, K={args.num_properties}, torch threads {torch.get_num_threads()}, '
          f'{time.time() - t_start:.0f} s; results in {args.out}')
    print('\n'.join(tally.summary()), file=sys.stderr)


if __name__ == '__main__':
    sys.exit(cli.run(main))
