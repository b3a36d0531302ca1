"""projects/property_world/benchmarks/bench_prolab.py as a tool: rows run exactly as given, each
appended to the results file at once and skipped by --resume; the mean ± std tables and the
targets from hand-made records; warnings counted, not streamed; end to end on the tiny
property-world (slow)."""
import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from prolab_seg.cli import run
from prolab_seg.warning_tally import WarningTally

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def bench():
    from projects.property_world.benchmarks import bench_prolab
    return bench_prolab


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class FakeRows:
    """Two rows that record their calls; ``seen_mIoU`` is the call's number, so a re-run row
    would change it. ``stop_at`` = (row, seed): raise KeyboardInterrupt there (a killed run)."""

    def __init__(self, bench):
        self.calls, self.stop_at = [], None
        self.table = {name: bench.Row(f'fake {name}', self.measure(name))
                      for name in ('one', 'two')}

    def measure(self, name):
        def fn(run, work_dir):
            if (name, run.seed) == self.stop_at:
                raise KeyboardInterrupt
            self.calls.append((name, run.seed, sorted(run.done)))
            return dict(seen_mIoU=float(len(self.calls)))
        return fn


def test_rows_exactly_as_given_and_resume_skips_finished_rows(bench, property_world_root,
                                                               tmp_path, monkeypatch, capsys):
    rows = FakeRows(bench)
    monkeypatch.setattr(bench, 'ROWS', rows.table)
    out = tmp_path / 'w' / 'bench_prolab.jsonl'
    argv = ['--data-root', str(property_world_root), '--work-dir', str(tmp_path / 'w'),
            '--iters', '5', '--seeds', '0', '1']
    # only the row asked for: nothing added before it
    bench.main(argv + ['--rows', 'two'])
    assert [c[:2] for c in rows.calls] == [('two', 0), ('two', 1)]
    assert [(r['key']['row'], r['key']['seed']) for r in _lines(out)] == [('two', 0), ('two', 1)]
    assert capsys.readouterr().out.count(': started ') == 2

    # killed during the 4th row: the 3 finished ones are already in the file
    out.unlink()
    rows.calls.clear()
    rows.stop_at = ('two', 1)
    with pytest.raises(KeyboardInterrupt):
        bench.main(argv + ['--rows', 'one', 'two'])
    before = _lines(out)
    assert [(r['key']['row'], r['key']['seed']) for r in before] == [('one', 0), ('two', 0),
                                                                     ('one', 1)]
    assert before[1]['key'] | dict(row='one') == before[0]['key']  # same key but the row
    key = before[0]['key']
    assert key['data_root'] == str(property_world_root) and key['iters'] == 5
    assert len(key['descriptions_sha256']) == len(key['data_sha256']) == 64
    assert rows.calls[1] == ('two', 0, ['one'])  # a row sees the finished rows of its run

    # --report-only runs nothing and writes nothing: the tables from the 3 finished rows
    rows.stop_at = None
    rows.calls.clear()
    capsys.readouterr()
    bench.main(argv + ['--rows', 'one', 'two', '--report-only'])
    printed = capsys.readouterr().out
    assert rows.calls == [] and _lines(out) == before
    assert printed.count(': reused from ') == 3
    assert f'[4/4] two | {property_world_root.name} | seed 1: not in {out}; skipped' in printed
    assert '| fake two | 1 |' in printed and '| fake one | 2 |' in printed
    missing = tmp_path / 'never_generated'
    with pytest.raises(bench.BenchError, match='--report-only: .*never_generated holds no '
                                               'generated data'):
        bench.main(argv[:1] + [str(missing)] + argv[2:] + ['--rows', 'one', '--report-only'])
    assert not missing.exists()

    # --resume runs only the missing row; the others' numbers come from the file
    bench.main(argv + ['--rows', 'one', 'two', '--resume'])
    assert rows.calls == [('two', 1, ['one'])]  # its run's resumed row is there too
    printed = capsys.readouterr().out
    assert printed.count(': reused from ') == 3 and printed.count(': started ') == 1
    after = _lines(out)
    assert after[:3] == before and len(after) == 4
    one = [r['numbers']['seen_mIoU'] for r in before if r['key']['row'] == 'one']
    assert f"| fake one | 2 | {bench.mean_std(one)} |" in printed

    # another setting is another key: nothing reused
    rows.calls.clear()
    bench.main(argv + ['--rows', 'one', '--resume', '--iters', '6'])
    assert [c[:2] for c in rows.calls] == [('one', 0), ('one', 1)]
    # without --resume a row runs again, and its new line is appended
    rows.calls.clear()
    bench.main(argv + ['--rows', 'one', '--seeds', '0'])
    assert rows.calls == [('one', 0, [])] and len(_lines(out)) == 7


