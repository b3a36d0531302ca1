"""Describe categories with an OpenAI-compatible chat-completions server.

One request per category with a fixed, versioned prompt (``PROMPT_VERSION``) asking for
``{"descriptions": [10-20 sentences]}``. Transient faults (429, 408/409, 5xx, timeouts,
connection errors) and malformed/short/truncated answers are retried with exponential backoff
and a cap; other HTTP errors (400, 401, 404, ...) fail that category at once. Each finished
category is written immediately to a resumable JSON cache (atomic replace), so an interrupted
run loses nothing and a re-run only asks for what is missing. The API key is read from
``OPENAI_API_KEY`` and never logged or written.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .descriptions import (MAX_DESCRIPTIONS, MIN_DESCRIPTIONS, DescriptionsError,
                           validate_categories)
from .files import atomic_write_text

log = logging.getLogger(__name__)

PROMPT_VERSION = 'prolab-v1'
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


class InvalidAnswer(ValueError):
    """The model's answer could not be parsed or failed validation (retried)."""


class DescribeError(RuntimeError):
    """Some categories could not be described; ``failures`` maps category -> reason."""

    def __init__(self, failures: dict[str, str]):
        self.failures = failures
        lines = '\n'.join(f'  {k}: {v}' for k, v in failures.items())
        super().__init__(f'{len(failures)} categories failed:\n{lines}')


