"""Property-world configs end to end: train through the tools' code path, zero-shot test on
unseen categories, clear errors, resume == uninterrupted, 2-process torchrun (gloo)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook

import prolab_seg  # noqa: F401
from mmseg.registry import HOOKS
from prolab_seg import apis
from prolab_seg.properties import PropertySpace
from projects.property_world.datasets import ALL_CLASSES, SEEN_CLASSES, UNSEEN_CLASSES
from test_equss_train import dumped_confusion

REPO = Path(__file__).resolve().parents[1]
PW = REPO / 'projects' / 'property_world' / 'configs'
PROLAB = str(PW / 'prolab_fcn-r18-d8_300it_property-world-64x64.py')
BASELINE = str(PW / 'baseline_fcn-r18-d8_300it_property-world-64x64.py')
UNSEEN = str(PW / 'prolab_fcn-r18-d8_300it_property-world-64x64_zeroshot-unseen.py')
ALL = str(PW / 'prolab_fcn-r18-d8_300it_property-world-64x64_zeroshot-all.py')


@pytest.fixture(scope='module')
def spaces(tmp_path_factory):
    """Synthetic seen (23) and seen+unseen (29, same centroids, as `assign` writes) spaces."""
    d = tmp_path_factory.mktemp('spaces')
    rng = np.random.default_rng(0)
    k, e = 12, 16
    cent = rng.normal(size=(k, e)).astype(np.float32)
    cent /= np.linalg.norm(cent, axis=1, keepdims=True)
    vec = (rng.random((len(ALL_CLASSES), k)) > 0.6).astype(np.float32)
    vec[:, 0] = 1
    seen = PropertySpace(list(SEEN_CLASSES), vec[:len(SEEN_CLASSES)], cent, {})
    full = PropertySpace(list(ALL_CLASSES), vec, cent, {})
    return dict(seen=str(seen.save(d / 'seen.npz')), all=str(full.save(d / 'all.npz')))


def options(root, work, spaces=None, iters=4, ckpt=2, **extra):
    o = {
        'train_dataloader.dataset.data_root': str(root),
        'val_dataloader.dataset.data_root': str(root),
        'test_dataloader.dataset.data_root': str(root),
        'train_dataloader.batch_size': 4,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'default_hooks.checkpoint.interval': ckpt,
        'default_hooks.logger.interval': 1,
        'param_scheduler': [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
                                 end=iters)],
    }
    if spaces is not None:
        o['model.decode_head.label_space'] = spaces['seen']
        o['model.auxiliary_head.label_space'] = spaces['seen']
    o.update(extra)
    return o


def evaluate_with_dump(cfg, ckpt: str, dump: Path) -> dict:
    """Test ``ckpt``; every sample's prediction and ground truth also go to ``dump`` (mmengine's
    ``DumpResults``)."""
    cfg.test_evaluator = [cfg.test_evaluator, dict(type='DumpResults', out_file_path=str(dump))]
    return apis.test(cfg, ckpt)


def dumped_iou(dump: Path, num_classes: int) -> np.ndarray:
    """Per-class IoU in percent recomputed from the dumped samples (NaN: no pixels)."""
    conf = dumped_confusion(dump, num_classes)
    tp = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - tp
    return np.where(union > 0, 100 * tp / np.maximum(union, 1), np.nan)


def test_prolab_trains_and_segments_unseen_categories(property_world_root, spaces, tmp_path):
    work = tmp_path / 'prolab'
    cfg = apis.load_config(PROLAB, options(property_world_root, work, spaces), str(work))
    runner = apis.train(cfg)
    hub = runner.message_hub
    assert np.isfinite(hub.get_scalar('train/decode.loss_cos').current())
    assert 'val/mIoU' in hub.log_scalars
    ckpt = str(work / 'iter_4.pth')
    # zero-shot: unseen-only bank (the 6 categories never trained), scored on their pixels only
    o = options(property_world_root, tmp_path / 't1', spaces)
    o['model.decode_head.test_label_space'] = spaces['all']
    cfg = apis.load_config(UNSEEN, o, str(tmp_path / 't1'))
    metrics = evaluate_with_dump(cfg, ckpt, tmp_path / 'unseen.pkl')
    iou = dumped_iou(tmp_path / 'unseen.pkl', len(UNSEEN_CLASSES))
    assert metrics['mIoU'] == pytest.approx(np.nanmean(iou), abs=0.006)  # rounded to 0.01
    # generalised: seen + unseen bank, 29 classes, GZSL metric
    cfg = apis.load_config(ALL, o, str(tmp_path / 't2'))
    metrics = evaluate_with_dump(cfg, ckpt, tmp_path / 'all.pkl')
    iou = dumped_iou(tmp_path / 'all.pkl', len(ALL_CLASSES))
    unseen = np.isin(ALL_CLASSES, UNSEEN_CLASSES)
    seen, new = np.nanmean(iou[~unseen]), np.nanmean(iou[unseen])
    expected = dict(mIoU=np.nanmean(iou), mIoU_seen=seen, mIoU_unseen=new,
                    hIoU=2 * seen * new / (seen + new))
    assert {k: metrics[k] for k in expected} == pytest.approx(expected, abs=0.006)


def test_baseline_trains(property_world_root, tmp_path):
    """Two iterations; the val mIoU the run logs is that of its checkpoint's predictions on the
    seen classes, recomputed from the dumped samples."""
    work = tmp_path / 'baseline'
    runner = apis.train(apis.load_config(BASELINE, options(property_world_root, work, iters=2),
                                         str(work)))
    hub = runner.message_hub
    assert np.isfinite(hub.get_scalar('train/decode.loss_ce').current())
    cfg = apis.load_config(BASELINE, options(property_world_root, tmp_path / 't'),
                           str(tmp_path / 't'))
    metrics = evaluate_with_dump(cfg, str(work / 'iter_2.pth'), tmp_path / 'seen.pkl')
    miou = np.nanmean(dumped_iou(tmp_path / 'seen.pkl', len(SEEN_CLASSES)))
    assert metrics['mIoU'] == pytest.approx(miou, abs=0.006)       # rounded to 0.01
    assert hub.get_scalar('val/mIoU').current() == pytest.approx(miou, abs=0.006)


def test_mismatched_space_fails_before_training(property_world_root, spaces, tmp_path):
    o = options(property_world_root, tmp_path, None)
    o['model.decode_head.label_space'] = spaces['all']  # 29 categories vs 23 dataset classes
    o['model.auxiliary_head.label_space'] = spaces['all']
    cfg = apis.load_config(PROLAB, o, str(tmp_path))
    with pytest.raises(ValueError, match='does not match the 23 dataset classes'):
        apis.train(cfg)
    assert not list(tmp_path.glob('iter_*.pth'))


def test_dataloader_build_error_is_not_swallowed(property_world_root, spaces, tmp_path):
    """PropertySpaceCheckHook reads only built loops: a broken val set fails with its own
    error, naming the folder."""
    missing = tmp_path / 'no_such_data'
    cfg = apis.load_config(PROLAB, options(property_world_root, tmp_path / 'w', spaces, **{
        'val_dataloader.dataset.data_root': str(missing)}), str(tmp_path / 'w'))
    with pytest.raises(FileNotFoundError, match='no_such_data'):
        apis.train(cfg)


@HOOKS.register_module(force=True)
class _KillAtIter(Hook):
    """Simulates a kill: raises before the given (0-based) iteration."""

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            raise KeyboardInterrupt('simulated kill')


def _weights(path):
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


def test_resume_after_kill_is_identical(property_world_root, spaces, tmp_path):
    def cfg_for(work, kill=None):
        cfg = apis.load_config(PROLAB, options(property_world_root, work, spaces, iters=6,
                                               ckpt=3), str(work))
        if kill is not None:
            cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='_KillAtIter', at=kill)]
        return cfg

    apis.train(cfg_for(tmp_path / 'a'))
    with pytest.raises(KeyboardInterrupt):
        apis.train(cfg_for(tmp_path / 'b', kill=4))  # dies in iteration 5, last ckpt = iter 3
    assert (tmp_path / 'b' / 'iter_3.pth').exists()
    assert not (tmp_path / 'b' / 'iter_6.pth').exists()
    apis.train(cfg_for(tmp_path / 'b'), resume=True)
    a, b = _weights(tmp_path / 'a' / 'iter_6.pth'), _weights(tmp_path / 'b' / 'iter_6.pth')
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_is_identical_when_checkpoint_and_validation_coincide(
        property_world_root, spaces, tmp_path):
    """mmseg's usual schedule: the resumed checkpoint was written at a validating iteration."""
    def cfg_for(work, kill=None):
        cfg = apis.load_config(PROLAB, options(property_world_root, work, spaces, iters=6,
                                               ckpt=3, **{'train_cfg.val_interval': 3}),
                               str(work))
        if kill is not None:
            cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='_KillAtIter', at=kill)]
        return cfg

    apis.train(cfg_for(tmp_path / 'a'))
    with pytest.raises(KeyboardInterrupt):
        apis.train(cfg_for(tmp_path / 'b', kill=4))  # validated at iter 3, then killed
    apis.train(cfg_for(tmp_path / 'b'), resume=True)
    a, b = _weights(tmp_path / 'a' / 'iter_6.pth'), _weights(tmp_path / 'b' / 'iter_6.pth')
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


