"""Count the warnings of a long run instead of streaming them.

While :meth:`WarningTally.capture` is active, each of these is counted by its message instead of
being shown: every Python warning (each occurrence, not only the first per code location),
every mmengine logger record at ``WARNING`` level, and every line the libraries print to stdout
(e.g. mmengine's "Loads checkpoint by local backend from path: ..."; paths read ``<path>``).
mmengine records below ``WARNING`` are dropped; those at ``ERROR`` or above go to stderr as one
line each. :meth:`WarningTally.summary` gives one line per distinct message, most frequent first.
"""
from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
import warnings
from collections import Counter
from typing import Iterator, TextIO
from unittest import mock

from mmengine.logging import MMLogger

#: Characters of a message kept in its summary line.
MESSAGE_CHARS = 160
_PATH = re.compile(r'\S*/\S*')


def _short_path(filename: str) -> str:
    """``filename`` from its package folder on (``mmseg/models/builder.py``)."""
    return re.sub(r'^.*/(?:site-packages|dist-packages|lib/python[\d.]+)/', '', filename)


def _first_line(message: str) -> str:
    text = message.strip().splitlines()[0] if message.strip() else ''
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 3] + '...'


class _CountedLines(io.TextIOBase):
    """A stdout that counts its lines in ``counts`` while ``active``, else writes to
    ``stream`` (a logger's handler may keep it after the capture ends)."""

    def __init__(self, stream: TextIO, counts: Counter) -> None:
        self.stream, self.counts, self.active, self._tail = stream, counts, True, ''

    def write(self, text: str) -> int:
        if not self.active:
            return self.stream.write(text)
        *lines, self._tail = (self._tail + text).split('\n')
        for line in lines:
            if line.strip():
                self.counts[f'printed: {_first_line(_PATH.sub("<path>", line))}'] += 1
        return len(text)

    def flush(self) -> None:
        if not self.active:
            self.stream.flush()

    def close_capture(self) -> None:
        self.write('\n')
        self.active = False


class WarningTally:
    """Counts of distinct warning messages (``Counter``: message line -> occurrences)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    @contextlib.contextmanager
    def capture(self) -> Iterator[WarningTally]:
        """Count instead of show, for the duration of the block (see the module docstring)."""
        stdout = _CountedLines(sys.stdout, self.counts)

        def count_logged(logger: MMLogger, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                print(f'mmengine {record.levelname}: {record.getMessage()}', file=sys.stderr)
            elif record.levelno >= logging.WARNING:
                self.counts[f'mmengine {record.levelname}: '
                            f'{_first_line(record.getMessage())}'] += 1

        def count_warning(message, category, filename, lineno, file=None, line=None) -> None:
            self.counts[f'{category.__name__}: {_first_line(str(message))} '
                        f'({_short_path(filename)}:{lineno})'] += 1

        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(stdout), \
                    mock.patch.object(MMLogger, 'callHandlers', count_logged):
                warnings.simplefilter('always')
                warnings.showwarning = count_warning
                yield self
        finally:
            stdout.close_capture()

    def summary(self, top: int = 5) -> list[str]:
        """Lines: the total, then the ``top`` most frequent messages with their counts."""
        if not self.counts:
            return ['warnings and library messages: none']
        total = sum(self.counts.values())
        lines = [f'warnings and library messages: {total} in all, {len(self.counts)} distinct'
                 + (f'; the {top} most frequent:' if len(self.counts) > top else ':')]
        lines += [f'  {n:5d} x {msg}' for msg, n in self.counts.most_common(top)]
        if len(self.counts) > top:
            rest = total - sum(n for _, n in self.counts.most_common(top))
            lines.append(f'  ... {len(self.counts) - top} more distinct ({rest} in all)')
        return lines
