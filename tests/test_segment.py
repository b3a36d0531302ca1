"""prolab_seg.apis.inference: one forward pass per image through mmseg's whole / slide
inference (the prediction is test_step's, the property activations come from the same pass),
the summaries, the outputs and PropertySegLocalVisualizer."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from PIL import Image

import prolab_seg  # noqa: F401  (registers the head and the visualizer)
from mmseg.apis import init_model
from mmseg.registry import VISUALIZERS
from prolab_seg.image_maps import image_maps, mean_by_label
from prolab_seg.apis import (load_segmentor, predict, segment_images, summarize,
                                top_properties)
from prolab_seg.visualization import PropertySegLocalVisualizer

init_default_scope('mmseg')
K, E, C = 5, 8, 3
FCN = dict(type='FCNHead', in_channels=64, channels=8, num_convs=1, concat_input=False,
           dropout_ratio=0.0, norm_cfg=None)


def space(seed=0):
    """A property space whose property k is described by ``sentence k``."""
    rng = np.random.default_rng(seed)
    centroids = rng.normal(size=(K, E)).astype(np.float32)
    vectors = np.eye(C, K, dtype=np.float32) + (rng.random((C, K)) > 0.6)
    return dict(type='PropertySpace', class_names=[f'c{i}' for i in range(C)],
                vectors=vectors.clip(0, 1),
                centroids=centroids / np.linalg.norm(centroids, axis=1, keepdims=True),
                texts=[f'sentence {k}' for k in range(K)], text_class=np.arange(K) % C,
                text_cluster=np.arange(K), text_score=np.ones(K))


def config(prolab=True, test_cfg=dict(mode='whole'), size_divisor=None):
    head = dict(type='PropertyHead', head=FCN, label_space=space()) if prolab \
        else dict(FCN, num_classes=C)
    return Config(dict(
        default_scope='mmseg',
        model=dict(
            type='EncoderDecoder',
            data_preprocessor=dict(
                type='SegDataPreProcessor', mean=[100, 110, 120], std=[50, 50, 50],
                test_cfg=size_divisor and dict(size_divisor=size_divisor)),
            backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                          out_indices=(3, ), norm_cfg=dict(type='BN')),
            decode_head=head, test_cfg=test_cfg),
        test_pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                       dict(type='PackSegInputs')]))


def image(tmp_path, hw=(37, 50), seed=0):
    path = tmp_path / f'img{seed}.png'
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (*hw, 3), np.uint8)).save(path)
    return str(path)


def reference(model, path):
    """``model.test_step`` on ``path`` (as ``mmseg.apis.inference_model``)."""
    pipeline = Compose([t for t in model.cfg.test_pipeline if t['type'] != 'LoadAnnotations'])
    with torch.no_grad():
        return model.test_step(pseudo_collate([pipeline(dict(img_path=path))]))[0]


def counting(model):
    calls = []
    model.backbone.register_forward_hook(lambda *_: calls.append(1))
    return calls


@pytest.mark.parametrize('test_cfg,size_divisor', [
    (dict(mode='whole'), None),
    (dict(mode='whole'), 16),                                        # padded to 48 x 64
    (dict(mode='slide', crop_size=(24, 24), stride=(16, 16)), None),
    (dict(mode='slide', crop_size=(32, 32), stride=(20, 20)), 16)])
def test_prediction_is_test_steps_from_one_forward_pass(tmp_path, test_cfg, size_divisor):
    model = init_model(config(True, test_cfg, size_divisor), device='cpu')
    path = image(tmp_path)
    calls = counting(model)
    sample = predict(model, path)
    passes = len(calls)
    ref = reference(model, path)
    assert passes == len(calls) - passes  # no second backbone pass for the activations
    if test_cfg['mode'] == 'whole':
        assert passes == 1
    assert sample.pred_sem_seg.data.shape == (1, 37, 50)
    assert torch.equal(sample.pred_sem_seg.data, ref.pred_sem_seg.data)
    assert torch.allclose(image_maps(sample.class_maps), ref.seg_logits.data, atol=1e-6)
    act = image_maps(sample.property_activations)
    assert act.shape == (K, 37, 50) and 0 <= act.min() and act.max() <= 1
    assert not model.decode_head._with_activations and model.out_channels == C  # restored


def test_activations_are_the_heads_at_the_image_size(tmp_path):
    model = init_model(config(), device='cpu')
    path = image(tmp_path, hw=(32, 48))
    act = image_maps(predict(model, path).property_activations)
    rgb = np.asarray(Image.open(path))[..., ::-1].copy()  # BGR, as mmseg loads it
    batch = model.data_preprocessor(dict(inputs=[torch.from_numpy(rgb).permute(2, 0, 1)]), False)
    with torch.no_grad():
        ref = model.decode_head.property_activations(model.extract_feat(batch['inputs']))
    ref = F.interpolate(ref, size=(32, 48), mode='bilinear', align_corners=False)[0]
    assert torch.allclose(act, ref, atol=1e-5)


def test_category_supervised_model_gets_test_step_and_masks_only(tmp_path):
    model = init_model(config(prolab=False), device='cpu')
    model.dataset_meta = dict(classes=('a', 'b', 'c'))
    path = image(tmp_path)
    sample = predict(model, path)
    assert 'property_activations' not in sample
    assert torch.equal(sample.pred_sem_seg.data, reference(model, path).pred_sem_seg.data)
    (summary, ) = segment_images(model, [path], str(tmp_path / 'out'))
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
        'img0.json', 'img0_labels.png', 'img0_mask.png']
    assert all(set(v) == {'pixel_share'} for v in summary['categories'].values())
    cfg_path = tmp_path / 'cfg.py'
    config(prolab=False).dump(str(cfg_path))
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), tmp_path / 'ckpt.pth')
    with pytest.raises(ValueError, match='need a ProLab'):
        load_segmentor(str(cfg_path), str(tmp_path / 'ckpt.pth'), classes=['a'])


def test_summaries_and_outputs(tmp_path):
    model = init_model(config(), device='cpu')
    model.dataset_meta = dict(classes=('c0', 'c1', 'c2'))
    paths = [image(tmp_path, seed=s) for s in (0, 1)]
    out = tmp_path / 'out'
    summaries = segment_images(model, paths, str(out), top_k=2)
    for path, summary in zip(paths, summaries):
        sample = predict(model, path)
        assert summary == json.loads((out / f'{Path(path).stem}.json').read_text())
        assert summary['name'] == Path(path).stem
        assert summary['categories'] == summarize(sample, ['c0', 'c1', 'c2'])
        pred = sample.pred_sem_seg.data[0]
        labels = np.asarray(Image.open(out / f'{Path(path).stem}_labels.png'))
        assert np.array_equal(labels, pred.numpy())
        shares = {c: round(float((pred == i).float().mean()), 4)
                  for i, c in enumerate(('c0', 'c1', 'c2')) if (pred == i).any()}
        assert {c: v['pixel_share'] for c, v in summary['categories'].items()} == shares
        assert list(summary['categories']) == sorted(shares, key=lambda c: -shares[c])
        act = image_maps(sample.property_activations).double()
        for c, v in summary['categories'].items():
            mean = act[:, pred == int(c[1])].mean(1)
            top = torch.argsort(-mean)[:5].tolist()
            assert [(p['property'], p['name']) for p in v['top_properties']] == \
                [(k, f'p{k}: sentence {k}') for k in top]
            assert [p['activation'] for p in v['top_properties']] == pytest.approx(
                [round(float(mean[k]), 3) for k in top], abs=1e-3)
        assert (out / f'{Path(path).stem}_properties.png').is_file()


def test_mean_by_label_and_top_properties():
    from mmengine.structures import PixelData
    act = torch.zeros(3, 2, 2)
    act[1, 0] = 1.0
    act[2] = 0.5
    labels = torch.tensor([[0, 0], [1, 255]])  # 255: left out
    means = mean_by_label(PixelData(data=act), labels, 3)
    assert torch.allclose(means[:2], torch.tensor([[0, 1, 0.5], [0, 0, 0.5]]))
    assert means[2].isnan().all()                          # label 2 has no pixel
    assert top_properties(means[0], 2) == [(1, 1.0), (2, 0.5)]
    assert top_properties(means[1], 1) == [(2, 0.5)]


def test_visualizer_is_registered_and_falls_back_to_mmsegs_drawing(tmp_path):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    vis = VISUALIZERS.build(dict(type='PropertySegLocalVisualizer', name='test_vis', top_k=1))
    assert isinstance(vis, PropertySegLocalVisualizer)
    vis.set_dataset_meta(['a', 'b'], [[255, 0, 0], [0, 0, 255]])
    img = np.full((20, 30, 3), 128, np.uint8)
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=torch.zeros(1, 20, 30, dtype=torch.long))
    vis.add_datasample('plain', img, sample, out_file=str(tmp_path / 'plain.png'))
    assert np.asarray(Image.open(tmp_path / 'plain.png')).shape == (20, 30, 3)  # mmseg's
    sample.gt_sem_seg = PixelData(data=torch.ones(1, 20, 30, dtype=torch.long))
    sample.property_activations = PixelData(data=torch.rand(2, 20, 30),
                                            metainfo=dict(property_names=['p0: red', 'p1: round']))
    vis.add_datasample('props', img, sample, out_file=str(tmp_path / 'props.png'))
    assert vis.layout['panels'] == ['input', 'ground truth', 'prediction']
    assert vis.layout['legend'] == ['a', 'b'] and len(vis.layout['properties']) == 1


def overlapping(boxes: dict) -> list:
    """Pairs of ``(x0, y0, x1, y1)`` boxes that intersect."""
    names = sorted(boxes)
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
            if min(boxes[a][2], boxes[b][2]) > max(boxes[a][0], boxes[b][0])
            and min(boxes[a][3], boxes[b][3]) > max(boxes[a][1], boxes[b][1])]


def test_property_picture_layout(tmp_path):
    """Legend beside the images, named categories of ground truth and prediction, maps on one
    colour scale, no two elements overlapping, nothing outside the picture."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    names = [f'p{k}: a property described by a long sentence, number {k}, that wraps onto three '
             'lines of its title' for k in range(8)]
    classes = ['sky', 'checkered tablecloth', 'tiger', 'unused']
    vis = PropertySegLocalVisualizer(name='layout_vis', top_k=4)
    vis.set_dataset_meta(classes, [[0, 0, 255], [255, 0, 0], [0, 255, 0], [9, 9, 9]])
    pred = torch.zeros(1, 40, 60, dtype=torch.long)
    pred[:, 10:30, 5:25] = 1
    pred[:, 20:, 40:] = 2
    gt = pred.clone()
    gt[:, :5] = 255  # ignored pixels
    act = torch.rand(8, 40, 60, generator=torch.Generator().manual_seed(0)) * 0.2
    act[3] += 2.0 * (pred[0] == 1)  # a map reaching 2.2
    act[5] += 0.3 * (pred[0] == 2)
    sample = SegDataSample()
    sample.pred_sem_seg, sample.gt_sem_seg = PixelData(data=pred), PixelData(data=gt)
    sample.property_activations = PixelData(data=act, metainfo=dict(property_names=names))
    picture = vis.draw_properties(np.full((40, 60, 3), 128, np.uint8), sample)
    layout = vis.layout
    assert layout['panels'] == ['input', 'ground truth', 'prediction']
    assert layout['legend'] == ['sky', 'checkered tablecloth', 'tiger']
    assert len(layout['properties']) == 4 and {3, 5} <= set(layout['properties'])
    shown = act[layout['properties']]
    assert layout['clims'] == [(float(shown.min()), float(shown.max()))] * 4  # one scale
    boxes = layout['boxes']
    assert overlapping(boxes) == []
    h, w = picture.shape[:2]
    assert all(0 <= x0 and 0 <= y0 and x1 <= w and y1 <= h for x0, y0, x1, y1 in boxes.values())
    images = [b for k, b in boxes.items() if k.startswith('image:')]
    assert boxes['legend'][0] > max(b[2] for b in images)  # right of every image panel
    assert boxes['colorbar'][0] > max(b[2] for k, b in boxes.items() if k.startswith('map:'))
    assert sum(k == 'colorbar' for k in boxes) == 1 and len(images) == 3


