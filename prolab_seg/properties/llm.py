"""Describe categories with an OpenAI-compatible chat-completions server.

One request per category with a fixed, versioned prompt (``PROMPT_VERSIONS``):

* ``prolab-v3`` (the default) -- 8-15 name-free phrases, one visual property each, over
  ProLab's facets (shape and orientation, material, texture, colour, parts and features,
  variations, context), ``{"descriptions": [...]}``;
* ``prolab-v3-facets`` -- the same grouped by facet (``FACETS``),
  ``{"descriptions": {"shape": [...], "material": [...], ...}}``;
* ``prolab-v2`` -- 10-20 name-free sentences grouped by five facets;
* ``prolab-v1`` -- 10-20 sentences that start with the category name (kept for the files
  written with it).

An answer of a name-free version that names its category (its name, plural or alias:
:func:`~.class_names.sentences_naming_category`) is invalid. prolab-v1 / prolab-v3 answers are
also accepted as a bare or fenced JSON list inside prose, or as numbered/bulleted lines.
Transient faults (408, 409, 429, 5xx, timeouts, connection errors) are retried by the
``openai`` client itself (its ``max_retries``, with its own backoff); malformed, short or
truncated answers are retried here with exponential backoff and a cap (:class:`RetryPolicy`).
An HTTP error the client gives up on fails that category. A 404 (wrong URL path) or a few
connection failures in a row, counting the client's attempts (circuit breaker: nothing
listening), stop the whole run with an ``EndpointError`` naming the URL; so do a few timeouts in
a row (a server that accepts connections and never answers: :func:`silent_server_bound` bounds
how long that takes). ``deadline`` bounds the whole run
(``DeadlineError``). Requests run in daemon threads, so an interrupt (Ctrl-C), a deadline or a
stop returns at once, without waiting for requests in flight. Each finished category is written
immediately to a resumable JSON cache (merged under a file lock with what other runs wrote,
atomic replace), so an interrupted run loses nothing, a re-run only asks for what is missing,
and two runs on one cache keep each other's categories (:func:`save_merged` does the same for
the output file). The API key is read from ``OPENAI_API_KEY`` (:func:`openai_client`) and never
logged or written.
"""
from __future__ import annotations

import json
import logging
import math
import os
import queue
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from prolab_seg.errors import ProlabError

from .class_names import sentences_naming_category, sentences_of
from .descriptions import (DATASETS, FACETS, MAX_DESCRIPTIONS, MIN_DESCRIPTIONS,
                           DescriptionsError, DescriptionSet, dataset_class_names,
                           load_descriptions, save_descriptions, validate_categories)
from .files import atomic_write_text, file_lock
from .names import category_names

log = logging.getLogger(__name__)

PROMPT_VERSION = 'prolab-v3'
PROMPT_VERSIONS = ('prolab-v3', 'prolab-v3-facets', 'prolab-v2', 'prolab-v1')
CACHE_FORMAT = 'prolab-seg/describe-cache@1'

SYSTEM_PROMPT = (
    'You are a careful visual-knowledge assistant. You write short, factual descriptions of '
    'object and stuff categories as they appear in photographs, for a semantic segmentation '
    'label space. You answer with a single JSON object and nothing else.')

USER_PROMPT = """Describe the visual category below{context}.
Category: {category}

Write {min_count} to {max_count} short, factual and varied sentences, one property per sentence, \
covering its colour, texture, shape, size and material, where it is usually found, its parts \
and its use. Start each sentence with the category name (e.g. "A {name} is ..."). Avoid \
statements that would fit any category.
Answer only with JSON of the form {{"descriptions": ["sentence", "sentence", ...]}}."""

