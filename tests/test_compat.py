"""The stack patches in prolab_seg.compat: mmcv-lite stand-in, safe checkpoint loading."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import prolab_seg  # noqa: F401
from prolab_seg import compat


def test_mmseg_models_import_with_mmcv_lite():
    import mmseg.models  # noqa: F401
    from mmseg.registry import MODELS
    assert MODELS.get('EncoderDecoder') is not None


def test_compiled_op_raises_clear_error():
    if compat.full_mmcv_available():
        pytest.skip('full mmcv installed: the stand-in is not used (see the inert test)')
    from mmcv.ops import DeformConv2d
    conv = DeformConv2d(4, 4, 3, padding=1)
    with pytest.raises(compat.MissingCompiledOpError, match='deform_conv_forward.*--full-mmcv'):
        conv(torch.zeros(1, 4, 8, 8), torch.zeros(1, 18, 8, 8))


def test_stub_is_inert_when_full_mmcv_present(tmp_path):
    """A real ``mmcv._ext`` on mmcv's path must win; apply() then registers nothing."""
    (tmp_path / '_ext.py').write_text('REAL = True\n')
    # Load compat.py alone: `import prolab_seg` would apply the patches first.
    code = textwrap.dedent(f"""
        import importlib.util, mmcv
        mmcv.__path__.append({str(tmp_path)!r})
        spec = importlib.util.spec_from_file_location('compat', {compat.__file__!r})
        compat = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(compat)
        assert compat.full_mmcv_available()
        assert compat.install_mmcv_ext_stub() is False
        import mmcv._ext
        assert mmcv._ext.REAL
        print('inert')
    """)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert 'inert' in out.stdout


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    from mmengine.logging.history_buffer import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(1.5)
    ckpt = {'message_hub': {'log_scalars': {'loss': buf}},
            'meta': {'seed': np.int64(3), 'arr': np.arange(3, dtype=np.float32),
                     'lr': np.float64(0.1)},
            'state_dict': {'w': torch.ones(2)}}
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)
    restored = loaded['message_hub']['log_scalars']['loss']
    restored.update(2.5)
    assert restored.current() == 2.5 and restored.mean(2) == 2.0
    np.testing.assert_array_equal(loaded['meta']['arr'], np.arange(3, dtype=np.float32))


def test_arbitrary_objects_still_refused(tmp_path):
    """The allow-list is narrow: weights_only keeps refusing other classes."""
    class CallsOnLoad:
        def __reduce__(self):
            return (print, ('a checkpoint ran code on load',))

    path = tmp_path / 'bad.pth'
    torch.save({'x': CallsOnLoad()}, path)
    with pytest.raises(Exception, match='weights_only|Unsupported global'):
        torch.load(path, weights_only=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason='only meaningful on a CPU-only torch')
def test_cuda_set_device_is_noop_without_cuda():
    """mmengine's pytorch launcher calls it before init_process_group, also for gloo."""
    torch.cuda.set_device(0)


def test_torch_floor_is_stated_once_and_enforced():
    """pyproject.toml's torch floor is the one compat needs (add_safe_globals: torch 2.4), and
    an older torch is refused by name, not with an AttributeError deep in the import."""
    import tomllib
    from pathlib import Path
    project = tomllib.loads((Path(__file__).resolve().parents[1] / 'pyproject.toml').read_text())
    (spec, ) = [d for d in project['project']['dependencies'] if d.split('>')[0] == 'torch']
    assert spec.split('#')[0].strip() == 'torch>=' + '.'.join(map(str, compat.MIN_TORCH))
    assert hasattr(torch.serialization, 'add_safe_globals')
    compat.check_torch()                                     # the installed one passes
    compat.check_torch('2.4.0')
    with pytest.raises(ImportError, match=r'needs torch >= 2\.4 .*torch 2\.1\.2\+cpu is installed'):
        compat.check_torch('2.1.2+cpu')