def test_a_line_cut_short_is_skipped_and_the_next_starts_on_its_own_line(bench, tmp_path,
                                                                          capsys):
    path = tmp_path / 'r.jsonl'
    whole = dict(key=dict(row='a'), numbers=dict(seen_mIoU=1.0))
    path.write_text(json.dumps(whole) + '\n{"key": {"row": "b"}, "numb')
    bench.append_record(str(path), dict(key=dict(row='c'), numbers={}))
    records = bench.read_records(str(path))
    assert [r['key']['row'] for r in records.values()] == ['a', 'c']
    assert f'{path}:2: not a JSON line' in capsys.readouterr().err
    path.write_text('{"rows": {}}\n')
    with pytest.raises(bench.BenchError, match=r'r\.jsonl:1: not a bench_prolab record'):
        bench.read_records(str(path))


def test_a_row_needing_another_must_follow_it(bench, capsys):
    with pytest.raises(bench.BenchError, match=r"row speed needs rows \['prolab'\] before it"):
        bench.check_rows(['baseline', 'speed', 'prolab'], bench.ROWS)
    bench.check_rows(['baseline', 'prolab', 'speed'], bench.ROWS)
    assert run(bench.main, ['--rows', 'speed']) == 2
    assert capsys.readouterr().err.startswith('bench_prolab.py: error: row speed needs rows')
    assert run(bench.main, ['--data-root', 'a', 'b', '--spec', 'one.json']) == 2
    assert '--spec: 1 given for 2 --data-root' in capsys.readouterr().err


def _record(row, split, seed, unseen, **numbers):
    return dict(key=dict(row=row, data_root=f'/data/{split}', seed=seed, unseen=unseen),
                label=f'label {row}', split=split, numbers=numbers)


SPLITS = dict(A=['u1', 'u2'], B=['u3', 'u4'])
CHANCE = dict(u1=20.0, u2=15.0, u3=25.0, u4=5.0)
RUNS = [('A', 0), ('A', 1), ('B', 0), ('B', 1)]


def _handmade(rows=('baseline', 'prolab', 'textemb', 'random', 'supervised')):
    """Hand-made records: 2 splits x 2 seeds (random only on split A)."""
    prolab = dict(seen=[50, 52, 54, 56], zs=[30, 34, 20, 24], h=[24, 28, 26, 22],
                  iou=[dict(u1=40, u2=10), dict(u1=44, u2=12), dict(u3=30, u4=5),
                       dict(u3=30, u4=7)])
    zs = dict(textemb=[10, 12, 14, 16], random=[20, 22], supervised=[60, 60, 50, 50])
    out = []
    for i, (split, seed) in enumerate(RUNS):
        unseen = SPLITS[split]
        chance = {c: CHANCE[c] for c in unseen}
        if 'baseline' in rows:
            out.append(_record('baseline', split, seed, unseen, seen_mIoU=[52, 52, 55, 55][i],
                               s_iter=0.5, probe=dict(color=50.0)))
        if 'prolab' in rows:
            out.append(_record('prolab', split, seed, unseen, seen_mIoU=prolab['seen'][i],
                               zs_mIoU=prolab['zs'][i], zs_IoU=prolab['iou'][i],
                               chance_IoU=chance, gzsl=dict(hIoU=prolab['h'][i], mIoU_seen=40,
                                                            mIoU_unseen=10, calibration=0.1)))
        for row in ('textemb', 'random', 'supervised'):
            if row in rows and i < len(zs[row]):
                out.append(_record(row, split, seed, unseen, seen_mIoU=50.0,
                                   zs_mIoU=zs[row][i], chance_IoU=chance,
                                   zs_IoU={c: 50.0 for c in unseen}))
    return out