USER_PROMPT_V2 = """Describe how the visual category below looks in photographs{context}.
Category: {category}

Write {min_count} to {max_count} short sentences in all, each stating exactly one visual \
property, grouped by facet: shape (form, outline, size), color (colours, materials), texture \
(surface, pattern), parts (visible components) and context (where it appears, what surrounds \
it). Never mention the category name or a synonym of it: write "It ..." instead. State only \
what can be seen; no uses, history or sounds.
Answer only with JSON of the form {{"descriptions": {{"shape": ["sentence", ...], \
"color": [...], "texture": [...], "parts": [...], "context": [...]}}}}."""

USER_PROMPT_V3 = """Describe how the visual category below looks in photographs{context}.
Category: {category}

Write {min_count} to {max_count} short phrases, each stating exactly one visual property, \
covering {facets}. Never write the category name, a plural or a synonym of it, nor the name of \
a kind of it: describe what is seen, so that the phrases could fit other categories that \
share the property (e.g. "vertical flat surface", "made of glass", "found along roads"). State \
only what can be seen; no uses, history or sounds.
Answer only with JSON of the form {answer}."""

#: ``FACETS`` in the order of ProLab's description structure (as prolab-v3 asks for them).
V3_FACETS = ('shape', 'material', 'texture', 'color', 'parts', 'variations', 'context')
#: Per prompt version: (min, max) sentences asked for and accepted, and the facets of a
#: facet-grouped answer (None: a flat list).
PROMPTS = {
    'prolab-v1': (USER_PROMPT, (10, 20), None),
    'prolab-v2': (USER_PROMPT_V2, (10, 20), FACETS[:5]),
    'prolab-v3': (USER_PROMPT_V3, (8, 15), None),
    'prolab-v3-facets': (USER_PROMPT_V3, (8, 15), V3_FACETS),
}
_FACET_WORDS = {'shape': 'shape and orientation', 'color': 'colour', 'parts': 'parts and features',
                'context': 'context (where it appears, what surrounds it)',
                'variations': 'variations (how instances differ)'}


class InvalidAnswer(ValueError):
    """The model's answer could not be parsed or failed validation (retried)."""


class DescribeError(ProlabError, RuntimeError):
    """Some categories could not be described; ``failures`` maps category -> reason."""

    def __init__(self, failures: dict[str, str]):
        self.failures = failures
        lines = '\n'.join(f'  {k}: {v}' for k, v in failures.items())
        super().__init__(f'{len(failures)} categories failed:\n{lines}')


class BadResponse(InvalidAnswer):
    """An HTTP 200 whose body is not a chat completion (HTML page, wrong ``choices``; retried)."""


class EndpointError(ProlabError, RuntimeError):
    """The server cannot serve this run at all (nothing listening, wrong URL path, no answer
    within the timeout); the run stops, finished categories are kept."""


class DeadlineError(ProlabError, RuntimeError):
    """The run's ``deadline`` passed; finished categories are kept."""


class _Cancelled(Exception):
    """Raised in a worker when the run is being interrupted."""


@dataclass(frozen=True)
class RetryPolicy:
    """Asking again after an invalid answer: at most ``max_attempts`` answers per category;
    after answer i, wait ``min(max_delay, base_delay * 2**i)`` seconds."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, max(0.0, self.base_delay * 2 ** attempt))


def check_prompt_version(version: str) -> None:
    """``ValueError`` unless ``version`` is one of ``PROMPT_VERSIONS``."""
    if version not in PROMPT_VERSIONS:
        raise ValueError(f'unknown prompt version {version!r}; known: {list(PROMPT_VERSIONS)}')


def build_messages(category: str, dataset: str | None = None,
                   prompt_version: str = PROMPT_VERSION) -> list[dict]:
    """Chat messages of ``prompt_version`` (one of ``PROMPT_VERSIONS``) for one category."""
    check_prompt_version(prompt_version)
    template, (lo, hi), facets = PROMPTS[prompt_version]
    words = [_FACET_WORDS.get(f, f) for f in V3_FACETS]
    answer = ('{"descriptions": {' + ', '.join(f'"{f}": [...]' for f in facets) + '}}'
              if facets else '{"descriptions": ["phrase", "phrase", ...]}')
    user = template.format(
        context=f' (from the {dataset} dataset)' if dataset else '', category=json.dumps(category),
        name=category, min_count=lo, max_count=hi, answer=answer,
        facets=('its ' + ', its '.join(words[:-1]) + ' and its ' + words[-1]
                + (', grouped by facet (leave out a facet that does not apply)' if facets
                   else '')))
    return [{'role': 'system', 'content': SYSTEM_PROMPT}, {'role': 'user', 'content': user}]


_ITEM_LINE = re.compile(r'^\s*(?:\d+[.)]|[-*\u2022])\s+(\S.*?)\s*$', re.M)
EXCERPT_CHARS = 200


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The first ``limit`` characters of ``text``, quoted (for error messages)."""
    return repr(text[:limit]) + (' ...' if len(text) > limit else '')