class _Cancelled(Exception):
    """Raised in a worker when the run is being interrupted."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt i waits ``min(max_delay, base_delay * 2**i)`` seconds
    (or the server's ``Retry-After``, capped the same way)."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        wanted = retry_after if retry_after is not None else self.base_delay * 2 ** attempt
        return min(self.max_delay, max(0.0, wanted))


def build_messages(category: str, dataset: str | None = None) -> list[dict]:
    """Chat messages of prompt ``PROMPT_VERSION`` for one category."""
    context = f' (from the {dataset} dataset)' if dataset else ''
    user = USER_PROMPT.format(context=context, category=json.dumps(category), name=category,
                              min_count=MIN_DESCRIPTIONS, max_count=MAX_DESCRIPTIONS)
    return [{'role': 'system', 'content': SYSTEM_PROMPT}, {'role': 'user', 'content': user}]


def parse_descriptions(content: str, category: str) -> list[str]:
    """Parse ``{"descriptions": [...]}`` (optionally in a ```json fence) -> validated sentences.

    Raises:
        InvalidAnswer: not JSON, wrong shape, or not 10-20 distinct non-empty strings.
    """
    text = re.sub(r'^\s*```(?:json)?\s*|\s*```\s*$', '', content or '')
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidAnswer(f'answer is not valid JSON ({e.msg} at char {e.pos})') from None
    if not isinstance(data, dict) or 'descriptions' not in data:
        raise InvalidAnswer('answer is not an object with a "descriptions" key')
    try:
        return validate_categories({category: data['descriptions']}, 'answer')[category]
    except DescriptionsError as e:
        raise InvalidAnswer(str(e)) from None


class DescriptionCache:
    """Resumable JSON cache of finished categories, rewritten atomically on every ``put``.

    File: ``{"format", "model", "prompt_version", "categories": {name: [sentences]}}``.
    A cache written for another model or prompt version is refused (use another path).
    """

    def __init__(self, path: str | os.PathLike, model: str, prompt_version: str = PROMPT_VERSION):
        self.path = Path(path)
        self.header = {'format': CACHE_FORMAT, 'model': model, 'prompt_version': prompt_version}
        self._lock = threading.Lock()
        self._data: dict[str, list[str]] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding='utf-8'))
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise ValueError(f'{self.path}: unreadable describe cache ({e})') from None
            found = {k: data.get(k) for k in self.header}
            if found != self.header:
                raise ValueError(f'{self.path}: cache was written for {found}, this run is '
                                 f'{self.header}; use another --cache path')
            if data.get('categories'):
                self._data = validate_categories(data['categories'], str(self.path))

    def __contains__(self, name: str) -> bool:
        return name in self._data

    def get(self, name: str) -> list[str]:
        return self._data[name]

    def put(self, name: str, sentences: list[str]) -> None:
        with self._lock:
            self._data[name] = sentences
            atomic_write_text(self.path, json.dumps(
                {**self.header, 'categories': self._data}, indent=1, ensure_ascii=False) + '\n')


def _retryable_status(code: int) -> bool:
    return code in (408, 409, 429) or code >= 500


def _retry_after(response) -> float | None:
    try:
        return float(response.headers.get('retry-after'))
    except (TypeError, ValueError):
        return None


def _describe_one(client, category: str, *, model: str, dataset: str | None,
                  retry: RetryPolicy, temperature: float, json_mode: bool,
                  stop: threading.Event) -> list[str]:
    """Ask for one category until a valid answer or ``retry.max_attempts``; raise on failure."""
    import openai

    extra = {'response_format': {'type': 'json_object'}} if json_mode else {}
    last = 'no attempt made'
    for attempt in range(retry.max_attempts):
        if stop.is_set():
            raise _Cancelled
        retry_after = None
        try:
            resp = client.chat.completions.create(
                model=model, messages=build_messages(category, dataset),
                temperature=temperature, **extra)
            choices = getattr(resp, 'choices', None)
            if not choices:
                raise InvalidAnswer('response has no choices')
            if choices[0].finish_reason == 'length':
                raise InvalidAnswer('answer truncated (finish_reason=length)')
            return parse_descriptions(choices[0].message.content, category)
        except InvalidAnswer as e:
            last = str(e)
        except openai.APIStatusError as e:
            if not _retryable_status(e.status_code):
                raise DescribeError({category: f'HTTP {e.status_code} (not retried): '
                                               f'{e.message}'}) from None
            last, retry_after = f'HTTP {e.status_code}', _retry_after(e.response)
        except openai.APITimeoutError:
            last = 'request timed out'
        except openai.APIConnectionError as e:
            last = f'connection error ({e.__cause__ or e})'
        except openai.APIResponseValidationError as e:
            last = f'malformed response ({e.message})'
        except json.JSONDecodeError:
            last = 'response body is not JSON'
        if attempt + 1 < retry.max_attempts:
            delay = retry.delay(attempt, retry_after)
            log.warning('%s: attempt %d/%d failed (%s); retrying in %.2fs', category,
                        attempt + 1, retry.max_attempts, last, delay)
            if stop.wait(delay):
                raise _Cancelled
    raise DescribeError({category: f'gave up after {retry.max_attempts} attempts; '
                                   f'last error: {last}'})


def describe_categories(categories: Sequence[str], model: str, *, base_url: str | None = None,
                        dataset: str | None = None, cache: str | os.PathLike | None = None,
                        concurrency: int = 4, retry: RetryPolicy = RetryPolicy(),
                        timeout: float = 60.0, temperature: float = 0.7,
                        json_mode: bool = True,
                        on_done: Callable[[str, bool], None] | None = None
                        ) -> dict[str, list[str]]:
    """Describe ``categories`` with the chat model -> ``{category: [10-20 sentences]}``.

    Args:
        categories: category names (order kept in the result).
        model: chat model name on the server.
        base_url: server URL, e.g. ``http://127.0.0.1:8000/v1`` (default: OpenAI's).
        dataset: dataset name given to the model as context.
        cache: resumable cache file; categories already in it are not requested again.
        concurrency: maximum requests in flight.
        retry: backoff policy for faults and invalid answers.
        timeout: per-request timeout (s).
        json_mode: send ``response_format={"type": "json_object"}``.
        on_done: called ``(category, ok)`` in the calling thread after each category.
    Raises:
        DescribeError: some categories failed (the others are kept in ``cache``).
        KeyError: ``OPENAI_API_KEY`` is not set.
    """
    import openai

    if 'OPENAI_API_KEY' not in os.environ:
        raise KeyError('set OPENAI_API_KEY (any value for servers without authentication)')
    names = list(dict.fromkeys(categories))
    store = DescriptionCache(cache, model) if cache is not None else None
    results = {n: store.get(n) for n in names if store is not None and n in store}
    todo = [n for n in names if n not in results]
    failures: dict[str, str] = {}
    if todo:
        client = openai.OpenAI(base_url=base_url, api_key=os.environ['OPENAI_API_KEY'],
                               max_retries=0, timeout=timeout)
        stop = threading.Event()

        def work(name: str) -> list[str]:
            sentences = _describe_one(client, name, model=model, dataset=dataset, retry=retry,
                                      temperature=temperature, json_mode=json_mode, stop=stop)
            if store is not None:
                store.put(name, sentences)
            return sentences

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            futures = {pool.submit(work, n): n for n in todo}
            try:
                for fut in as_completed(futures):
                    name = futures[fut]
                    try:
                        results[name] = fut.result()
                    except DescribeError as e:
                        failures.update(e.failures)
                    if on_done is not None:
                        on_done(name, name in results)
            except BaseException:
                stop.set()
                for fut in futures:
                    fut.cancel()
                raise
    if failures:
        raise DescribeError(failures)
    return {n: results[n] for n in names}