def _table_row(lines, first_cell):
    return next(line for line in lines if line.startswith(f'| {first_cell} |'))


def test_mean_std_over_runs_per_category_and_per_split(bench, tmp_path):
    path = tmp_path / 'results.jsonl'
    for r in _handmade():
        bench.append_record(str(path), r)
    records = list(bench.read_records(str(path)).values())
    lines = bench.report(records, ['baseline', 'prolab', 'textemb', 'random', 'supervised'],
                         'prolab')
    # seen 50 52 54 56: mean 53, sample std 2.58; paired seen − baseline -2 0 -1 1
    assert _table_row(lines, 'label prolab').startswith(
        '| label prolab | 4 | 53.0 ± 2.6 | -0.5 ± 1.3 | 27.0 ± 6.2 | 40.0 ± 0.0 / 10.0 ± 0.0 / '
        '25.0 ± 2.6 |')
    assert _table_row(lines, 'label baseline').startswith('| label baseline | 4 | 53.5 ± 1.7 | — |')
    assert _table_row(lines, 'label random').startswith('| label random | 2 | 50.0 ± 0.0 |')
    # per unseen category: chance beside it; u2 (11 vs chance 15) marked
    header = _table_row(lines, 'unseen category')
    assert header.split(' | ')[1:4] == ['split', 'chance', 'label prolab']
    assert _table_row(lines, 'u2').startswith('| u2 | A | 15.0 | 11.0 ± 1.4* |')
    assert _table_row(lines, 'u1').startswith('| u1 | A | 20.0 | 42.0 ± 2.8 |')
    # per split: over its seeds only
    assert '| label prolab | A | 2 | 51.0 ± 1.4 | 32.0 ± 2.8 | 26.0 ± 2.8 | 0.1 |' in lines
    assert '| label prolab | B | 2 | 55.0 ± 1.4 | 22.0 ± 2.8 | 24.0 ± 2.8 | 0.1 |' in lines
    assert 'chance zero-shot mIoU (uniform guess among the unseen, val): A 17.5, B 15.0' in lines


def test_targets_met_missed_and_not_measured(bench):
    lines = bench.targets(_handmade(), 'prolab')
    assert _table_row(lines, 'GZSL harmonic mean ≥ 25 (calibration from calib)') == \
        '| GZSL harmonic mean ≥ 25 (calibration from calib) | prolab GZSL H 25.0 (4 runs) | met |'
    assert _table_row(lines, 'zero-shot ≥ 50 % of the supervised upper bound').endswith(
        '| 27.0 / 55.0 = 49 % (4 runs) | MISSED |')
    assert _table_row(lines, 'zero-shot ≥ text-embedding + 10').endswith(
        '| 27.0 − 13.0 = +14.0 (4 runs) | met |')
    # random ran on split A only: compared on those runs (ProLab 32 there)
    assert _table_row(lines, 'zero-shot ≥ random descriptions + 10').endswith(
        '| 32.0 − 21.0 = +11.0 (2 runs) | met |')
    assert _table_row(lines, 'seen mIoU ≥ baseline − 1').endswith(
        '| 53.0 − 53.5 = -0.5 (4 runs) | met |')
    assert _table_row(lines, 'every unseen category above its chance level').endswith(
        '| 1 of 4 not above: u2 11.0 vs chance 15.0 | MISSED |')
    # the rows a target needs, when they were not run
    lines = bench.targets(_handmade(rows=('prolab',)), 'prolab')
    assert _table_row(lines, 'seen mIoU ≥ baseline − 1').endswith(
        '| not measured: needs rows baseline | — |')
    assert _table_row(lines, 'zero-shot ≥ 50 % of the supervised upper bound').endswith(
        '| not measured: needs rows supervised | — |')
    assert _table_row(lines, 'every unseen category above its chance level').endswith('| MISSED |')
    table = bench.main_table(_handmade(rows=('prolab',)))
    assert _table_row(table, 'label prolab').startswith('| label prolab | 4 | 53.0 ± 2.6 | missing |')
    assert 'seen − baseline: missing, row baseline was not run' in table
    assert 'not measured: needs rows prolab' in bench.targets(_handmade(rows=('baseline',)),
                                                              'prolab')[2]


