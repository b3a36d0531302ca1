"""A real, scriptable OpenAI-compatible chat-completions server on 127.0.0.1 for tests.

It also answers ``/v1/embeddings``: ``embedding_for(text)`` for each input (in reverse order,
each with its ``index``); ``embedding_batches`` records the number of inputs per request.

``ChatServer(script={'tiger': ['429', '500', 'ok']})`` answers successive requests for a
category (read from the prompt's ``Category: "<name>"`` line) with the scripted actions, then
with ``default``. Actions:

* ``ok`` / ``ok:N``  -- valid JSON answer with ``num_sentences`` (or N) distinct sentences
* ``429``, ``500``, ``503``, ``400`` -- that HTTP error (429 carries ``Retry-After: 0``)
* ``slow:S``         -- wait S seconds (released early by ``stop()``), then answer ``ok``
* ``invalid_json``   -- message content is not JSON
* ``truncated``      -- content cut mid-string, ``finish_reason: "length"``
* ``short``          -- valid JSON with only 3 sentences
* ``named``          -- valid JSON whose 12 sentences name the category
* ``bad_body``       -- HTTP 200 whose body is not JSON at all
* ``prose_list``     -- prose, then the sentences as a fenced JSON *list*, then more prose
* ``html``           -- HTTP 200, ``Content-Type: text/html``, an HTML page
* ``choices_str``    -- HTTP 200 chat completion whose ``choices`` is a string
* ``facets``         -- prolab-v2 answer: ``facet_sentences_for(category)`` in prose

``SilentServer()`` accepts connections and never answers (a stuck server); ``connections``
counts them.
"""
from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def sentences_for(category: str, n: int) -> list[str]:
    """The sentences the server answers for ``category``: name-free (as the prolab-v3 prompt
    asks), told apart per category by a hash of its name."""
    tag = hashlib.sha256(category.encode()).hexdigest()[:8]
    return [f'It has test property number {i} (kind {tag}).' for i in range(n)]


def facet_sentences_for(category: str) -> dict[str, list[str]]:
    """The prolab-v2 answer for ``category``: 12 name-free sentences over three facets."""
    return {facet: [f'It has {facet} number {i} ({len(category)} letters).' for i in range(4)]
            for facet in ('shape', 'color', 'texture')}


def embedding_for(text: str, dim: int = 8) -> list[float]:
    """The (not normalised) embedding the server answers for ``text``."""
    return [b - 127.5 for b in hashlib.sha256(text.encode()).digest()[:dim]]