def test_property_picture_of_a_large_image_at_panel_size():
    """Maps at model resolution (a ``resize`` plan, as :func:`predict` gives them) and a large
    image are drawn at most ``panel_size`` pixels a side; the legend still names a category of
    a few pixels that the scaled-down prediction loses."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    vis = PropertySegLocalVisualizer(name='large_vis', top_k=2, panel_size=64)
    vis.set_dataset_meta(['a', 'b', 'c'], [[255, 0, 0], [0, 0, 255], [0, 255, 0]])
    pred = torch.zeros(1, 600, 900, dtype=torch.long)
    pred[:, :, 450:] = 1
    pred[:, 1, 1] = 2  # one pixel
    act = torch.zeros(3, 19, 29)  # the model's resolution (stride 32)
    act[0, :, 15:] = 1.0
    plan = dict(pre_size=None, pre_align=False, padding=[0] * 4, flip=None, size=(600, 900),
                align_corners=False)
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=pred)
    sample.property_activations = PixelData(
        data=act, metainfo=dict(resize=plan, property_names=['p0', 'p1', 'p2']))
    vis.draw_properties(np.full((600, 900, 3), 128, np.uint8), sample)
    assert vis.layout['sizes'] == [(43, 64)] * 3  # input, prediction, one distinctive map
    assert vis.layout['legend'] == ['a', 'b', 'c'] and vis.layout['properties'] == [0]


def test_distinctive_properties_by_turns():
    from prolab_seg.visualization.local_visualizer import distinctive_properties
    seg = np.array([[0, 0, 0, 1]])
    act = np.array([[[0.9, 0.9, 0.9, 0.1]],    # p0: +0.8 on category 0
                    [[0.1, 0.1, 0.1, 0.8]],    # p1: +0.7 on category 1
                    [[0.5, 0.5, 0.5, 0.1]],    # p2: +0.4 on category 0
                    [[0.2, 0.2, 0.2, 0.2]],    # p3: never higher on a category
                    [[0.0, 0.0, 0.0, 0.3]]])   # p4: +0.3 on category 1
    picks = distinctive_properties(act, seg, 4)
    assert [(k, c) for k, c, *_ in picks] == [(0, 0), (1, 1), (2, 0), (4, 1)]
    assert picks[0][2:] == pytest.approx((0.9, 0.1))
    assert [k for k, *_ in distinctive_properties(act, seg, 10)] == [0, 1, 2, 4]  # not p3
    whole = distinctive_properties(act, np.zeros_like(seg), 2)  # one category: by its mean
    assert [k for k, *_ in whole] == [0, 2] and np.isnan(whole[0][3])


def test_ground_truth_drawn_from_ann_dir(tmp_path, monkeypatch):
    model = init_model(config(), device='cpu')
    model.dataset_meta = dict(classes=('c0', 'c1', 'c2'))
    path = image(tmp_path)
    layouts = []
    draw = PropertySegLocalVisualizer.draw_properties

    def recording(self, *args, **kwargs):
        out = draw(self, *args, **kwargs)
        layouts.append(self.layout)
        return out
    monkeypatch.setattr(PropertySegLocalVisualizer, 'draw_properties', recording)
    segment_images(model, [path], str(tmp_path / 'plain'))
    assert layouts[-1]['panels'] == ['input', 'prediction']
    ann = tmp_path / 'ann'
    ann.mkdir()
    label = np.zeros((37, 50), np.uint8)
    label[:, 30:] = 2
    label[0] = 255
    Image.fromarray(label).save(ann / 'img0.png')
    segment_images(model, [path], str(tmp_path / 'gt'), ann_dir=str(ann))
    assert layouts[-1]['panels'] == ['input', 'ground truth', 'prediction']
    assert {'c0', 'c2'} <= set(layouts[-1]['legend'])
    for bad, match in ((np.zeros((5, 5), np.uint8), r'label map is \(5, 5\), the image '
                                                    r'\(37, 50\)'),
                       (np.full((37, 50), 3, np.uint8), 'label values up to 3, the model has 3')):
        Image.fromarray(bad).save(ann / 'img0.png')
        with pytest.raises(ValueError, match=match):
            segment_images(model, [path], str(tmp_path / 'bad'), ann_dir=str(ann))
    with pytest.raises(FileNotFoundError, match='nowhere'):
        segment_images(model, [path], str(tmp_path / 'none'), ann_dir=str(tmp_path / 'nowhere'))
    assert not (tmp_path / 'none').exists()


def test_experiment_features_come_from_predict(tmp_path):
    """projects/property_world: the probe's features and the demo's fired properties are
    :func:`predict`'s activations (a category model: its class scores)."""
    from projects.property_world.experiments import (DataInfo, fired_properties,
                                                     label_res_features)
    model = init_model(config(), device='cpu')
    path = image(tmp_path)
    label = np.zeros((37, 50), np.uint8)
    label[:, 25:] = 2
    (tmp_path / 'ann_dir' / 'val').mkdir(parents=True)
    Image.fromarray(label).save(tmp_path / 'ann_dir' / 'val' / Path(path).name)
    info = DataInfo(str(tmp_path), ['c0', 'c1', 'c2'], ['c0', 'c1'], ['c2'], {}, {})
    act = image_maps(predict(model, path).property_activations)
    assert torch.equal(label_res_features(model, path), act)
    means = act[:, torch.from_numpy(label == 2)].double().mean(1)
    fired = fired_properties(model, info, path, 'c2', top=2)
    assert [name for name, _ in fired] == [f'p{k}: sentence {k}' for k, _ in
                                           top_properties(means, 2)]
    assert [a for _, a in fired] == pytest.approx([a for _, a in top_properties(means, 2)])
    category = init_model(config(prolab=False), device='cpu')
    assert label_res_features(category, path).shape == (C, 37, 50)