def test_a_row_on_another_backbone_is_judged_against_the_rows_of_its_backbone(bench):
    # the default-backbone rows with other numbers beside the MobileNetV2 ones: not mixed in
    mnv2 = [dict(r, key=dict(r['key'], row=r['key']['row'] + '_mnv2'),
                 label=r['label'] + '_mnv2') for r in _handmade()]
    other = [dict(r, numbers=dict(r['numbers'], zs_mIoU=0.0, seen_mIoU=0.0))
             for r in _handmade()]
    ours, default = bench.targets(mnv2 + other, 'prolab_mnv2'), bench.targets(_handmade(), 'prolab')
    assert ours[2] == default[2].replace('prolab GZSL', 'prolab_mnv2 GZSL')
    assert ours[3:] == default[3:]
    assert _table_row(bench.main_table(mnv2 + other), 'label prolab_mnv2').startswith(
        '| label prolab_mnv2 | 4 | 53.0 ± 2.6 | -0.5 ± 1.3 |')
    only = bench.targets([r for r in mnv2 if r['key']['row'] == 'prolab_mnv2'], 'prolab_mnv2')
    assert _table_row(only, 'seen mIoU ≥ baseline − 1').endswith(
        '| not measured: needs rows baseline_mnv2 | — |')
    # the rows that read a ProLab checkpoint exist per backbone and read that backbone's row
    assert bench.ROWS['calib_chosen_mnv2'].needs == ('prolab_mnv2', )
    assert bench.ROWS['transductive_mnv2_frozen'].needs == ('prolab_mnv2_frozen', )
    assert bench.ROWS['featgen_mnv2'].needs == ('prolab_mnv2', )
    assert bench.ROWS['featgen'].needs == ('prolab', ) and bench.ROWS['featgen'].property_loss
    assert 'textemb_mnv2' in bench.ROWS and 'textemb_mnv2_frozen' not in bench.ROWS


def test_warning_tally_counts_instead_of_streaming(capsys):
    from mmengine.logging import MMLogger
    logger = MMLogger.get_instance('tally_test', log_level='INFO')
    tally = WarningTally()
    with tally.capture():
        for _ in range(3):
            warnings.warn('three times', UserWarning)
        warnings.warn('once', DeprecationWarning)
        logger.warning('logged twice')
        logger.warning('logged twice')
        logger.info('dropped')
        print('Loads checkpoint by local backend from path: /a/iter_2.pth')
        print('Loads checkpoint by local backend from path: /b/iter_2.pth')
        logger.error('an error still shows')
    captured = capsys.readouterr()
    assert captured.out == ''
    assert captured.err.strip() == 'mmengine ERROR: an error still shows'
    counts = dict(tally.counts)
    here = 'tests/test_bench_prolab.py:'
    assert [(k, v) for k, v in counts.items() if k.startswith('UserWarning')] == [
        (next(k for k in counts if 'three times' in k), 3)]
    assert here in next(k for k in counts if 'three times' in k)
    assert counts['mmengine WARNING: logged twice'] == 2
    assert counts['printed: Loads checkpoint by local backend from path: <path>'] == 2
    assert sum(counts.values()) == 3 + 1 + 2 + 2
    summary = tally.summary(top=2)
    assert summary[0] == 'warnings and library messages: 8 in all, 4 distinct; the 2 most ' \
        'frequent:'
    assert summary[1].endswith('x ' + next(k for k in counts if 'three times' in k))
    assert summary[-1] == '  ... 2 more distinct (3 in all)'
    # after the block: shown again as usual
    with pytest.warns(UserWarning, match='after'):
        warnings.warn('after', UserWarning)
    logger.warning('visible again')
    print('printed again')
    assert 'visible again' in capsys.readouterr().out


