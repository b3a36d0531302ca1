"""LLM description generation with the real ``openai`` client against our scriptable server."""
import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from chat_server import ChatServer, sentences_for
from prolab_seg.properties import load_descriptions
from prolab_seg.properties.descriptions import FACETS
from prolab_seg.properties.llm import (PROMPT_VERSION, DescribeError, DescriptionCache,
                                       InvalidAnswer, RetryPolicy, build_messages,
                                       describe_categories, parse_descriptions)

import gen_properties  # tools/ (tests/conftest.py puts it on sys.path)

KEY = 'sk-test-SECRET-0123456789'
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)
NAMES = [f'cat{i}' for i in range(6)]


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv('OPENAI_API_KEY', KEY)


def run(server, names=NAMES, **kw):
    kw = {'retry': FAST, 'timeout': 2.0, 'concurrency': 3, **kw}
    return describe_categories(names, 'test-model', base_url=server.base_url, **kw)


def test_prompt_and_parse():
    msgs = build_messages('traffic light', 'cityscapes')
    assert PROMPT_VERSION == 'prolab-v3'                      # name-free by default
    user = msgs[1]['content']
    assert 'Category: "traffic light"' in user and 'cityscapes' in user
    assert '{"descriptions": [' in user and 'Never write the category name' in user
    assert '8 to 15' in user and 'shape and orientation' in user and 'variations' in user
    good = json.dumps({'descriptions': sentences_for('x', 10)})
    assert parse_descriptions(f'```json\n{good}\n```', 'x') == sentences_for('x', 10)
    for bad, msg in [('nope', 'no JSON list'), ('[]', 'no JSON list'),
                     (json.dumps({'descriptions': ['a'] * 12}), 'duplicates'),
                     (json.dumps({'descriptions': sentences_for('x', 16)}),
                      'has 16 sentences, expected 8-15'),
                     (json.dumps({'descriptions': [f'Two {i} kites.' for i in range(9)]}),
                      '9 sentences name the category')]:
        with pytest.raises(InvalidAnswer, match=msg):
            parse_descriptions(bad, 'kite' if 'kites' in bad else 'x')


def test_v1_stays_selectable_and_names_the_category():
    user = build_messages('traffic light', 'cityscapes', 'prolab-v1')[1]['content']
    assert 'Start each sentence with the category name (e.g. "A traffic light is ..."' in user
    assert '10 to 20' in user
    named = [f'A kite has property {i}.' for i in range(10)]
    assert parse_descriptions(json.dumps(named), 'kite', 'prolab-v1') == named
    with pytest.raises(InvalidAnswer, match='has 25 sentences, expected 10-20'):
        parse_descriptions(json.dumps(sentences_for('x', 25)), 'x', 'prolab-v1')


def test_v3_facets_prompt_and_parse():
    user = build_messages('kite', None, 'prolab-v3-facets')[1]['content']
    assert all(f'"{facet}": [...]' in user for facet in FACETS) and '8 to 15' in user
    grouped = {'material': [f'Made of thin material {i}.' for i in range(4)],
               'shape': [f'Diamond outline {i}.' for i in range(4)]}
    assert parse_descriptions(json.dumps({'descriptions': grouped}), 'kite',
                              'prolab-v3-facets') == grouped
    with pytest.raises(InvalidAnswer, match='with facets'):
        parse_descriptions(json.dumps({'descriptions': {'smell': grouped['shape'] * 2}}), 'kite',
                           'prolab-v3-facets')
    with pytest.raises(InvalidAnswer, match='1 sentences name the category'):
        parse_descriptions(json.dumps({'descriptions': dict(
            grouped, context=['Flying kites fill the sky.'])}), 'kite', 'prolab-v3-facets')


def test_named_answers_are_retried_under_the_default_prompt(tmp_path):
    with ChatServer({'cat1': ['named']}) as server:
        out = run(server, names=['cat1'])
    assert out == {'cat1': sentences_for('cat1', 12)} and server.counts['cat1'] == 2