def test_rng_states_from_a_device_checkpoint_are_restored_on_cpu(tmp_path, monkeypatch):
    """States loaded with a non-CPU map_location are not CPU ByteTensors (set_rng_state raised
    'RNG state must be a torch.ByteTensor' on a GPU); without CUDA the same path is exercised
    with states mapped to another tensor type, and a stand-in for CUDA's RNG."""
    from prolab_seg.engine.hooks import ResumeRNGHook
    stored = torch.get_rng_state()
    expected = torch.rand(3)
    torch.save({'rng_state': {'torch': stored, 'cuda': [stored, stored]}}, tmp_path / 'c.pth')
    ckpt = torch.load(tmp_path / 'c.pth', map_location='cpu', weights_only=True)
    state = ckpt['rng_state']
    state['torch'] = state['torch'].long()
    state['cuda'] = [t.long() for t in state['cuda']]
    got = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'set_rng_state_all', got.extend)
    hook = ResumeRNGHook()
    hook.after_load_checkpoint(None, ckpt)
    hook.before_train_iter(None, 0)
    assert torch.equal(torch.rand(3), expected)
    assert len(got) == 2 and all(t.dtype == torch.uint8 and t.device.type == 'cpu' and
                                 torch.equal(t, stored) for t in got)


@pytest.mark.slow
def test_torchrun_two_processes_gloo(property_world_root, spaces, tmp_path):
    work = tmp_path / 'ddp'
    o = options(property_world_root, work, spaces, iters=3, ckpt=3)
    o.pop('param_scheduler')
    args = [f'{k}={v}' for k, v in o.items()]
    torchrun = str(Path(sys.executable).with_name('torchrun'))
    # the repository root on the path: the config imports projects.property_world
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    import socket
    failures = []
    for attempt in range(2):  # one retry: rendezvous on a shared machine can fail transiently
        with socket.socket() as sock:  # a free port (other runs may share the machine)
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        proc = subprocess.run(
            [torchrun, '--nproc_per_node', '2', '--master_addr', '127.0.0.1', '--master_port',
             str(port), 'tools/train.py', PROLAB, '--launcher', 'pytorch', '--work-dir', str(work),
             '--cfg-options', *args], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=300)
        if proc.returncode == 0:
            break
        errors = [ln for ln in (proc.stdout + proc.stderr).splitlines()
                  if 'Error' in ln or 'terminate' in ln or 'exitcode' in ln]
        failures.append('\n'.join(errors[:20]) + '\n' + proc.stderr[-1500:])
    assert proc.returncode == 0, '\n\n'.join(failures)
    assert (work / 'iter_3.pth').exists()
    log = '\n'.join(p.read_text() for p in work.rglob('*.log'))
    assert 'Distributed training: True' in log and 'Iter(train) [1/3]' in log