@pytest.mark.slow
def test_bench_prolab_end_to_end_and_resumed(property_world_root, tmp_path):
    """Two real rows (2 iterations each, no baseline asked: none run), then --resume."""
    from projects.property_world import experiments as ex
    out = tmp_path / 'rows.jsonl'
    cmd = [sys.executable, '-m', 'projects.property_world.benchmarks.bench_prolab', '--data-root',
           str(property_world_root), '--iters', '2', '-k', '8', '--work-dir',
           str(tmp_path / 'w'), '--out', str(out), '--rows', 'prolab', 'supervised']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = _lines(out)
    assert [r['key']['row'] for r in records] == ['prolab', 'supervised']
    unseen = ex.data_info(str(property_world_root)).unseen
    for r in records:
        n = r['numbers']
        assert set(n['zs_IoU']) == set(n['chance_IoU']) == set(unseen)
        assert 'hIoU' in n['gzsl'] and set(n['probe']) <= {'color', 'texture', 'shape'}
    assert records[1]['numbers']['gzsl']['calibration'] == 0.0
    report = Path(records[0]['numbers']['text']['report'])
    assert report.read_text().count('\n') == 8 + 2
    assert proc.stdout.count(': started ') == 2 and proc.stdout.count(': done in ') == 2
    assert '| ProLab (K=8) | 1 |' in proc.stdout and '| missing |' in proc.stdout
    assert 'not measured: needs rows baseline' in proc.stdout
    assert 'Loads checkpoint' not in proc.stdout
    assert len(proc.stderr.splitlines()) <= 10, proc.stderr  # a summary, not a stream
    assert 'warnings and library messages:' in proc.stderr

    again = subprocess.run(cmd + ['--resume'], capture_output=True, text=True, env=env,
                           cwd=REPO, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count(': reused from ') == 2 and ': started ' not in again.stdout
    assert _lines(out) == records
    table = lambda text: text[text.index('| method |'):text.index('targets of issue')]  # noqa
    assert table(again.stdout) == table(proc.stdout)


@pytest.mark.slow
def test_featgen_row_end_to_end(property_world_root, tmp_path):
    """The feature-generation row on a real (2-iteration) ProLab model: every candidate judged
    on calib, the chosen one's checkpoint evaluated with the same columns."""
    from projects.property_world import experiments as ex
    out = tmp_path / 'rows.jsonl'
    cmd = [sys.executable, '-m', 'projects.property_world.benchmarks.bench_prolab', '--data-root',
           str(property_world_root), '--iters', '2', '-k', '8', '--work-dir',
           str(tmp_path / 'w'), '--out', str(out), '--rows', 'prolab', 'featgen']
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=1200,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    n = _lines(out)[1]['numbers']
    what = lambda c: (c['generator'], c['loss'], c['share'])  # noqa: E731
    assert [what(c) for c in n['generation_calib']] == [(None, None, None)] + [
        (g, lo, sh) for g in ex.GENERATORS for lo in ex.REFIT_LOSSES for sh in ex.GENERATED_SHARES]
    chosen = [c for c in n['generation_calib']
              if what(c) == (n['generator'], n['refit_loss'], n['generated_share'])]
    assert len(chosen) == 1 and chosen[0]['checkpoint'] == n['checkpoint']
    best = max(max(c['calib_cv_hIoU'].values()) for c in n['generation_calib'])
    assert max(chosen[0]['calib_cv_hIoU'].values()) == best
    assert all(Path(c['checkpoint']).is_file() for c in n['generation_calib'])
    assert set(n['zs_IoU']) == set(ex.data_info(str(property_world_root)).unseen)
    assert {'hIoU', 'route', 'calib_cv_hIoU'} <= set(n['gzsl']) and 'seen_mIoU' in n


def test_settings_on_calib_compare_calib_numbers_on_the_runs_every_setting_has(bench):
    def rec(k, split, seed, calib_h, val_h, row='prolab', ce=None):
        r = _record(row, split, seed, SPLITS[split], gzsl=dict(calib_hIoU=calib_h, hIoU=val_h))
        r['key'].update(num_properties=k, iters=300, size=64, class_balance=True,
                        descriptions_sha256='d')
        if ce:
            r['key']['category_ce'] = ce
        return r
    # K=64 is better on calib where both ran (A 0, B 0); its val H is worse: val is not read;
    # the run only K=32 has (A 1) is left out
    records = [rec(32, 'A', 0, 10.0, 30.0), rec(32, 'B', 0, 12.0, 30.0), rec(32, 'A', 1, 50.0, 30.0),
               rec(64, 'A', 0, 14.0, 1.0), rec(64, 'B', 0, 14.0, 1.0)]
    assert bench.settings_on_calib(records)[2:] == [
        '| prolab, 64 px | K=32, 300 it | 2 runs | 11.0 |',
        '| prolab, 64 px | K=64, 300 it | 2 runs | 14.0 (best) |']
    assert bench.settings_on_calib(records[:3]) == []  # one setting: no table
    # the category-CE weight and the schedule are settings of their own
    records += [rec(32, 'A', 0, 16.0, 0.0, ce=0.5), rec(32, 'B', 0, 13.0, 0.0, ce=0.5)]
    assert bench.settings_on_calib(records)[-1] == \
        '| prolab, 64 px | K=32, 300 it, category CE 0.5 | 2 runs | 14.5 (best) |'
    longer = [rec(32, s, 0, 20.0, 0.0) for s in 'AB']
    for r in longer:
        r['key']['iters'] = 600
    assert bench.settings_on_calib(records + longer)[-1] == \
        '| prolab, 64 px | K=32, 600 it | 2 runs | 20.0 (best) |'


def test_category_ce_changes_the_property_rows_only(bench, property_world_root):
    """--category-ce enters the keys of the rows that train or read a PropertyHead (their
    earlier records stay valid without it) and adds the loss beside the cosine loss with the
    same class weights."""
    from projects.property_world import experiments as ex
    info = ex.data_info(str(property_world_root))
    args = bench.parse_args(['--data-root', str(property_world_root), '--category-ce', '0.5'])
    keys = {n: bench.row_key(n, info, 0, args, bench.ROWS[n].property_loss)
            for n in ('baseline', 'baseline_mnv2', 'prolab', 'prolab_mnv2', 'calib_chosen_mnv2',
                      'supervised', 'textemb_mnv2')}
    assert {n for n, k in keys.items() if k.get('category_ce') == 0.5} == set(keys) - {
        'baseline', 'baseline_mnv2'}
    plain = bench.parse_args(['--data-root', str(property_world_root)])
    assert 'category_ce' not in bench.row_key('prolab', info, 0, plain, True)
    opts = ex.category_ce_options(ex.space_options('space.npz', info), 0.5)
    cw = ex.class_weights(info)
    assert opts['model.auxiliary_head.loss_decode'] == [
        dict(type='CosineSimilarityLoss', loss_weight=0.4, class_weight=cw),
        dict(type='CategoryCrossEntropyLoss', loss_weight=0.2, class_weight=cw)]
    assert not any(k.endswith('class_weight') for k in opts)


def test_category_ce_options_build_a_model_with_both_losses(property_world_root, tmp_path):
    """The --cfg-options of --category-ce give the ProLab config's two heads both losses (the
    list replaces the config's single loss)."""
    import torch
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample

    from projects.property_world import experiments as ex
    info = ex.data_info(str(property_world_root))
    spaces = ex.attribute_space(str(tmp_path / 'spaces'), info)
    opts = ex.category_ce_options(dict(ex.schedule_options(info.root, 2),
                                       **ex.space_options(spaces['seen'], info)), 1.0)
    init_default_scope('mmseg')
    model = MODELS.build(ex.apis.load_config(ex.CONFIGS['prolab'], opts).model)
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.randint(0, len(info.seen), (1, 64, 64)))
    sample.set_metainfo(dict(img_shape=(64, 64), pad_shape=(64, 64)))
    losses = model.loss(torch.rand(1, 3, 64, 64), [sample])
    assert {'decode.loss_cos', 'decode.loss_category_ce', 'aux.loss_cos',
            'aux.loss_category_ce'} <= set(losses)
    assert all(torch.isfinite(v).all() for k, v in losses.items() if 'loss' in k)
