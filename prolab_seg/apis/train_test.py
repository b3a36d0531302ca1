"""Train/test entry points behind ``tools/train.py`` and ``tools/test.py`` (mmseg's, plus checks).

The flow is mmseg's own (``Config.fromfile`` -> ``Runner.from_cfg`` -> ``train()``/``test()``);
what we add are checks that fail *before* a run starts, naming the file at fault:
a checkpoint that is missing or cannot be read (``load_from``, ``--resume``'s last checkpoint,
``Pretrained`` init files), a ``work_dir`` that is a file, and -- for every tool that loads
trained weights to predict (``tools/test.py``, ``tools/segment.py``, ``tools/analyze_codes.py``)
-- a checkpoint that does not fit the model of the config (:func:`check_fits`: missing,
unexpected or differently shaped keys, e.g. the baseline's checkpoint with a ProLab config).
A run that fails before its first iteration (or, testing, before evaluating) leaves no log
folder behind.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import itertools
import os
import os.path as osp
import re
import shutil
from typing import Any, Callable, Iterator

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.runner import Runner, find_latest_checkpoint

from mmseg.registry import RUNNERS
from prolab_seg.errors import ProlabError

#: How many keys a checkpoint-fit error names per kind (missing, unexpected, shape).
_KEYS_SHOWN = 8
#: mmengine's log folder name (``Runner.timestamp``).
_LOG_DIR = re.compile(r'\d{8}_\d{6}')
_RUN_NUMBERS = itertools.count()

from prolab_seg.models.backbones.offline_weights import SCHEME, offline_weights_file


class CheckpointError(ProlabError, RuntimeError):
    """A checkpoint named by a config or CLI cannot be used."""


def load_config(path: str, cfg_options: dict | None = None, work_dir: str | None = None,
                launcher: str = 'none') -> Config:
    """Read a config file the mmseg way; work_dir: CLI > config > ``work_dirs/<config name>``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    if osp.isfile(cfg.work_dir):
        raise NotADirectoryError(f'work_dir {cfg.work_dir!r} is a file, not a directory')
    return cfg


def check_checkpoint(path: str, what: str = 'checkpoint') -> dict | None:
    """Raise :class:`CheckpointError` unless ``path`` is a readable torch checkpoint.

    ``offline://NAME``: the installed package file behind it must exist (None returned). Other
    URLs (``http(s)://``, ``open-mmlab://``) are left to mmengine (None).

    Returns:
        the loaded checkpoint of a local file (a dict; tensors on the CPU).
    """
    if path.startswith(SCHEME):
        try:
            offline_weights_file(path[len(SCHEME):])
        except (KeyError, FileNotFoundError) as e:
            raise CheckpointError(f'{what}: {e.args[0]}') from None
        return
    if '://' in path:
        return None
    if not osp.isfile(path):
        raise CheckpointError(f'{what} not found: {path}')
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # truncated zip, wrong format, disallowed pickle content
        raise CheckpointError(f'{what} {path} cannot be loaded ({_load_failure(e)}); it is '
                              'corrupted or not a torch checkpoint') from None
    if not isinstance(obj, dict):
        raise CheckpointError(f'{what} {path} holds a {type(obj).__name__}, not a state dict')
    return obj


def _state_dict(checkpoint: dict) -> dict:
    """The weights of a loaded checkpoint (``state_dict`` or the dict itself), without the
    ``module.`` prefix of a wrapped model (as mmengine's loader)."""
    state = checkpoint.get('state_dict', checkpoint)
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}


def _key_list(keys: list[str]) -> str:
    shown = ', '.join(keys[:_KEYS_SHOWN])
    return shown + (f' and {len(keys) - _KEYS_SHOWN} more' if len(keys) > _KEYS_SHOWN else '')