# ------------------------------------------------------------- issue 18: tools, one line each
def _tool(name):
    """tools/<name>.py as a module."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'{name}_tool', REPO / 'tools' / f'{name}.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _cli_options(root, space=None):
    return ['--cfg-options', *(f'{k}={root}' for k in (
        'train_dataloader.dataset.data_root', 'val_dataloader.dataset.data_root',
        'test_dataloader.dataset.data_root')), *([] if space is None else [
            f'model.decode_head.label_space={space}',
            f'model.auxiliary_head.label_space={space}'])]


def _log_dirs(work: Path) -> list:
    return [p.name for p in work.iterdir()] if work.exists() else []


def test_checkpoint_of_another_model_is_refused(property_world_root, spaces, tmp_path, capsys):
    """The baseline's checkpoint with the ProLab config (and the reverse) would load
    non-strictly: random heads, plausible masks, rc 0. Refused by test and segment, naming
    the keys."""
    from mmengine.registry import init_default_scope

    from mmseg.registry import MODELS
    from prolab_seg import cli
    from prolab_seg.apis import load_segmentor
    init_default_scope('mmseg')
    opts = {BASELINE: options(property_world_root, tmp_path / 'w'),
            PROLAB: options(property_world_root, tmp_path / 'w', spaces)}
    ckpts = {}
    for config in (BASELINE, PROLAB):
        model = MODELS.build(apis.load_config(config, opts[config], str(tmp_path / 'w')).model)
        ckpts[config] = str(tmp_path / f'{Path(config).stem}.pth')
        torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpts[config])
    for config, ckpt, missing, unexpected in (
            (PROLAB, ckpts[BASELINE], 'head.conv_seg.centroids', 'auxiliary_head.conv_seg'),
            (BASELINE, ckpts[PROLAB], 'auxiliary_head.conv_seg', 'head.conv_seg.centroids')):
        o = opts[config]
        with pytest.raises(apis.CheckpointError, match=rf'{ckpt} does not fit the model of the '
                           rf'config.*missing \d+ keys: .*{missing}.*unexpected \d+ keys: '
                           rf'.*{unexpected}'):
            apis.test(apis.load_config(config, o, str(tmp_path / 't')), ckpt)
        assert _log_dirs(tmp_path / 't') == []          # nothing evaluated, no log folder
        with pytest.raises(apis.CheckpointError, match='does not fit'):
            load_segmentor(config, ckpt, cfg_options=o)
        argv = [config, ckpt, '--work-dir', str(tmp_path / 't'), *_cli_options(
            property_world_root, spaces['seen'] if config == PROLAB else None)]
        assert cli.run(_tool('test').main, argv) == 2
        err = capsys.readouterr().err
        assert err.startswith('test.py: error: checkpoint') and 'Traceback' not in err
    # the right checkpoint still loads and evaluates
    assert 'mIoU' in apis.test(apis.load_config(PROLAB, opts[PROLAB], str(tmp_path / 't')),
                               ckpts[PROLAB])


def test_train_user_errors_are_one_line_and_leave_no_log_folder(property_world_root, spaces,
                                                                tmp_path, capsys):
    from prolab_seg import cli
    from test_reliability_tools import bad_spaces
    train = _tool('train')
    (tmp_path / 'a_file').write_text('x')
    cases = [(str(tmp_path / 'absent.npz'), 'label space file not found'),
             (spaces['all'], 'does not match the 23 dataset classes'),
             *((str(p), problem) for p, problem in bad_spaces(tmp_path).items())]
    for i, (space, message) in enumerate(cases):
        work = tmp_path / f'w{i}'
        argv = [PROLAB, '--work-dir', str(work), *_cli_options(property_world_root, space)]
        assert cli.run(train.main, argv) == 2, space
        err = capsys.readouterr().err
        assert err.startswith('train.py: error: ') and message in err, err
        assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err
        assert _log_dirs(work) == [], space                     # no timestamped log folder
    work = tmp_path / 'a_file' / 'work'                         # cannot be created
    assert cli.run(train.main, [PROLAB, '--work-dir', str(work),
                                *_cli_options(property_world_root, spaces['seen'])]) == 2
    err = capsys.readouterr().err
    assert 'Not a directory' in err and 'a_file' in err and 'Traceback' not in err
    with pytest.raises(FileNotFoundError):                      # --debug: the traceback
        cli.run(train.main, [PROLAB, '--debug', '--work-dir', str(tmp_path / 'd'),
                             *_cli_options(property_world_root, str(tmp_path / 'absent.npz'))])


PRETRAINED = str(PW / 'prolab_fcn-mnv2-d8_300it_property-world-128x128.py')
FROZEN = str(PW / 'prolab_fcn-mnv2-d8-frozen_300it_property-world-128x128.py')


@pytest.mark.parametrize('config', [PRETRAINED, FROZEN], ids=['fine-tuned', 'frozen'])
def test_pretrained_prolab_config_trains(property_world_root, spaces, tmp_path, config):
    """The ImageNet MobileNetV2 property-world configs load the offline weights and train;
    fine-tuned moves the backbone a little (0.1x lr), frozen not at all."""
    from prolab_seg.models.backbones import load_offline_weights
    imagenet = load_offline_weights('mobilenet_v2')
    cfg = apis.load_config(config, options(property_world_root, tmp_path, spaces, iters=2),
                           str(tmp_path))
    runner = apis.train(cfg)
    assert np.isfinite(runner.message_hub.get_scalar('train/decode.loss_cos').current())
    backbone = runner.model.backbone.state_dict()
    moved = max((backbone[k].float() - v.float()).abs().max().item() for k, v in imagenet.items()
                if 'num_batches' not in k and 'running' not in k)
    if config == FROZEN:
        assert all(torch.equal(backbone[k], v) for k, v in imagenet.items())
    else:
        assert 0 < moved < 1e-2
