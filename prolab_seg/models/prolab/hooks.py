"""``PropertySpaceCheckHook``: fail before the first iteration when the property space(s) in the
model do not match the dataset classes of the train / val / test dataloaders.
``ResumeRNGHook``: bit-identical ``--resume`` (torch RNG state in checkpoints)."""
from __future__ import annotations

from mmengine.hooks import Hook

from mmseg.registry import HOOKS
from prolab_seg.properties.class_names import class_list_mismatch
from prolab_seg.properties.label_space import LabelSpaceError


def _property_heads(model):
    import torch.nn as nn

    from .head import PropertyHead
    model = getattr(model, 'module', model)
    heads = []
    for name in ('decode_head', 'auxiliary_head'):
        h = getattr(model, name, None)
        subs = list(h) if isinstance(h, nn.ModuleList) else [h]
        heads += [(name, sub) for sub in subs if isinstance(sub, PropertyHead)]
    return heads


def _dataset_classes(loader):
    ds = getattr(loader, 'dataset', None)
    meta = getattr(ds, 'metainfo', None) or {}
    classes = meta.get('classes')
    return None if classes is None else [str(c) for c in classes]


def _compare(kind, names, classes, source):
    mismatch = None if classes is None else class_list_mismatch(names, classes)
    if mismatch:
        raise LabelSpaceError(
            f'{kind} property space {source} ({len(names)} categories) does not match the '
            f'{len(classes)} dataset classes: {mismatch}. Rebuild the space from the dataset '
            'descriptions or set the dataset metainfo.classes.')


@HOOKS.register_module()
class PropertySpaceCheckHook(Hook):
    """Compare every PropertyHead's banks with the dataloaders' ``metainfo['classes']``.

    before_train: training banks (decode + auxiliary heads) vs train set, decode head's
    inference bank vs val set; before_val / before_test: inference bank vs val / test set.
    """

    priority = 'VERY_HIGH'

    def _check(self, runner, which):
        loop = getattr(runner, f'_{which}_loop', None)
        if loop is None or isinstance(loop, dict):  # not configured / not built yet
            return
        classes = _dataset_classes(loop.dataloader)
        for name, head in _property_heads(runner.model):
            if which == 'train':
                _compare('training', head.train_class_names, classes, head.train_source)
            elif name == 'decode_head':  # auxiliary heads are not used at inference
                _compare('inference', head.test_class_names, classes, head.test_source)

    def before_train(self, runner) -> None:
        self._check(runner, 'train')
        self._check(runner, 'val')

    def before_val(self, runner) -> None:
        self._check(runner, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, 'test')


def cpu_rng_state(state):
    """An RNG state as ``set_rng_state`` needs it: a CPU ``ByteTensor`` (a checkpoint loaded with
    a GPU ``map_location`` holds CUDA tensors)."""
    import torch
    return state.detach().to(device='cpu', dtype=torch.uint8)


def _rng_states() -> dict:
    import torch
    state = dict(torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_states(state: dict) -> None:
    import torch
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
