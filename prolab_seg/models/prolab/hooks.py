"""``PropertySpaceCheckHook``: fail before the first iteration when the property space(s) in the
model do not match the dataset classes of the train / val / test dataloaders."""
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