def _json_values(text: str):
    """JSON values in ``text``: the whole text, then every object/list embedded in it
    (fenced or not), in order of their opening bracket."""
    decoder = json.JSONDecoder()
    try:
        yield json.loads(text)
    except json.JSONDecodeError:
        pass
    for m in re.finditer(r'[\[{]', text):
        try:
            yield decoder.raw_decode(text, m.start())[0]
        except json.JSONDecodeError:
            continue


def _descriptions_of(value: object) -> object | None:
    """The descriptions in a parsed JSON value: ``{"descriptions": X}`` -> X, a list of
    strings -> itself; anything else -> None."""
    if isinstance(value, dict) and 'descriptions' in value:
        return value['descriptions']
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def _checked(found: object, category: str, prompt_version: str
             ) -> list[str] | dict[str, list[str]]:
    """Validate the descriptions of an answer for ``prompt_version``: facets (if grouped), the
    number of distinct sentences (:func:`validate_categories`) and, except for prolab-v1, that
    none names the category."""
    _, (lo, hi), facets = PROMPTS[prompt_version]
    if facets is not None and (not isinstance(found, dict) or not found
                               or not set(found) <= set(facets)):
        raise InvalidAnswer(f'expected {{"descriptions": {{facet: [sentences]}}}} with facets '
                            f'{list(facets)}; received {excerpt(json.dumps(found))}')
    try:
        checked = validate_categories({category: found}, 'answer', min_count=lo,
                                      max_count=hi)[category]
    except DescriptionsError as e:
        raise InvalidAnswer(str(e)) from None
    named = [] if prompt_version == 'prolab-v1' else [
        s for _, s in sentences_naming_category({category: checked})]
    if named:
        raise InvalidAnswer(f'{len(named)} sentences name the category, e.g. {named[0]!r}')
    return {f: v for f, v in checked.items() if v} if facets is not None else checked


def parse_descriptions(content: str, category: str, prompt_version: str = PROMPT_VERSION
                       ) -> list[str] | dict[str, list[str]]:
    """Parse a model's answer -> validated sentences (facet-grouped versions:
    ``{facet: [sentences]}``).

    Accepted, first match wins: a JSON object ``{"descriptions": ...}``; for the flat versions
    also a bare JSON list of strings, alone or anywhere in prose (fenced or not), else numbered
    or bulleted lines.

    Raises:
        InvalidAnswer: nothing parseable (the message shows the first 200 characters
            received), not the version's number of distinct non-empty strings (prolab-v1/v2:
            10-20, prolab-v3: 8-15), unknown facets, or (all but prolab-v1) a sentence naming
            the category.
    """
    check_prompt_version(prompt_version)
    text = content or ''
    if PROMPTS[prompt_version][2] is not None:
        found = next((v['descriptions'] for v in _json_values(text)
                      if isinstance(v, dict) and 'descriptions' in v), None)
        if found is None:
            raise InvalidAnswer('answer holds no {"descriptions": {facet: [...]}} object; '
                                f'received {excerpt(text)}')
        return _checked(found, category, prompt_version)
    found = next((d for d in map(_descriptions_of, _json_values(text)) if d is not None), None)
    if found is None:
        found = _ITEM_LINE.findall(text) or None
    if found is None:
        raise InvalidAnswer('answer holds no JSON list, no {"descriptions": ...} object and no '
                            f'numbered or bulleted lines; received {excerpt(text)}')
    return _checked(found, category, prompt_version)


