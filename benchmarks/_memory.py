"""Wall time and memory of this process, for the benchmarks (Linux ``/proc``).

Imported by the scripts of this folder (``from _memory import measure``: a script's folder is
on its ``sys.path``) and by the projects' benchmarks, run from the repository root with
``python -m``, as ``benchmarks._memory``.
"""
from __future__ import annotations

import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def status_mib(field: str) -> float:
    """A memory field of ``/proc/self/status`` in MiB: ``VmRSS`` (resident set size now),
    ``VmHWM`` (its peak: the high-water mark), ..."""
    text = Path('/proc/self/status').read_text()
    return int(re.search(rf'^{field}:\s+(\d+) kB', text, re.M).group(1)) / 1024


@contextmanager
def measure(row: dict) -> Iterator[dict]:
    """Fill ``row`` with the block's wall seconds (``time_s``), the process's peak RSS during it
    (``peak_mib``: VmHWM, reset to the current RSS through ``/proc/self/clear_refs`` first) and
    how far that peak rose above the RSS at the start (``delta_mib``)."""
    Path('/proc/self/clear_refs').write_text('5')
    start_rss = status_mib('VmRSS')
    t0 = time.perf_counter()
    yield row
    row['time_s'] = time.perf_counter() - t0
    row['peak_mib'] = status_mib('VmHWM')
    row['delta_mib'] = row['peak_mib'] - start_rss