def check_fits(model: torch.nn.Module, checkpoint: dict, path: str) -> None:
    """Raise :class:`CheckpointError` unless the loaded ``checkpoint`` (read from ``path``)
    holds exactly the weights of ``model`` (or of the segmentor a TTA / DDP wrapper holds):
    the same keys, each with the same shape. Naming the missing, the unexpected and the
    differently shaped keys; a non-strict load would leave those layers random."""
    model = getattr(model, 'module', model)
    ours = model.state_dict()
    theirs = _state_dict(checkpoint)
    missing = sorted(ours.keys() - theirs.keys())
    unexpected = sorted(theirs.keys() - ours.keys())
    shapes = [f'{k} (checkpoint {tuple(theirs[k].shape)}, model {tuple(ours[k].shape)})'
              for k in sorted(ours.keys() & theirs.keys())
              if hasattr(theirs[k], 'shape') and tuple(theirs[k].shape) != tuple(ours[k].shape)]
    problems = [f'{what} {len(keys)} keys: {_key_list(keys)}' for what, keys in (
        ('missing', missing), ('unexpected', unexpected), ('differently shaped', shapes)) if keys]
    if problems:
        raise CheckpointError(
            f'checkpoint {path} does not fit the model of the config (trained with another '
            f'config, e.g. the baseline\'s for a ProLab one?): {"; ".join(problems)}')


def load_weights(model: torch.nn.Module, path: str) -> dict:
    """Load the checkpoint ``path`` into ``model`` strictly (:func:`check_checkpoint`,
    :func:`check_fits`, then ``load_state_dict(strict=True)``, which also refuses other property
    centroids); returns the checkpoint (its ``meta``)."""
    checkpoint = check_checkpoint(path)
    if checkpoint is None:
        raise CheckpointError(f'{path}: only local checkpoint files can be loaded here')
    check_fits(model, checkpoint, path)
    try:
        getattr(model, 'module', model).load_state_dict(_state_dict(checkpoint), strict=True)
    except RuntimeError as e:
        raise CheckpointError(f'checkpoint {path}: {e}') from None
    return checkpoint


def _load_failure(error: Exception) -> str:
    """The cause in torch's load error, without its advice to load with ``weights_only=False``
    (which would let the file run code)."""
    text = str(error)
    if 'WeightsUnpickler error:' in text:
        text = text.split('WeightsUnpickler error:', 1)[1]
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), '')
    kept = [s for s in re.split(r'(?<=[.;])\s+', line) if 'weights_only' not in s]
    return f'{type(error).__name__}: ' + ' '.join(kept)