class DescriptionCache:
    """Resumable JSON cache of finished categories, shared by every run that uses the file.

    File: ``{"format", "model", "prompt_version", "categories": {name: [sentences]}}``.
    Each ``put`` re-reads the file under a file lock (:func:`~.files.file_lock`), adds its
    category and rewrites it atomically, so runs writing one cache at once (e.g. with
    different class lists) keep each other's categories. A cache written for another model or
    prompt version is refused (use another path).
    """

    def __init__(self, path: str | os.PathLike, model: str, prompt_version: str = PROMPT_VERSION):
        self.path = Path(path)
        self.header = {'format': CACHE_FORMAT, 'model': model, 'prompt_version': prompt_version}
        with file_lock(self.path):
            self._data = self._read()

    def _read(self) -> dict[str, list[str]]:
        """The categories the file holds now (call under the file lock)."""
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding='utf-8'))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DescriptionsError(f'{self.path}: unreadable describe cache ({e})') from None
        found = {k: data.get(k) for k in self.header}
        if found != self.header:
            raise DescriptionsError(f'{self.path}: cache was written for {found}, this run is '
                                    f'{self.header}; use another --cache path')
        categories = data.get('categories')
        return validate_categories(categories, str(self.path)) if categories else {}

    def __contains__(self, name: str) -> bool:
        return name in self._data

    def __len__(self) -> int:
        return len(self._data)

    def get(self, name: str) -> list[str]:
        return self._data[name]

    def put(self, name: str, sentences: list[str]) -> None:
        """Add ``name`` to the file, merged with what it holds now."""
        with file_lock(self.path):
            data = self._read()
            data[name] = sentences
            atomic_write_text(self.path, json.dumps(
                {**self.header, 'categories': data}, indent=1, ensure_ascii=False) + '\n')
            self._data = data


def save_merged(path: str | os.PathLike, described: DescriptionSet) -> DescriptionSet:
    """Write ``described`` to the descriptions file ``path``, merged under a file lock with the
    categories (and synonyms) the file holds now (those of another run on the same ``--out`` are
    kept; this run's replace their namesakes). Order: the dataset's class order when ``dataset`` is a
    known one, else the file's, then the new categories.

    Returns:
        the descriptions written.
    Raises:
        DescriptionsError: ``path`` holds descriptions of another dataset, model or prompt
            version (nothing is written).
    """
    path = Path(path)
    with file_lock(path):
        categories, synonyms = dict(described.categories), dict(described.synonyms)
        if path.exists():
            old = load_descriptions(path, dataset_classes=False)
            ours = (described.dataset, described.model, described.prompt_version)
            if (old.dataset, old.model, old.prompt_version) != ours:
                raise DescriptionsError(
                    f'{path} holds descriptions of dataset {old.dataset!r} by {old.model!r} '
                    f'(prompt {old.prompt_version}), this run writes {ours[0]!r} by '
                    f'{ours[1]!r} (prompt {ours[2]}); pass another --out')
            categories = {**old.categories, **categories}
            synonyms = {**old.synonyms, **synonyms}
        order = dataset_class_names(described.dataset) if described.dataset in DATASETS else []
        order = [n for n in order if n in categories] + [n for n in categories
                                                         if n not in set(order)]
        merged = DescriptionSet({n: categories[n] for n in order}, described.dataset,
                                described.model, described.prompt_version, synonyms=synonyms)
        save_descriptions(path, merged)
    return merged


