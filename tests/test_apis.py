"""Checkpoints a run reads are checked before anything is built or trained: missing,
corrupted and non-state-dict files name themselves; valid local pretrained weights load."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import prolab_seg  # noqa: F401
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from prolab_seg import apis

CONFIG = str(Path(__file__).resolve().parents[1] / 'projects' / 'property_world' / 'configs' /
             'baseline_fcn-r18-d8_300it_property-world-64x64.py')


def corrupted(tmp_path: Path) -> str:
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(1000)}}, good)
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(good.read_bytes()[:500])  # truncated mid-file, as after a killed copy
    return str(bad)


def test_check_checkpoint_errors_name_the_file(tmp_path):
    with pytest.raises(apis.CheckpointError, match='not found: .*missing.pth'):
        apis.check_checkpoint(str(tmp_path / 'missing.pth'))
    with pytest.raises(apis.CheckpointError, match='bad.pth cannot be loaded.*corrupted'):
        apis.check_checkpoint(corrupted(tmp_path))
    torch.save(torch.ones(3), tmp_path / 'tensor.pth')
    with pytest.raises(apis.CheckpointError, match='holds a Tensor, not a state dict'):
        apis.check_checkpoint(str(tmp_path / 'tensor.pth'))


@pytest.mark.parametrize('key, what', [
    ('load_from', 'load_from checkpoint'),
    ('model.pretrained', r'pretrained weights \(model.pretrained\)'),
    ('model.backbone.init_cfg', r'pretrained weights \(init_cfg\)'),
])
def test_corrupted_checkpoint_fails_before_training(tmp_path, key, what):
    bad = corrupted(tmp_path)
    value = dict(type='Pretrained', checkpoint=bad) if key.endswith('init_cfg') else bad
    cfg = apis.load_config(CONFIG, {key: value}, str(tmp_path / 'work'))
    with pytest.raises(apis.CheckpointError, match=what + '.*bad.pth'):
        apis.train(cfg)
    assert not (tmp_path / 'work').exists() or not list((tmp_path / 'work').rglob('*.pth'))


def test_corrupted_checkpoint_to_resume_and_to_test(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'last_checkpoint').write_text(corrupted(tmp_path))
    cfg = apis.load_config(CONFIG, None, str(work))
    with pytest.raises(apis.CheckpointError, match='resume.*last_checkpoint'):
        apis.train(cfg, resume=True)
    with pytest.raises(apis.CheckpointError, match='bad.pth cannot be loaded'):
        apis.test(apis.load_config(CONFIG, None, str(work)), str(tmp_path / 'bad.pth'))


def test_local_pretrained_weights_load_into_the_backbone(tmp_path):
    init_default_scope('mmseg')
    cfg = apis.load_config(CONFIG, None, str(tmp_path))
    torch.manual_seed(1)
    source = MODELS.build(cfg.model)
    path = tmp_path / 'backbone.pth'
    torch.save({'state_dict': source.backbone.state_dict()}, path)
    cfg = apis.load_config(CONFIG, {'model.pretrained': str(path)}, str(tmp_path))
    apis.check_run_inputs(cfg)
    torch.manual_seed(2)
    model = MODELS.build(cfg.model)
    model.init_weights()
    for name, value in source.backbone.state_dict().items():
        torch.testing.assert_close(model.backbone.state_dict()[name], value, msg=name)


@pytest.mark.parametrize('content', [b'this is a text file\n', bytes(range(256)) * 8])
def test_checkpoint_error_never_advises_weights_only_false(tmp_path, content):
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(content)
    with pytest.raises(apis.CheckpointError, match='bad.pth cannot be loaded') as e:
        apis.check_checkpoint(str(bad))
    assert 'weights_only' not in str(e.value) and len(str(e.value)) < 400
