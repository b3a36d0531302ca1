"""The unsupervised side of projects/property_world (configs/equss, configs/iic,
benchmarks/bench_unsupervised.py) stays on property-world v1 data, whatever the default spec is:
18 clusters = v1's 18 seen classes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from mmengine.config import Config

from prolab_seg.datasets.property_world import META_FORMAT
from projects.property_world.datasets import load_spec
from projects.property_world.datasets.spec import V1_SPEC

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'projects' / 'property_world' / 'configs'
V1_ROOT = 'data/property_world_v1'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
NUM_V1_SEEN = sum(c.seen for c in load_spec(V1_SPEC))
UNSUPERVISED = sorted((CONFIGS / 'equss').glob('*property*world*.py')) + sorted(
    (CONFIGS / 'iic').glob('*property*world*.py'))


def num_clusters(cfg: Config) -> int:
    """Main cluster count of an EQUSS (cluster probe) or IIC (main head) config."""
    if cfg.model.type == 'EQUSSSegmentor':
        return cfg.model.cluster_probe.num_clusters
    assert cfg.val_evaluator.num_clusters == cfg.model.decode_head.num_classes
    return cfg.model.decode_head.num_classes


def load_bench():
    from projects.property_world.benchmarks import bench_unsupervised
    return bench_unsupervised


def test_v1_dataset_base_points_every_loader_at_v1_data():
    cfg = Config.fromfile(str(CONFIGS / '_base_' / 'datasets' / 'property_world_v1.py'))
    base = Config.fromfile(str(CONFIGS / '_base_' / 'datasets' / 'property_world.py'))
    for key in LOADERS:
        assert cfg[key].dataset.data_root == V1_ROOT
        want = base[key].to_dict()
        want['dataset']['data_root'] = V1_ROOT
        assert cfg[key].to_dict() == want  # only the root differs from the default base


@pytest.mark.parametrize('path', UNSUPERVISED, ids=lambda p: p.name)
def test_unsupervised_configs_use_v1_data_and_its_seen_class_count(path):
    assert len(UNSUPERVISED) >= 2
    cfg = Config.fromfile(str(path))
    assert NUM_V1_SEEN == 18
    assert num_clusters(cfg) == NUM_V1_SEEN
    for key in LOADERS:
        assert cfg[key].dataset.data_root == V1_ROOT
        dataset = cfg[key].dataset  # the seen classes (by name or, with meta.json, by subset)
        assert dataset.get('class_subset') == 'seen' or tuple(
            dataset.metainfo.classes) == tuple(c.name for c in load_spec(V1_SPEC) if c.seen)


def test_bench_makes_v1_data_and_counts_its_seen_classes(tmp_path, capsys):
    bench = load_bench()
    assert bench.DEFAULT_DATA_ROOT == REPO / V1_ROOT
    root = tmp_path / 'pw'
    bench.main(['--data-root', str(root), '--num-train', '2', '--num-val', '2',
                '--methods', 'multi-level clustering (1 bg cluster, paper)', '--no-throughput'])
    meta = json.loads((root / 'meta.json').read_text())
    assert meta['seen'] == [c.name for c in load_spec(V1_SPEC) if c.seen]
    assert bench.seen_class_count(root) == NUM_V1_SEEN
    out = capsys.readouterr().out
    assert f'{NUM_V1_SEEN} classes' in out and 'multi-level clustering' in out
    cfg = bench.iic_config(root)
    assert all(cfg[key].dataset.data_root == str(root) for key in LOADERS)
    assert cfg.num_clusters == NUM_V1_SEEN


def test_bench_class_count_comes_from_meta_json(tmp_path):
    bench = load_bench()
    with pytest.raises(FileNotFoundError, match='meta.json'):
        bench.seen_class_count(tmp_path)
    meta = dict(format=META_FORMAT, classes=['a', 'b', 'c'], seen=['a', 'b'], unseen=['c'],
                palette=[[0, 0, 0]] * 3)
    (tmp_path / 'meta.json').write_text(json.dumps(meta))
    assert bench.seen_class_count(tmp_path) == 2
    (tmp_path / 'meta.json').write_text(json.dumps(dict(meta, seen='a')))
    with pytest.raises(ValueError, match="meta.json: field 'seen' must be a list"):
        bench.seen_class_count(tmp_path)


def test_bench_rows_on_the_pretrained_backbone(tmp_path, capsys):
    """Every row of the protocol runs on the frozen ImageNet MobileNetV2 (tiny run): its 320-d
    features at the filter bank's 16x16 resolution, IIC as a head on the frozen backbone."""
    import torch

    from prolab_seg.models.backbones import load_offline_weights
    bench = load_bench()
    root = tmp_path / 'pw'
    bench.main(['--data-root', str(root), '--num-train', '2', '--num-val', '2', '--iters', '1',
                '--backbone', 'mobilenet_v2', '--no-throughput'])
    table = capsys.readouterr().out
    rows = {line.split('|')[1].strip(): [c.strip() for c in line.split('|')[2:-1]]
            for line in table.splitlines() if line.startswith('| ') and 'method' not in line}
    assert set(rows) == set(bench.METHODS) - {'IIC (from scratch, main head)'}
    for name, cells in rows.items():
        assert 0 <= float(cells[0]) <= 1 and 0 <= float(cells[1]) <= 1, name
    assert rows['raw features + k-means'][4] == str(32 * 320)
    assert rows['EQUSS: expand D=1024 + PQ (M=32, K=32)'][4].startswith('160 (')
    model, _ = bench.train_iic(bench.BenchData(
        *bench.load_split(root, 'train'), *bench.load_split(root, 'val'), 18,
        None, iters=1, root=root, backbone_name='mobilenet_v2'), 0, frozen_backbone=True)
    imagenet = load_offline_weights('mobilenet_v2')
    mnv2 = model.backbone.backbone.state_dict()
    assert all(torch.equal(mnv2[k], v) for k, v in imagenet.items())  # loaded, not trained
    feats, ids = bench.iic_encode(model, bench.load_split(root, 'val')[0])
    assert feats.shape[-2:] == ids.shape[-2:] == (16, 16)


def test_input_adapter_normalises_resizes_and_returns_a_tuple():
    import torch
    import torch.nn.functional as F

    import prolab_seg  # noqa: F401
    from mmseg.registry import MODELS
    adapter = MODELS.build(dict(type='InputAdapter', scale_factor=2, mean=[1., 2., 3.],
                                std=[2., 2., 2.], backbone=dict(
                                    type='MobileNetV2', out_indices=(1, ))))
    x = torch.rand(1, 3, 32, 32) * 255
    (out, ) = adapter(x)
    norm = (x - torch.tensor([1., 2., 3.]).view(1, 3, 1, 1)) / 2
    want = adapter.backbone(F.interpolate(norm, scale_factor=2, mode='bilinear'))
    torch.testing.assert_close(out, want)
    with pytest.raises(ValueError, match='both mean and std'):
        MODELS.build(dict(type='InputAdapter', mean=[0., 0., 0.], backbone=dict(
            type='MobileNetV2')))