class CircuitBreaker:
    """Trips after ``limit`` consecutive failures to get any answer (connection refused or
    reset, or no answer within the timeout), counted across categories."""

    def __init__(self, limit: int = 3):
        self.limit = limit
        self._failures = 0
        self._lock = threading.Lock()

    def failure(self, count: int = 1) -> bool:
        """Count ``count`` failures; True once the breaker has tripped."""
        with self._lock:
            self._failures += count
            return self._failures >= self.limit

    def success(self) -> None:
        with self._lock:
            self._failures = 0


def silent_server_bound(timeout: float, concurrency: int, max_retries: int = 2,
                        breaker_limit: int = 3, num_categories: int | None = None) -> float:
    """Upper bound (seconds, network latency aside) on how long :func:`describe_categories`
    runs against a server that accepts connections and never answers: the client makes
    ``max_retries + 1`` attempts per request, each timing out after ``timeout``, separated by
    its backoff delays (at most ``min(8, 0.5 * 2**i)`` s); the breaker's ``breaker_limit``-th
    timeout in a row ends the ``ceil(breaker_limit / (max_retries + 1))``-th request, which
    ``w = min(concurrency, num_categories)`` workers reach within ``ceil(requests / w)``
    rounds; then the run returns at once."""
    from openai._constants import INITIAL_RETRY_DELAY, MAX_RETRY_DELAY
    attempts = max_retries + 1
    per_request = attempts * timeout + sum(min(MAX_RETRY_DELAY, INITIAL_RETRY_DELAY * 2 ** i)
                                           for i in range(max_retries))
    workers = min(concurrency, num_categories or concurrency)
    return math.ceil(math.ceil(breaker_limit / attempts) / workers) * per_request


def _answer_content(resp: object) -> str:
    """The message text of a chat completion, or ``BadResponse`` naming what came instead."""
    if isinstance(resp, (str, bytes)):
        text = resp.decode('utf-8', 'replace') if isinstance(resp, bytes) else resp
        raise BadResponse(f'HTTP 200 but the body is not a chat completion: {excerpt(text)}; '
                          'is --base-url an OpenAI-compatible endpoint (ending in /v1)?')
    choices = getattr(resp, 'choices', None)
    if not isinstance(choices, list) or not choices:
        raise BadResponse(f'HTTP 200 but "choices" is {type(choices).__name__} '
                          f'{excerpt(str(choices))}, not a non-empty list of choices')
    message = getattr(choices[0], 'message', None)
    content = getattr(message, 'content', None)
    if not isinstance(content, str):
        raise BadResponse(f'HTTP 200 but choices[0] has no message text: '
                          f'{excerpt(str(choices[0]))}')
    if getattr(choices[0], 'finish_reason', None) == 'length':
        raise InvalidAnswer('answer truncated (finish_reason=length)')
    return content


def _attempts(error) -> int:
    """How many times the ``openai`` client sent the request that ended in ``error`` (the
    retry count it sends in a header, plus one)."""
    return int(error.request.headers.get('x-stainless-retry-count', 0)) + 1