# ------------------------------------------------------------- issue 18: inputs and outputs
def _model():
    model = init_model(config(), device='cpu')
    model.dataset_meta = dict(classes=('c0', 'c1', 'c2'))
    return model


def test_one_pixel_image_gets_all_four_outputs(tmp_path):
    """mmseg's drawing indexed its mask with a one-element tensor (an integer index) and
    failed after three of the four files were written."""
    path = image(tmp_path, hw=(1, 1))
    (summary, ) = segment_images(_model(), [path], str(tmp_path / 'out'))
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
        'img0.json', 'img0_labels.png', 'img0_mask.png', 'img0_properties.png']
    assert sum(v['pixel_share'] for v in summary['categories'].values()) == 1


def test_folders_and_same_names_in_different_folders(tmp_path):
    for folder, seed in (('a', 0), ('b', 1), ('b', 2)):
        (tmp_path / folder).mkdir(exist_ok=True)
        Image.open(image(tmp_path, seed=seed)).save(tmp_path / folder / f'img{seed % 2}.png')
    (tmp_path / 'b' / 'notes.txt').write_text('not an image')
    out = tmp_path / 'out'
    summaries = segment_images(_model(), [str(tmp_path / 'a'), str(tmp_path / 'b')], str(out))
    assert [s['name'] for s in summaries] == ['a__img0', 'b__img0', 'img1']
    assert [Path(s['image']).relative_to(tmp_path).as_posix() for s in summaries] == [
        'a/img0.png', 'b/img0.png', 'b/img1.png']
    assert len(list(out.iterdir())) == 3 * 4            # nothing overwritten
    for name, folder in (('a__img0', 'a'), ('b__img0', 'b')):  # each its own image's result
        assert json.loads((out / f'{name}.json').read_text())['image'] == str(
            tmp_path / folder / 'img0.png')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no image files .* in folder .*empty'):
        segment_images(_model(), [str(tmp_path / 'empty')], str(out))


