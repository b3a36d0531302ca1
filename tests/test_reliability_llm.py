"""LLM answers as real servers give them: prose-wrapped lists, bad 200 bodies, dead servers,
servers that never answer, interrupts, deadlines, two runs on one output."""
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_server import ChatServer, SilentServer, facet_sentences_for, sentences_for
from prolab_seg.properties import DescriptionSet, dataset_class_names, load_descriptions
from prolab_seg.properties.llm import (FACETS, DeadlineError, DescribeError, EndpointError,
                                       InvalidAnswer, RetryPolicy, build_messages,
                                       describe_categories, parse_descriptions, save_merged,
                                       silent_server_bound)

REPO = Path(__file__).resolve().parents[1]
import gen_properties  # noqa: E402

KEY = 'sk-test-SECRET-0123456789'
FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv('OPENAI_API_KEY', KEY)


def free_port() -> int:
    """A port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# ------------------------------------------------------------- the parser, property-based
WORD = st.text(alphabet='abcdefghijklmnopqrstuvwxyz', min_size=1, max_size=8)
SENTENCES = st.lists(st.lists(WORD, min_size=2, max_size=6).map(
    lambda w: ' '.join(w).capitalize() + '.'), min_size=10, max_size=20,
    unique_by=lambda s: s.casefold())
PROSE = st.lists(st.text(alphabet='abcdefghijklmnopqrstuvwxyz ,.!:', max_size=40),
                 max_size=3).map('\n'.join)


def wrap(sentences: list[str], form: str) -> str:
    listing = json.dumps(sentences, indent=1)
    return {
        'object': json.dumps({'descriptions': sentences}),
        'bare_list': listing,
        'fenced_list': f'```json\n{listing}\n```',
        'fenced_object': f'```\n{json.dumps({"descriptions": sentences})}\n```',
        'numbered': '\n'.join(f'{i + 1}. {s}' for i, s in enumerate(sentences)),
        'bulleted': '\n'.join(f'{"-*"[i % 2]} {s}' for i, s in enumerate(sentences)),
    }[form]


@settings(max_examples=150, deadline=None)
@given(SENTENCES, PROSE, PROSE, st.sampled_from(
    ['object', 'bare_list', 'fenced_list', 'fenced_object', 'numbered', 'bulleted']))
def test_parser_finds_the_sentences_wherever_they_are(sentences, before, after, form):
    answer = f'{before}\n{wrap(sentences, form)}\n{after}'
    assert parse_descriptions(answer, 'x', 'prolab-v1') == sentences   # 10-20, names allowed


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet='abcdefghijklmnopqrstuvwxyz ,.!:\n', max_size=400))
def test_parser_error_shows_what_was_received(prose):
    with pytest.raises(InvalidAnswer) as e:
        parse_descriptions(prose, 'x')
    assert 'received ' + repr(prose[:200]) in str(e.value)


# ------------------------------------------------------------- the client and the CLI
def test_prose_wrapped_fenced_lists_are_accepted():
    names = [f'cat{i}' for i in range(5)]
    with ChatServer(default='prose_list') as server:
        out = describe_categories(names, 'm', base_url=server.base_url, retry=FAST)
    assert out == {n: sentences_for(n, 12) for n in names}
    assert set(server.counts.values()) == {1}


def test_bad_200_answers_fail_only_their_category(tmp_path):
    cache = tmp_path / 'c.json'
    names = ['ok0', 'html', 'choices', 'ok1']
    script = {'html': ['html'] * 3, 'choices': ['choices_str'] * 3}
    with ChatServer(script) as server:
        with pytest.raises(DescribeError) as e:
            describe_categories(names, 'm', base_url=server.base_url, retry=FAST, cache=cache)
    fails = e.value.failures
    assert set(fails) == {'html', 'choices'}
    assert 'body is not a chat completion' in fails['html'] and 'nginx' in fails['html']
    assert '"choices" is str' in fails['choices']
    assert set(json.loads(cache.read_text())['categories']) == {'ok0', 'ok1'}


def describe_argv(tmp_path, base_url, *extra):
    classes = tmp_path / 'classes.txt'
    classes.write_text('sky\nroad\nwall\n')
    return ['describe', '--dataset', 'toy', '--classes', str(classes), '--out',
            str(tmp_path / 'toy.json'), '--model', 'm', '--base-delay', '0.01',
            '--base-url', base_url, *extra]


def test_no_server_trips_the_breaker_fast(tmp_path, capsys):
    url = f'http://127.0.0.1:{free_port()}/v1'
    t0 = time.monotonic()
    assert gen_properties.main(describe_argv(tmp_path, url, '--concurrency', '1')) == 1
    assert time.monotonic() - t0 < 10
    err = capsys.readouterr().err
    assert f'cannot connect to {url}' in err and '3 connection failures in a row' in err
    assert 'start the server or fix --base-url' in err and 'Traceback' not in err
    assert 'no category was finished' in err and 'saved in' not in err
    assert not list(tmp_path.glob('toy.json*'))


def test_wrong_url_path_says_so(tmp_path, capsys):
    with ChatServer() as server:
        root = server.base_url[:-len('/v1')]
        assert gen_properties.main(describe_argv(tmp_path, root)) == 1
    err = capsys.readouterr().err
    assert f'{root}/chat/completions answered 404' in err and 'URL path is wrong' in err
    assert 're-run the same command' not in err
    assert sum(server.counts.values()) <= 3                 # the run stopped at once


def test_interrupt_without_cache_claims_nothing(tmp_path, capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr('prolab_seg.properties.llm.describe_categories', interrupt)
    assert gen_properties.main(describe_argv(tmp_path, 'http://127.0.0.1:9/v1')) == 130
    err = capsys.readouterr().err
    assert 'interrupted; no category was finished' in err and 'saved in' not in err


@pytest.mark.parametrize('flag', ['--concurrency', '--max-attempts'])
@pytest.mark.parametrize('value', ['0', '-2'])
def test_non_positive_counts_are_refused(tmp_path, capsys, flag, value):
    with pytest.raises(SystemExit) as e:
        gen_properties.main(describe_argv(tmp_path, 'http://127.0.0.1:9/v1', flag, value))
    assert e.value.code == 2
    assert f'{flag}: must be at least 1' in capsys.readouterr().err
    with pytest.raises(ValueError, match='concurrency must be at least 1'):
        describe_categories(['x'], 'm', base_url='http://127.0.0.1:9/v1', concurrency=0)


# ------------------------------------------------------------- ADE20K through a bad server
ADE = dataset_class_names('ade20k')
FAULTS = [['429', 'ok'], ['500', 'prose_list'], ['truncated', '503', 'ok'], ['prose_list'],
          ['truncated', 'prose_list'], ['slow:0.3', 'ok']]


def _describe_ade(base_url, cache):
    os.environ['OPENAI_API_KEY'] = KEY
    describe_categories(ADE, 'm', base_url=base_url, cache=cache, concurrency=8,
                        retry=RetryPolicy(6, 0.01, 0.05), timeout=30)


def test_all_ade20k_categories_survive_faults_and_kill(tmp_path):
    cache = tmp_path / 'ade.cache.json'
    script = {n: list(FAULTS[i % len(FAULTS)]) for i, n in enumerate(ADE)}
    with ChatServer(script) as server:
        proc = multiprocessing.get_context('fork').Process(
            target=_describe_ade, args=(server.base_url, str(cache)))
        proc.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
                cache.exists() and len(json.loads(cache.read_text())['categories']) >= 40):
            time.sleep(0.02)
        proc.kill()
        proc.join()
        assert proc.exitcode == -9
        saved = set(json.loads(cache.read_text())['categories'])
        assert 40 <= len(saved) < len(ADE)
        out = describe_categories(ADE, 'm', base_url=server.base_url, cache=cache,
                                  concurrency=8, retry=RetryPolicy(6, 0.01, 0.05), timeout=30)
    assert out == {n: sentences_for(n, 12) for n in ADE} and list(out) == ADE
    assert set(json.loads(cache.read_text())['categories']) == set(ADE)


# ------------------------------------------------------------- prolab-v2 (facets, name-free)
def test_prompt_v2_asks_for_name_free_facets():
    user = build_messages('traffic light', 'cityscapes', 'prolab-v2')[1]['content']
    assert 'Category: "traffic light"' in user and 'Never mention the category name' in user
    assert all(f'"{facet}"' in user for facet in FACETS[:5]) and '"material"' not in user
    assert build_messages('x')[1]['content'] != build_messages('x', None, 'prolab-v2')[1]['content']
    with pytest.raises(ValueError, match="unknown prompt version 'v3'"):
        build_messages('x', None, 'v3')


def test_parse_v2_returns_facets_and_refuses_named_sentences():
    answer = {'descriptions': facet_sentences_for('kite')}
    assert parse_descriptions(f'ok:\n```json\n{json.dumps(answer)}\n```', 'kite',
                              'prolab-v2') == facet_sentences_for('kite')
    named = {'shape': [f'A kite is shape {i}.' for i in range(10)]}
    with pytest.raises(InvalidAnswer, match='10 sentences name the category'):
        parse_descriptions(json.dumps({'descriptions': named}), 'kite', 'prolab-v2')
    with pytest.raises(InvalidAnswer, match='with facets'):
        parse_descriptions(json.dumps({'descriptions': {'smell': ['x'] * 10}}), 'kite',
                           'prolab-v2')
    with pytest.raises(InvalidAnswer, match='expected 10-20'):
        parse_descriptions(json.dumps({'descriptions': {'shape': ['It is round.']}}), 'kite',
                           'prolab-v2')


def test_describe_v2_through_the_server(tmp_path):
    names = ['sky', 'road']
    cache = tmp_path / 'c.json'
    with ChatServer({'road': ['ok']}, default='facets') as server:
        out = describe_categories(names, 'm', base_url=server.base_url, retry=FAST,
                                  cache=cache, prompt_version='prolab-v2')
    assert out == {n: facet_sentences_for(n) for n in names}
    assert server.counts['road'] == 2                      # the v1-shaped answer was retried
    saved = json.loads(cache.read_text())
    assert saved['prompt_version'] == 'prolab-v2' and saved['categories'] == out
    # the facet-grouped result saves, re-reads from the cache and builds a property space
    from prolab_seg.properties import (DescriptionSet, build_property_space, load_descriptions,
                                       save_descriptions)
    with ChatServer(default='facets') as server:
        again = describe_categories(names, 'm', base_url=server.base_url, retry=FAST,
                                    cache=cache, prompt_version='prolab-v2')
    assert again == out and server.counts == {}  # all from the cache, nothing re-asked
    save_descriptions(tmp_path / 'd.json', DescriptionSet(out, 'custom', 'm', 'prolab-v2'))
    loaded = load_descriptions(tmp_path / 'd.json')
    assert loaded.categories == out
    space = build_property_space(loaded.categories, 3, model='hashing-32')
    assert space.texts[:12] == [s for facet in out['sky'].values() for s in facet]
    assert list(space.text_class) == [0] * 12 + [1] * 12


# ------------------------------------------------------------- a server that never answers
CITYSCAPES = dataset_class_names('cityscapes')  # 19


def test_silent_server_is_refused_after_a_few_timeouts():
    with SilentServer() as server:
        with pytest.raises(EndpointError, match='accepts connections but answered none of 3 '
                                                'requests in a row within the timeout'):
            describe_categories(CITYSCAPES, 'm', base_url=server.base_url, concurrency=4,
                                retry=FAST, timeout=0.3)
        time.sleep(0.3)
        asked = server.connections
    assert 3 <= asked <= 4 * 3      # each worker's first request (3 attempts), no other category


def test_default_options_refuse_a_silent_server_after_one_request(tmp_path):
    """Computed, then measured: with the CLI's defaults the breaker trips when the first
    request's 3 attempts (the client's 2 retries) have timed out, 3 x 60 s plus the client's
    backoff; the bound is what a run does (one worker: 3 attempts, then stop)."""
    args = gen_properties.parse_args(['describe', '--dataset', 'cityscapes', '--model', 'm',
                                      '--out', str(tmp_path / 'c.json')])
    bound = silent_server_bound(args.timeout, args.concurrency, args.max_retries,
                                num_categories=len(CITYSCAPES))
    assert bound == 3 * args.timeout + 0.5 + 1.0
    for max_retries, expected in ((0, 3 * 0.2), (2, 3 * 0.2 + 0.5 + 1.0)):
        assert silent_server_bound(0.2, 1, max_retries) == pytest.approx(expected)
        with SilentServer() as server:
            t0 = time.monotonic()
            with pytest.raises(EndpointError):
                describe_categories(CITYSCAPES, 'm', base_url=server.base_url, concurrency=1,
                                    retry=FAST, max_retries=max_retries, timeout=0.2)
            assert time.monotonic() - t0 < expected + 1.0
            time.sleep(0.3)             # a worker that went on would connect again meanwhile
            assert server.connections == 3


def test_ctrl_c_returns_without_waiting_for_requests_in_flight(tmp_path):
    """Requests in flight would hold the old run for --timeout (60 s)."""
    env = dict(os.environ, OPENAI_API_KEY=KEY, PYTHONPATH=str(REPO))
    with SilentServer() as server:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / 'tools' / 'gen_properties.py'),
             *describe_argv(tmp_path, server.base_url, '--timeout', '60', '--concurrency', '2')],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            # Ctrl-C as a terminal delivers it: an ignored SIGINT (inherited, e.g. from a
            # process that ignored it earlier in the session) would be ignored by the tool too
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            until = time.monotonic() + 120
            while server.connections < 2 and proc.poll() is None and time.monotonic() < until:
                time.sleep(0.05)
            assert server.connections == 2, proc.stderr.read() if proc.poll() else 'no request'
            proc.send_signal(signal.SIGINT)
            err = proc.communicate(timeout=20)[1]
        finally:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert 'interrupted; no category was finished' in err and 'Traceback' not in err


def test_deadline_stops_the_run(tmp_path, capsys):
    with SilentServer() as server:
        with pytest.raises(DeadlineError, match='deadline of 0.5 s reached: 3 of 3 categories '
                                                'not described'):
            describe_categories(['sky', 'road', 'wall'], 'm', base_url=server.base_url,
                                timeout=30, deadline=0.5)
        assert gen_properties.main(describe_argv(tmp_path, server.base_url, '--timeout', '30',
                                                 '--deadline', '0.5')) == 1
    err = capsys.readouterr().err
    assert 'error: deadline of 0.5 s reached' in err and 'no category was finished' in err


# ------------------------------------------------------------- two runs, one output
def test_two_runs_on_one_out_keep_each_others_categories(tmp_path):
    out = tmp_path / 'toy.json'
    lists = {'a': ['sky', 'road', 'wall'], 'b': ['car', 'bus', 'road']}
    codes = {}
    with ChatServer(default='slow:0.2') as server:
        def run(key):
            classes = tmp_path / f'{key}.txt'
            classes.write_text('\n'.join(lists[key]))
            codes[key] = gen_properties.main([
                'describe', '--dataset', 'toy', '--classes', str(classes), '--out', str(out),
                '--model', 'm', '--base-url', server.base_url, '--concurrency', '1'])
        threads = [threading.Thread(target=run, args=(k, )) for k in lists]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert codes == {'a': 0, 'b': 0}
    every = {'sky', 'road', 'wall', 'car', 'bus'}
    cache = json.loads((tmp_path / 'toy.json.cache.json').read_text())
    assert set(cache['categories']) == every
    written = load_descriptions(out).categories
    assert written == {n: sentences_for(n, 12) for n in written} and set(written) == every


def test_merging_into_an_out_keeps_its_synonyms(tmp_path):
    """A file someone gave synonyms (issue 17's field) keeps them when describe merges into
    it; this run's synonyms of a category replace the file's."""
    out = tmp_path / 'toy.json'
    first = DescriptionSet({'sky': sentences_for('sky', 10), 'road': sentences_for('road', 10)},
                           'toy', 'm', 'prolab-v3', synonyms={'sky': ['heavens'],
                                                               'road': ['street']})
    save_merged(out, first)
    second = DescriptionSet({'car': sentences_for('car', 10)}, 'toy', 'm', 'prolab-v3',
                            synonyms={'car': ['automobile'], 'road': ['roadway']})
    written = save_merged(out, second)
    assert load_descriptions(out).synonyms == written.synonyms == {
        'sky': ['heavens'], 'road': ['roadway'], 'car': ['automobile']}


def test_progress_bar_counts_resumed_categories(tmp_path, capsys):
    with ChatServer() as server:
        describe_categories(['sky', 'road'], 'm', base_url=server.base_url,
                            cache=tmp_path / 'toy.json.cache.json')
    with ChatServer() as server:
        assert gen_properties.main(describe_argv(tmp_path, server.base_url)) == 0
    assert dict(server.counts) == {'wall': 1}
    bar = [line for line in capsys.readouterr().err.replace('\r', '\n').splitlines()
           if '/3 [' in line]
    assert '3/3' in bar[-1]                     # the run ends at 3 of 3, not at 1 of 3