def _describe_one(client, category: str, *, model: str, dataset: str | None,
                  retry: RetryPolicy, temperature: float, json_mode: bool,
                  stop: threading.Event, breaker: CircuitBreaker,
                  prompt_version: str = PROMPT_VERSION) -> list[str] | dict[str, list[str]]:
    """Ask for one category until a valid answer or ``retry.max_attempts`` answers (the
    client retries each request on its own faults).

    Raises:
        DescribeError: this category failed.
        EndpointError: the breaker tripped or the URL path is wrong (the run must stop).
    """
    import openai

    extra = {'response_format': {'type': 'json_object'}} if json_mode else {}
    last = 'no attempt made'
    for attempt in range(retry.max_attempts):
        if stop.is_set():
            raise _Cancelled
        try:
            resp = client.chat.completions.create(
                model=model, messages=build_messages(category, dataset, prompt_version),
                temperature=temperature, **extra)
            breaker.success()
            return parse_descriptions(_answer_content(resp), category, prompt_version)
        except InvalidAnswer as e:
            last = str(e)
        except openai.APIStatusError as e:
            breaker.success()
            if e.status_code == 404:
                raise EndpointError(f'{e.request.url} answered 404 Not Found: the URL path is '
                                    'wrong; --base-url must be the API root that serves '
                                    '/chat/completions, e.g. http://127.0.0.1:8000/v1') from None
            sent = _attempts(e)
            raise DescribeError({category: f'HTTP {e.status_code} ' + (
                f'after {sent} attempts' if sent > 1 else '(not retried)') + f': {e.message}'}
            ) from None
        except openai.APITimeoutError as e:
            if breaker.failure(_attempts(e)):
                raise EndpointError(
                    f'{client.base_url} accepts connections but answered none of '
                    f'{breaker.limit} requests in a row within the timeout ({client.timeout} '
                    's); is the server overloaded or stuck? Raise --timeout if its answers '
                    'take longer') from None
            raise DescribeError({category: f'request timed out {_attempts(e)} times'}) from None
        except openai.APIConnectionError as e:
            if breaker.failure(_attempts(e)):
                raise EndpointError(
                    f'cannot connect to {client.base_url} ({breaker.limit} connection failures '
                    f'in a row; last: {e.__cause__ or e}); start the server or fix '
                    '--base-url') from None
            raise DescribeError({category: f'connection error ({e.__cause__ or e}) after '
                                           f'{_attempts(e)} attempts'}) from None
        except openai.APIResponseValidationError as e:
            last = f'malformed response ({e.message})'
        except json.JSONDecodeError:
            last = 'response body is not JSON'
        if attempt + 1 < retry.max_attempts:
            delay = retry.delay(attempt)
            log.warning('%s: attempt %d/%d failed (%s); retrying in %.2fs', category,
                        attempt + 1, retry.max_attempts, last, delay)
            if stop.wait(delay):
                raise _Cancelled
    raise DescribeError({category: f'gave up after {retry.max_attempts} attempts; '
                                   f'last error: {last}'})


def openai_client(base_url: str | None = None, api_key: str | None = None, **options):
    """An ``openai.OpenAI`` client of the server at ``base_url`` (None: ``$OPENAI_BASE_URL`` or
    OpenAI's) with ``api_key`` (None: ``$OPENAI_API_KEY``); ``options``: client options
    (``timeout``, ``max_retries``, ...).

    Raises:
        KeyError: no ``api_key`` and ``OPENAI_API_KEY`` is not set.
    """
    import openai
    if api_key is None:
        if 'OPENAI_API_KEY' not in os.environ:
            raise KeyError('set OPENAI_API_KEY (any value for servers without authentication)')
        api_key = os.environ['OPENAI_API_KEY']
    return openai.OpenAI(base_url=base_url, api_key=api_key, **options)