def test_outputs_never_replace_an_input(tmp_path):
    from prolab_seg.properties.files import OutputPathError
    img = image(tmp_path)
    named_like_output = Path(img).with_name('img0_mask.png')
    named_like_output.write_bytes(Path(img).read_bytes())     # an input named like an output
    before = named_like_output.read_bytes()
    with pytest.raises(OutputPathError, match='img0_mask.png: it would replace .*img0_mask.png'):
        segment_images(_model(), [img, str(named_like_output)], str(tmp_path))
    with pytest.raises(OutputPathError, match='refusing to write into the image folder'):
        segment_images(_model(), [str(tmp_path)], str(tmp_path))
    assert named_like_output.read_bytes() == before and not (tmp_path / 'img0.json').exists()


def test_tiles_are_stitched_where_they_belong():
    """With context covering the whole image every tile sees what one pass sees, so the
    stitched maps must be the whole pass's maps, at every offset."""
    from prolab_seg.apis.inference import _head_maps, _whole_maps
    model = _model()
    x = torch.randn(1, 3, 100, 150)
    with torch.no_grad():
        whole = _head_maps(model, x)
        tiled = _whole_maps(model, x, tile_size=32, tile_margin=512)
    assert tiled.shape == whole.shape and torch.allclose(tiled, whole, atol=1e-5)


