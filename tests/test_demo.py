"""tools/demo.py end to end at 2 iterations on the tiny property-world (the real run: 300)."""
import math

from projects.property_world import experiments as ex
from projects.property_world.demo import run_demo


def test_demo_runs_every_stage(property_world_root, tmp_path, capsys):
    work = tmp_path / 'demo'
    out = run_demo(str(work), str(property_world_root), iters=2, num_properties=8,
                   calibrations=(0.0, 0.3))
    info = ex.data_info(str(property_world_root))
    for name in ('baseline', 'prolab'):
        assert math.isfinite(out[name]['seen_mIoU']) and math.isfinite(out[name]['s_iter'])
    p = out['prolab']
    assert set(p['zs_IoU']) == set(info.unseen) and 'zs_mIoU' not in out['baseline']
    # the GZSL calibration is one of the swept values, chosen on calib
    assert p['gzsl']['calibration'] in (0.0, 0.3) and 'calib_hIoU' in p['gzsl']
    assert out['chance_unseen_mIoU'] == ex.chance_unseen_miou(info)
    # step 5 loads the trained ProLab model from the demo's own spaces (not data/property_spaces)
    assert list((work / 'segment').glob('*_properties.png'))
    printed = capsys.readouterr().out
    assert '| ProLab (K=8 properties) |' in printed and '[5/5]' in printed
    assert f'seen mIoU ({len(info.seen)})' in printed
    assert f'zero-shot mIoU ({len(info.unseen)} unseen)' in printed
    assert 'properties that fired on the' in printed
