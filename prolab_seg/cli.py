"""What every tool (``tools/``, the projects' CLIs) shares: user errors as one line, ``--debug``
for the traceback.

``sys.exit(cli.run(main))`` runs a tool's ``main(argv)``; an error of prolab-seg's own types
(:class:`~prolab_seg.errors.ProlabError`: a bad descriptions file, label space, checkpoint,
spec, output path, ...), a user-given path that does not exist or cannot be read or written
(``FileNotFoundError``, ``PermissionError``, ...) or one of the tool's extra types is printed as
``<tool>: error: <message>`` on stderr with exit code 2; Ctrl-C as ``<tool>: interrupted``
with exit code 130. ``--debug`` (anywhere on the command line) shows the traceback instead.
"""
from __future__ import annotations

import argparse
import inspect
import os.path as osp
import re
import sys
from typing import Callable, Sequence

from prolab_seg.errors import ProlabError

#: Errors a tool reports in one line: the project's own and bad user-given paths.
USER_ERRORS: tuple[type[BaseException], ...] = (
    ProlabError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
    FileExistsError)
DEBUG_FLAG = '--debug'
# mmengine's registry prefixes an error raised while building a module with
# "class `Name` in path/to/module.py: " (once per nesting level)
_BUILD_PREFIX = re.compile(r'^(?:class `\w+` in [^:]+: )+')


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """Document ``--debug`` in a tool's ``--help`` (:func:`run` handles it)."""
    parser.add_argument(DEBUG_FLAG, action='store_true',
                        help='show the traceback of an error instead of one line')


def error_message(error: BaseException) -> str:
    """One line for ``error``: an ``OSError``'s reason and path, else its message without
    mmengine's build prefixes (several lines are joined)."""
    if isinstance(error, OSError) and error.filename is not None:
        return f'{error.strerror}: {error.filename}'
    text = _BUILD_PREFIX.sub('', str(error).strip())
    return ' '.join(line.strip() for line in text.splitlines() if line.strip()) or \
        type(error).__name__


def run(main: Callable[[list[str]], object], argv: Sequence[str] | None = None,
        *errors: type[BaseException]) -> int:
    """Run ``main(argv)`` (``argv`` default: ``sys.argv[1:]``) as described in the module
    docstring; ``errors``: further types this tool reports in one line.

    Returns:
        ``main``'s exit code (an int it returns, else 0), 2 for a reported error, 130 for
        Ctrl-C.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in argv
    argv = [a for a in argv if a != DEBUG_FLAG]
    tool = osp.basename(inspect.getsourcefile(main) or sys.argv[0])
    try:
        code = main(argv)
    except USER_ERRORS + errors as e:
        if debug:
            raise
        print(f'{tool}: error: {error_message(e)}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print(f'{tool}: interrupted', file=sys.stderr)
        return 130
    return code if isinstance(code, int) else 0
