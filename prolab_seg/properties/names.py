"""Category names as every reader takes them: Unicode NFC, printable, one spelling per name.

A name typed on a Mac (NFD: ``e`` + combining accent) and the same name from a Linux file
(NFC: ``é``) are one category, so every file reader and name list passes through
:func:`category_names`: names come back in NFC; two spellings of one name in one list, and
control characters (newlines, escape sequences, NUL, ...), are refused, the name printed
escaped.
"""
from __future__ import annotations

import unicodedata
from typing import Iterable

#: Unicode categories refused in names: control characters and line / paragraph separators.
_REFUSED = {'Cc', 'Zl', 'Zp'}


def category_names(names: Iterable[object], source: str,
                   error: type[Exception] = ValueError) -> list[str]:
    """``names`` in Unicode NFC, checked.

    Args:
        names: category names, in order.
        source: the file or flag they come from (error messages).
        error: exception type to raise (the caller's own, e.g. ``DescriptionsError``).
    Raises:
        error: a name that is not a non-empty string or holds a control character, or two
            entries that are one name (the same, or NFC and NFD spellings of it).
    """
    out: list[str] = []
    first: dict[str, str] = {}
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise error(f'{source}: category names must be non-empty strings, got {name!r}')
        bad = sorted({f'U+{ord(c):04X}' for c in name if unicodedata.category(c) in _REFUSED})
        if bad:
            raise error(f'{source}: category name {name!r} holds control characters '
                        f'({", ".join(bad)}); remove them')
        nfc = unicodedata.normalize('NFC', name)
        if nfc in first:
            other = first[nfc]
            raise error(f'{source}: duplicate category name {name!r}' if other == name else
                        f'{source}: categories {other!r} and {name!r} are one name in two '
                        'Unicode spellings (NFC and NFD); keep one')
        first[nfc] = name
        out.append(nfc)
    return out