class ChatServer:
    def __init__(self, script: dict[str, list[str]] | None = None, default: str = 'ok',
                 num_sentences: int = 12):
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.default = default
        self.num_sentences = num_sentences
        self.counts: Counter = Counter()          # requests per category
        self.auth_headers: list[str] = []
        self.embedding_batches: list[int] = []
        self.inflight = 0
        self.max_inflight = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd = ThreadingHTTPServer(('127.0.0.1', 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def base_url(self) -> str:
        return f'http://127.0.0.1:{self._httpd.server_address[1]}/v1'

    def start(self) -> 'ChatServer':
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> 'ChatServer':
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _next_action(self, category: str) -> str:
        with self._lock:
            self.counts[category] += 1
            queue = self.script.get(category)
            return queue.pop(0) if queue else self.default

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, code: int, body: bytes, headers: dict | None = None,
                      content_type: str = 'application/json'):
                try:
                    self.send_response(code)
                    self.send_header('Content-Type', content_type)
                    self.send_header('Content-Length', str(len(body)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # client gave up (timeout)

            def _completion(self, content: str, finish_reason: str = 'stop') -> bytes:
                return json.dumps({
                    'id': 'chatcmpl-test', 'object': 'chat.completion', 'created': 0,
                    'model': self._model,
                    'choices': [{'index': 0, 'finish_reason': finish_reason,
                                 'message': {'role': 'assistant', 'content': content}}],
                    'usage': {'prompt_tokens': 1, 'completion_tokens': 1, 'total_tokens': 2},
                }).encode()

            def do_POST(self):
                path = self.path.rstrip('/')
                if path not in ('/v1/chat/completions', '/v1/embeddings'):
                    return self._send(404, b'{"error": {"message": "not found"}}')
                body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
                self._model = body.get('model', '')
                server.auth_headers.append(self.headers.get('Authorization', ''))
                if path == '/v1/embeddings':
                    return self._embeddings(body['input'])
                user = body['messages'][-1]['content']
                m = re.search(r'^Category: (".*")$', user, re.M)
                category = json.loads(m.group(1)) if m else '?'
                action = server._next_action(category)
                with server._lock:
                    server.inflight += 1
                    server.max_inflight = max(server.max_inflight, server.inflight)
                try:
                    self._act(action, category)
                finally:
                    with server._lock:
                        server.inflight -= 1

            def _embeddings(self, texts: list[str]):
                server.embedding_batches.append(len(texts))
                data = [{'object': 'embedding', 'index': i, 'embedding': embedding_for(t)}
                        for i, t in enumerate(texts)]
                return self._send(200, json.dumps({
                    'object': 'list', 'data': data[::-1], 'model': self._model,
                    'usage': {'prompt_tokens': 1, 'total_tokens': 1}}).encode())

            def _act(self, action: str, category: str):
                name, _, arg = action.partition(':')
                if name.isdigit():
                    err = {'error': {'message': f'scripted {name}', 'type': 'test', 'code': name}}
                    headers = {'Retry-After': '0'} if name == '429' else None
                    return self._send(int(name), json.dumps(err).encode(), headers)
                if name == 'slow':
                    server._release.wait(float(arg))
                    name, arg = 'ok', ''
                if name == 'ok':
                    answer = {'descriptions': sentences_for(
                        category, int(arg) if arg else server.num_sentences)}
                    return self._send(200, self._completion(json.dumps(answer)))
                if name == 'named':
                    answer = {'descriptions': [f'A {category} has property {i}.'
                                               for i in range(12)]}
                    return self._send(200, self._completion(json.dumps(answer)))
                if name == 'short':
                    answer = {'descriptions': sentences_for(category, 3)}
                    return self._send(200, self._completion(json.dumps(answer)))
                if name == 'invalid_json':
                    return self._send(200, self._completion('Sure! Here are some descriptions:'))
                if name == 'truncated':
                    text = json.dumps({'descriptions': sentences_for(category, 12)})
                    return self._send(200, self._completion(text[:len(text) // 2], 'length'))
                if name == 'bad_body':
                    return self._send(200, b'<html>gateway error</html>')
                if name == 'prose_list':
                    fenced = json.dumps(sentences_for(category, server.num_sentences), indent=1)
                    return self._send(200, self._completion(
                        f'Sure! Here are descriptions of {category}:\n\n```json\n{fenced}\n```'
                        '\n\nLet me know if you need more.'))
                if name == 'facets':
                    answer = json.dumps({'descriptions': facet_sentences_for(category)})
                    return self._send(200, self._completion(f'Here you go:\n{answer}'))
                if name == 'html':
                    return self._send(200, b'<!DOCTYPE html><html><body>Welcome to nginx!'
                                      b'</body></html>', content_type='text/html')
                if name == 'choices_str':
                    body = json.loads(self._completion('unused'))
                    body['choices'] = 'oops'
                    return self._send(200, json.dumps(body).encode())
                raise ValueError(f'unknown scripted action {action!r}')

        return Handler


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never reads or answers them."""

    def __init__(self):
        self._sock = socket.socket()
        self._sock.bind(('127.0.0.1', 0))
        self._sock.listen(64)
        self._sock.settimeout(0.05)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def connections(self) -> int:
        return len(self._held)

    @property
    def base_url(self) -> str:
        return f'http://127.0.0.1:{self._sock.getsockname()[1]}/v1'

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                self._held.append(self._sock.accept()[0])
            except socket.timeout:
                continue

    def __enter__(self) -> 'SilentServer':
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._sock.close()