def test_tiled_and_channel_by_channel_predictions_agree(tmp_path, monkeypatch):
    import prolab_seg.image_maps as image_maps_module
    model = _model()
    path = image(tmp_path, hw=(70, 90))
    whole = predict(model, path, tile_size=0)
    tiled = predict(model, path, tile_size=32, tile_margin=256)
    assert torch.equal(tiled.pred_sem_seg.data, whole.pred_sem_seg.data)
    monkeypatch.setattr(image_maps_module, 'MAP_BUDGET', 1)  # one channel at a time
    grouped = predict(model, path, tile_size=0)
    assert torch.equal(grouped.pred_sem_seg.data, whole.pred_sem_seg.data)
    classes = ['c0', 'c1', 'c2']
    assert summarize(grouped, classes) == summarize(whole, classes)
    pred = whole.pred_sem_seg.data[0]
    assert torch.allclose(mean_by_label(grouped.property_activations, pred, 3),
                          mean_by_label(whole.property_activations, pred, 3), atol=1e-6,
                          equal_nan=True)
    # on maps with many winners: channel by channel == argmax of all channels at once
    from mmengine.structures import PixelData
    from prolab_seg.image_maps import argmax_labels, image_maps, resize_plan
    plan = resize_plan(dict(ori_shape=(41, 57), padding_size=[0, 3, 0, 2]), (24, 32), False,
                       False)
    maps = PixelData(data=torch.randn(6, 6, 8), metainfo=dict(resize=plan))
    full = image_maps(maps)
    assert full.shape == (6, 41, 57)
    assert torch.equal(argmax_labels(maps), full.argmax(0, keepdim=True))
    assert len(torch.unique(full.argmax(0))) == 6


