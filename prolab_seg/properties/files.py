"""Small file helpers shared by every writer: the output-path rule, atomic writes, a file lock
and content hashes."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import secrets
from pathlib import Path
from typing import Iterable, Iterator

from prolab_seg.errors import ProlabError


class OutputPathError(ProlabError, ValueError):
    """An output path would replace a file the command read."""


def _same_file(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def check_outputs(outputs: Iterable[str | os.PathLike],
                  inputs: Iterable[str | os.PathLike | None]) -> None:
    """The output-path rule of every writer: never replace a file the command read.

    Raises:
        OutputPathError: naming the output and the input it would replace (same path after
            resolving symlinks and ``..``, or a hard link to it).
    """
    read = [Path(p) for p in inputs if p is not None]
    for out in map(Path, outputs):
        for src in read:
            if _same_file(out, src):
                raise OutputPathError(f'refusing to write {out}: it would replace {src}, which '
                                      'this command reads; choose another output path')


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder + ``os.replace``.

    A reader (or a re-run after a crash/kill) sees either the old file or the new one, never a
    partial write. The file gets the permissions ``open()`` would give (0666 minus the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f'.{path.name}.{secrets.token_hex(6)}.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` encoded as UTF-8."""
    atomic_write_bytes(path, text.encode('utf-8'))


@contextlib.contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock for ``path`` (on the hidden ``.<name>.lock`` beside it,
    which outlives atomic replaces of ``path``), so that read-merge-write cycles of several
    processes on one file do not lose each other's updates."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent / f'.{path.name}.lock', os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