def describe_categories(categories: Sequence[str], model: str, *, base_url: str | None = None,
                        dataset: str | None = None, cache: str | os.PathLike | None = None,
                        concurrency: int = 4, retry: RetryPolicy = RetryPolicy(),
                        max_retries: int = 2, timeout: float = 60.0, temperature: float = 0.7,
                        json_mode: bool = True, breaker_limit: int = 3,
                        prompt_version: str = PROMPT_VERSION, deadline: float | None = None,
                        on_done: Callable[[str, bool], None] | None = None
                        ) -> dict[str, list[str] | dict[str, list[str]]]:
    """Describe ``categories`` with the chat model -> ``{category: [sentences]}``
    (facet-grouped versions: ``{category: {facet: [sentences]}}``).

    Args:
        categories: category names (order kept in the result; Unicode NFC).
        model: chat model name on the server.
        base_url: server URL, e.g. ``http://127.0.0.1:8000/v1`` (default: OpenAI's).
        dataset: dataset name given to the model as context.
        cache: resumable cache file; categories already in it are not requested again.
        concurrency: maximum requests in flight.
        retry: how often, and after what delays, an invalid answer is asked for again.
        max_retries: the ``openai`` client's retries of a request on 408, 409, 429 and 5xx
            answers, timeouts and connection errors (its own backoff).
        timeout: per-request timeout (s).
        json_mode: send ``response_format={"type": "json_object"}``.
        breaker_limit: consecutive connection failures or timeouts (the client's attempts, any
            categories) that stop the run.
        prompt_version: one of ``PROMPT_VERSIONS`` (see the module docstring).
        deadline: the most seconds the whole run may take (None: no limit).
        on_done: called ``(category, ok)`` in the calling thread for each category: first for
            every one already in ``cache``, then as each finishes.
    Raises:
        DescribeError: some categories failed (the others are kept in ``cache``).
        EndpointError: no server at ``base_url``, a wrong URL path, or no answer within
            ``timeout`` ``breaker_limit`` times in a row (finished ones are kept).
        DeadlineError: ``deadline`` passed (finished ones are kept).
        KeyError: ``OPENAI_API_KEY`` is not set.
        ValueError: ``concurrency`` < 1.
    """
    if concurrency < 1:
        raise ValueError(f'concurrency must be at least 1, got {concurrency}')
    client = openai_client(base_url, max_retries=max_retries, timeout=timeout)
    names = category_names(dict.fromkeys(categories), 'class list', DescriptionsError)
    check_prompt_version(prompt_version)
    store = DescriptionCache(cache, model, prompt_version) if cache is not None else None
    results = {n: store.get(n) for n in names if store is not None and n in store}
    for name in results if on_done is not None else ():
        on_done(name, True)
    todo = [n for n in names if n not in results]
    failures: dict[str, str] = {}
    if todo:
        stop = threading.Event()
        breaker = CircuitBreaker(breaker_limit)
        saving = threading.Lock()  # held while a result is cached
        pending: queue.SimpleQueue = queue.SimpleQueue()
        finished: queue.SimpleQueue = queue.SimpleQueue()
        for name in todo:
            pending.put(name)

        def worker() -> None:
            """Describe pending categories until none is left or the run stops; every outcome
            goes to ``finished``; an answer that comes after the stop is dropped."""
            while not stop.is_set():
                try:
                    name = pending.get_nowait()
                except queue.Empty:
                    return
                try:
                    sentences = _describe_one(
                        client, name, model=model, dataset=dataset, retry=retry,
                        temperature=temperature, json_mode=json_mode, stop=stop,
                        breaker=breaker, prompt_version=prompt_version)
                    with saving:
                        if stop.is_set():
                            return
                        if store is not None:
                            store.put(name, sentences)
                    finished.put((name, sentences, None))
                except BaseException as e:  # handed to the calling thread
                    if not isinstance(e, DescribeError):
                        stop.set()  # the run is over: no worker starts another request
                    finished.put((name, None, e))

        # daemon threads: returning (error, Ctrl-C, deadline) never waits for a request in
        # flight (only for a cache write in progress); a stopped worker ends after its
        # current request, and the cache is final once this function returns
        for _ in range(min(concurrency, len(todo))):
            threading.Thread(target=worker, name='describe', daemon=True).start()
        end = None if deadline is None else time.monotonic() + deadline
        try:
            for _ in todo:
                try:
                    name, sentences, error = finished.get(
                        timeout=None if end is None else max(0.0, end - time.monotonic()))
                except queue.Empty:
                    left = len(names) - len(results) - len(failures)
                    raise DeadlineError(f'deadline of {deadline:g} s reached: {left} of '
                                        f'{len(names)} categories not described') from None
                if isinstance(error, DescribeError):
                    failures.update(error.failures)
                elif error is not None:
                    raise error
                else:
                    results[name] = sentences
                if on_done is not None:
                    on_done(name, name in results)
        finally:
            stop.set()
            with saving:
                pass
    if failures:
        raise DescribeError(failures)
    return {n: results[n] for n in names}
