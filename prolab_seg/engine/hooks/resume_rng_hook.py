"""``ResumeRNGHook``: bit-identical ``--resume`` (torch RNG state in checkpoints)."""
from __future__ import annotations

import torch
from mmengine.hooks import Hook

from mmseg.registry import HOOKS


def cpu_rng_state(state):
    """An RNG state as ``set_rng_state`` needs it: a CPU ``ByteTensor`` (a checkpoint loaded with
    a GPU ``map_location`` holds CUDA tensors)."""
    return state.detach().to(device='cpu', dtype=torch.uint8)


def _rng_states() -> dict:
    state = dict(torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_states(state: dict) -> None:
    torch.set_rng_state(cpu_rng_state(state['torch']))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([cpu_rng_state(s) for s in state['cuda']])


@HOOKS.register_module()
class ResumeRNGHook(Hook):
    """Make ``--resume`` bit-identical to an uninterrupted run (single process).

    mmengine's resume restores weights, optimizer, schedulers and the iteration, and replays the
    dataloader up to that iteration (so sampler order and the pipeline's numpy randomness follow
    the same sequence), but it does not restore torch's global RNG, which dropout consumes in
    every forward pass that the replay skips. This hook stores the torch (and CUDA) RNG state in
    each checkpoint and restores it just before the first resumed iteration. Validation runs
    with its own copy of the RNG (restored after it), so a checkpoint written at an iteration
    that also validates holds the state the next training iteration sees. (numpy / python RNG
    states are deliberately *not* restored: the dataloader replay already reproduces them.)
    """

    priority = 'VERY_LOW'

    def __init__(self):
        self._pending = None
        self._before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = _rng_states()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get('rng_state')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._pending is not None:
            _set_rng_states(self._pending)
            self._pending = None

    def before_val(self, runner) -> None:
        self._before_val = _rng_states()

    def after_val(self, runner) -> None:
        _set_rng_states(self._before_val)
