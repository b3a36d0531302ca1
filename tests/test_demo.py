"""tools/demo.py end to end at 2 iterations on the tiny property-world (the real run: 300)."""
import math

from prolab_seg.demo import run_demo


def test_demo_runs_every_stage(property_world_root, tmp_path, capsys):
    work = tmp_path / 'demo'
    out = run_demo(str(work), str(property_world_root), iters=2, num_properties=8)
    for name in ('baseline', 'prolab'):
        assert 0 <= out[name]['seen_mIoU'] <= 100 and math.isfinite(out[name]['s_iter'])
    assert 0 <= out['prolab']['unseen_mIoU'] <= 100 and 'unseen_mIoU' not in out['baseline']
    assert 0 < out['chance_unseen_mIoU'] < 100
    # step 5 loads the trained ProLab model from the demo's own spaces (not data/property_spaces)
    assert list((work / 'segment').glob('*_properties.png'))
    printed = capsys.readouterr().out
    assert '| ProLab (K=8 properties) |' in printed and '[5/5]' in printed