def test_backoff_is_exponential_and_capped():
    p = RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=3.0)
    assert [p.delay(i) for i in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_happy_path_bounded_concurrency(tmp_path):
    with ChatServer(default='slow:0.2') as server:
        out = run(server, concurrency=2, cache=tmp_path / 'c.json')
    assert out == {n: sentences_for(n, 12) for n in NAMES} and list(out) == NAMES
    assert server.max_inflight == 2
    assert set(server.auth_headers) == {f'Bearer {KEY}'}
    assert all(server.counts[n] == 1 for n in NAMES)


def test_transient_faults_are_retried(tmp_path):
    """HTTP faults and timeouts are retried by the openai client (max_retries=2: 3 requests,
    its own backoff of at most 0.5 + 1 s), invalid answers by us."""
    script = {'cat0': ['429', '500'], 'cat1': ['503', 'slow:5'], 'cat2': ['invalid_json'],
              'cat3': ['truncated', 'short'], 'cat4': ['bad_body']}
    t0 = time.monotonic()
    with ChatServer(script) as server:
        out = run(server, timeout=0.5, cache=tmp_path / 'c.json')
    assert time.monotonic() - t0 < 5                  # short backoffs, slow request timed out
    assert out == {n: sentences_for(n, 12) for n in NAMES}
    assert dict(server.counts) == {'cat0': 3, 'cat1': 3, 'cat2': 2, 'cat3': 3, 'cat4': 2,
                                   'cat5': 1}
    with ChatServer({'cat0': ['500'] * 3}) as server:
        with pytest.raises(DescribeError, match='cat0: HTTP 500 after 2 attempts'):
            run(server, names=['cat0'], max_retries=1)
    assert server.counts['cat0'] == 2                 # the client's retry only, not ours too


def test_failures_reported_then_rerun_asks_only_for_them(tmp_path, caplog):
    cache = tmp_path / 'c.json'
    with ChatServer({'cat1': ['short'] * 10, 'cat4': ['400']}) as server:
        with pytest.raises(DescribeError) as e:
            run(server, cache=cache)
    assert set(e.value.failures) == {'cat1', 'cat4'}
    assert 'gave up after 4 attempts' in e.value.failures['cat1']
    assert 'has 3 sentences' in e.value.failures['cat1']
    assert 'HTTP 400 (not retried)' in e.value.failures['cat4']
    assert server.counts['cat1'] == 4 and server.counts['cat4'] == 1
    assert set(json.loads(cache.read_text())['categories']) == set(NAMES) - {'cat1', 'cat4'}
    with ChatServer() as server2:
        out = run(server2, cache=cache)
    assert dict(server2.counts) == {'cat1': 1, 'cat4': 1}
    assert list(out) == NAMES
    assert KEY not in cache.read_text() and KEY not in caplog.text


def test_resume_after_exception_mid_run(tmp_path):
    cache = tmp_path / 'c.json'
    done = []

    def crash(name, ok):
        done.append(name)
        if len(done) == 2:
            raise KeyboardInterrupt

    with ChatServer(default='slow:0.05') as server:
        with pytest.raises(KeyboardInterrupt):
            run(server, concurrency=1, cache=cache, on_done=crash)
    first = dict(server.counts)
    saved = set(json.loads(cache.read_text())['categories'])
    assert set(done) <= saved and len(saved) < len(NAMES)
    with ChatServer() as server2:
        out = run(server2, cache=cache)
    assert set(server2.counts) == set(NAMES) - saved        # only the missing ones
    assert all(first.get(n, 0) + server2.counts[n] == 1 for n in NAMES)
    assert out == {n: sentences_for(n, 12) for n in NAMES}


def _child(base_url, cache):
    os.environ['OPENAI_API_KEY'] = KEY
    describe_categories(NAMES, 'test-model', base_url=base_url, cache=cache, concurrency=2,
                        retry=FAST, timeout=60)


def test_resume_after_kill(tmp_path):
    """SIGKILL a describing process mid-run: finished categories survive, nothing is re-asked."""
    cache = tmp_path / 'c.json'
    script = {n: ['slow:60'] for n in NAMES[3:]}           # the last three hang
    with ChatServer(script) as server:
        proc = multiprocessing.get_context('fork').Process(
            target=_child, args=(server.base_url, str(cache)))
        proc.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if cache.exists() and len(json.loads(cache.read_text())['categories']) == 3:
                break
            time.sleep(0.05)
        proc.kill()
        proc.join()
    assert proc.exitcode == -9
    assert set(json.loads(cache.read_text())['categories']) == set(NAMES[:3])
    assert not list(tmp_path.glob('.*.tmp'))                 # no stray temp files
    with ChatServer() as server2:
        out = run(server2, cache=cache)
    assert set(server2.counts) == set(NAMES[3:]) and set(server2.counts.values()) == {1}
    assert out == {n: sentences_for(n, 12) for n in NAMES}


def test_cache_for_other_model_is_refused(tmp_path):
    cache = DescriptionCache(tmp_path / 'c.json', 'model-a')
    cache.put('x', sentences_for('x', 10))
    assert 'x' in DescriptionCache(tmp_path / 'c.json', 'model-a')
    with pytest.raises(ValueError, match="c.json: cache was written for .*model-a"):
        DescriptionCache(tmp_path / 'c.json', 'model-b')


def test_missing_api_key(monkeypatch):
    monkeypatch.delenv('OPENAI_API_KEY')
    with pytest.raises(KeyError, match='set OPENAI_API_KEY'):
        describe_categories(['x'], 'm', base_url='http://127.0.0.1:9/v1')


def test_cli_describe_resumes_and_writes_valid_file(tmp_path, capsys):
    classes = tmp_path / 'classes.txt'
    classes.write_text('sky\ntraffic light\nroad\n')
    out = tmp_path / 'toy.json'
    argv = ['describe', '--dataset', 'toy', '--classes', str(classes), '--out', str(out),
            '--model', 'test-model', '--max-retries', '1', '--base-delay', '0.01',
            '--concurrency', '2']
    with ChatServer({'road': ['500', '500']}) as server:
        assert gen_properties.main(argv + ['--base-url', server.base_url]) == 1
    err = capsys.readouterr().err
    assert 'road: HTTP 500 after 2 attempts' in err
    assert 're-run the same command' in err and not out.exists()
    with ChatServer() as server2:
        assert gen_properties.main(argv + ['--base-url', server2.base_url]) == 0
    assert dict(server2.counts) == {'road': 1}
    captured = capsys.readouterr()
    ds = load_descriptions(out, classes=['sky', 'traffic light', 'road'])
    assert ds.model == 'test-model' and ds.prompt_version == PROMPT_VERSION
    assert ds.categories['traffic light'] == sentences_for('traffic light', 12)
    for text in (out.read_text(), Path(f'{out}.cache.json').read_text(),
                 captured.out, captured.err, err):
        assert KEY not in text