def _pretrained_files(node: Any) -> Iterator[str]:
    """Every ``init_cfg=dict(type='Pretrained', checkpoint=...)`` path in a config tree."""
    if isinstance(node, (dict, ConfigDict)):
        if node.get('type') == 'Pretrained' and isinstance(node.get('checkpoint'), str):
            yield node['checkpoint']
        for v in node.values():
            yield from _pretrained_files(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _pretrained_files(v)


def check_run_inputs(cfg: Config) -> None:
    """Validate every checkpoint the run will read, before the runner is built."""
    for ckpt in _pretrained_files(cfg.get('model', {})):
        check_checkpoint(ckpt, 'pretrained weights (init_cfg)')
    if isinstance(cfg.get('model', {}).get('pretrained'), str):  # mmseg's model.pretrained=PATH
        check_checkpoint(cfg.model.pretrained, 'pretrained weights (model.pretrained)')
    if cfg.get('load_from'):
        check_checkpoint(cfg.load_from, 'load_from checkpoint')
    if cfg.get('resume') and not cfg.get('load_from'):
        ckpt = find_latest_checkpoint(cfg.work_dir)
        if ckpt:
            check_checkpoint(ckpt, f'checkpoint to resume (named in {cfg.work_dir}/last_checkpoint)')


def build_runner(cfg: Config) -> Runner:
    """mmengine's default runner, or ``cfg.runner_type`` from mmseg's registry.

    Each runner of a process gets a visualizer of its own: mmengine hands a runner the
    existing visualizer of the same name, and mmseg's configs name theirs ``'visualizer'``, so
    a second run in one process would write its visualisation data into the first run's log
    folder.
    """
    check_run_inputs(cfg)
    if isinstance(cfg.get('visualizer'), dict):
        cfg = copy.deepcopy(cfg)
        name = cfg.visualizer.get('name', 'visualizer')
        cfg.visualizer.name = f'{name}_{os.getpid()}_{next(_RUN_NUMBERS)}'
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


def train(cfg: Config, resume: bool = False, amp: bool = False) -> Runner:
    """Train as mmseg's ``tools/train.py`` does; returns the runner (its model is trained).

    A run that fails before finishing its first iteration (a missing or mismatched label
    space, a bad data root, ...) removes the log folder and config copy it created (and
    ``work_dir`` if it created it and left it empty).
    """
    cfg.resume = resume
    if amp:
        if cfg.optim_wrapper.get('type', 'OptimWrapper') != 'AmpOptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    runner = None
    with _log_dir_removed_on_failure(cfg, keep=lambda: runner is not None and runner.iter > 0):
        try:
            runner = build_runner(cfg)
            runner.train()
        finally:
            release_process_group()
    return runner


@contextlib.contextmanager
def _log_dir_removed_on_failure(cfg: Config, keep: Callable[[], bool]) -> Iterator[None]:
    """If the block raises and ``keep()`` is false, remove what the runner of ``cfg`` created
    in ``cfg.work_dir`` meanwhile: its log folder (``YYYYmmdd_HHMMSS``) and its copy of the
    config; then ``work_dir`` itself if the block created it and it is empty."""
    work_dir = cfg.work_dir
    dump = osp.basename(cfg.filename) if cfg.filename else None
    existed = osp.isdir(work_dir)
    before = set(os.listdir(work_dir)) if existed else set()
    try:
        yield
    except BaseException:
        if not keep() and osp.isdir(work_dir):
            for name in set(os.listdir(work_dir)) - before:
                path = osp.join(work_dir, name)
                if _LOG_DIR.fullmatch(name) and osp.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                elif name == dump and osp.isfile(path):
                    os.remove(path)
            if not existed and not os.listdir(work_dir):
                os.rmdir(work_dir)
        raise


def test(cfg: Config, checkpoint: str, out: str | None = None, show_dir: str | None = None,
         tta: bool = False) -> dict:
    """Evaluate ``checkpoint`` on the test set as mmseg's ``tools/test.py``; returns the metrics.

    Raises:
        CheckpointError: the checkpoint is missing, unreadable or does not fit the config's
            model (:func:`check_fits`), before anything is evaluated.
    """
    loaded = check_checkpoint(checkpoint)
    cfg.load_from = checkpoint
    if show_dir:
        hooks = cfg.get('default_hooks', {})
        if 'visualization' not in hooks:
            raise KeyError("--show-dir needs default_hooks.visualization in the config")
        hooks['visualization']['draw'] = True
        cfg.visualizer['save_dir'] = show_dir
    if tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if out is not None:
        cfg.test_evaluator['output_dir'] = out
        cfg.test_evaluator['keep_results'] = True
    testing = False
    with _log_dir_removed_on_failure(cfg, keep=lambda: testing):
        try:
            runner = build_runner(cfg)
            if loaded is not None:
                check_fits(runner.model, loaded, checkpoint)
            testing = True
            return runner.test()
        finally:
            release_process_group()


def release_process_group() -> None:
    """Destroy the process group a distributed run created: exiting with a live gloo group
    intermittently aborts the interpreter ('terminate called without an active exception').
    The barrier keeps rank 0, which hosts the rendezvous store, alive until every rank is done."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def set_local_rank(local_rank: int) -> None:
    """torchrun passes ``--local-rank``; mmengine reads ``LOCAL_RANK``."""
    os.environ.setdefault('LOCAL_RANK', str(local_rank))


def add_run_args(parser: argparse.ArgumentParser) -> None:
    """The flags tools/train.py and tools/test.py share with mmseg's: ``--cfg-options``,
    ``--launcher`` and ``--local-rank`` (passed by torchrun; see :func:`set_local_rank`)."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, xxx=yyy (mmengine DictAction syntax)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