def test_segment_tool_errors_are_one_line(tmp_path, capsys):
    from prolab_seg import cli
    from prolab_seg.apis import CheckpointError
    from test_prolab import _segment_setup
    tool, (cfg, ckpt), _ = _segment_setup(tmp_path)
    img = image(tmp_path)
    missing = str(tmp_path / 'missing.pth')
    assert cli.run(tool.main, [cfg, missing, img], ValueError) == 2
    err = capsys.readouterr().err
    assert err == f'segment.py: error: checkpoint not found: {missing}\n'
    with pytest.raises(CheckpointError):
        cli.run(tool.main, [cfg, missing, img, '--debug'], ValueError)
    assert cli.run(tool.main, [cfg, ckpt, img, '--categories', str(tmp_path / 'cfg.py'),
                               '--out-dir', str(tmp_path / 'o')], ValueError) == 2
    err = capsys.readouterr().err
    assert 'cfg.py: not a label-space .npz file' in err and 'Traceback' not in err


@pytest.mark.slow
def test_large_image_peak_memory(tmp_path):
    """A 4000 x 4000 image through the tool's path with C=29 categories and K=32 properties:
    the old post-processing held the (C + K)-channel maps at full resolution three times
    (9.7 GB); now under 2 GB peak RSS (the process, imports included; about 1.1 GB here)."""
    import re
    import subprocess
    import sys
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(repo / 'benchmarks' / 'bench_segment_memory.py'),
                           '--size', '4000'], capture_output=True, text=True, timeout=1200,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    peak = int(re.search(r'peak RSS (\d+) MiB', proc.stdout).group(1))
    assert peak < 2048, proc.stdout
    assert 'large_properties.png' in proc.stdout


def test_output_names_are_distinct_and_readable(tmp_path):
    from prolab_seg.apis.inference import list_images, output_names
    assert output_names(['a/x.png', 'b/x.png', 'c/y.png']) == ['a__x', 'b__x', 'y']
    assert output_names(['a/x.png', 'a/x.jpg', 'z.png']) == ['a__x_png', 'a__x_jpg', 'z']
    names = output_names(['a__x.png', 'a/x.png', 'b/x.png'])
    assert len(set(names)) == 3 and names[2] == 'b__x'
    path = image(tmp_path)
    assert list_images([path, str(Path(path).parent / '.' / Path(path).name)]) == [path]
