"""Train/test entry points behind ``tools/train.py`` and ``tools/test.py`` (mmseg's, plus checks).

The flow is mmseg's own (``Config.fromfile`` -> ``Runner.from_cfg`` -> ``train()``/``test()``);
what we add are checks that fail *before* a run starts, naming the file at fault:
a checkpoint that is missing or cannot be read (``load_from``, ``--resume``'s last checkpoint,
``Pretrained`` init files) and a ``work_dir`` that is a file.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import re
from typing import Any, Iterator

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.runner import Runner

from mmseg.registry import RUNNERS

from prolab_seg.models.backbones.offline_weights import SCHEME, offline_weights_file


class CheckpointError(RuntimeError):
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


def check_checkpoint(path: str, what: str = 'checkpoint') -> None:
    """Raise :class:`CheckpointError` unless ``path`` is a readable torch checkpoint.

    ``offline://NAME``: the installed package file behind it must exist. Other URLs
    (``http(s)://``, ``open-mmlab://``) are left to mmengine.
    """
    if path.startswith(SCHEME):
        try:
            offline_weights_file(path[len(SCHEME):])
        except (KeyError, FileNotFoundError) as e:
            raise CheckpointError(f'{what}: {e.args[0]}') from None
        return
    if '://' in path:
        return
    if not osp.isfile(path):
        raise CheckpointError(f'{what} not found: {path}')
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # truncated zip, wrong format, disallowed pickle content
        raise CheckpointError(f'{what} {path} cannot be loaded ({_load_failure(e)}); it is '
                              'corrupted or not a torch checkpoint') from None
    if not isinstance(obj, dict):
        raise CheckpointError(f'{what} {path} holds a {type(obj).__name__}, not a state dict')


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


def last_checkpoint(work_dir: str) -> str | None:
    """The checkpoint mmengine would resume from (``work_dir/last_checkpoint``), if any."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        return f.read().strip() or None


def check_run_inputs(cfg: Config) -> None:
    """Validate every checkpoint the run will read, before the runner is built."""
    for ckpt in _pretrained_files(cfg.get('model', {})):
        check_checkpoint(ckpt, 'pretrained weights (init_cfg)')
    if isinstance(cfg.get('model', {}).get('pretrained'), str):  # mmseg's model.pretrained=PATH
        check_checkpoint(cfg.model.pretrained, 'pretrained weights (model.pretrained)')
    if cfg.get('load_from'):
        check_checkpoint(cfg.load_from, 'load_from checkpoint')
    if cfg.get('resume') and not cfg.get('load_from'):
        ckpt = last_checkpoint(cfg.work_dir)
        if ckpt is not None:
            check_checkpoint(ckpt, f'checkpoint to resume (named in {cfg.work_dir}/last_checkpoint)')


def build_runner(cfg: Config) -> Runner:
    """mmengine's default runner, or ``cfg.runner_type`` from mmseg's registry."""
    check_run_inputs(cfg)
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


def train(cfg: Config, resume: bool = False, amp: bool = False) -> Runner:
    """Train as mmseg's ``tools/train.py`` does; returns the runner (its model is trained)."""
    cfg.resume = resume
    if amp:
        if cfg.optim_wrapper.get('type', 'OptimWrapper') != 'AmpOptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    runner = build_runner(cfg)
    try:
        runner.train()
    finally:
        release_process_group()
    return runner


def test(cfg: Config, checkpoint: str, out: str | None = None, show_dir: str | None = None,
         tta: bool = False) -> dict:
    """Evaluate ``checkpoint`` on the test set as mmseg's ``tools/test.py``; returns the metrics."""
    check_checkpoint(checkpoint)
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
    runner = build_runner(cfg)
    try:
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
