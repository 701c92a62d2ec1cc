"""Rows to PostgreSQL's COPY text format, so checked rows cross process boundaries as one bytes
blob instead of a million pickled tuples (the import's main process then only forwards bytes).

Format: one line per row, columns separated by tabs, NULL as ``\\N``, backslash, tab, newline and
carriage return escaped; arrays as ``{a,b}`` literals with their elements double-quoted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _array(items: Sequence[object]) -> str:
    quoted = ('"' + str(i).replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items)
    return "{" + ",".join(quoted) + "}"


def _text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def _other(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return _text(_array(value))
    return _text(str(value))


# One dict look-up per value: this runs for every column of every imported row.
_FORMATTERS: dict[type, Callable[[Any], str]] = {
    str: _text,
    int: str,
    float: repr,  # shortest form that reads back to the same float
    bool: lambda v: "t" if v else "f",
    type(None): lambda _: "\\N",
    list: lambda v: _text(_array(v)),
}


def field(value: object) -> str:
    return _FORMATTERS.get(type(value), _other)(value)


def encode_rows(rows: Iterable[Sequence[object]]) -> bytes:
    return "".join(["\t".join([field(v) for v in row]) + "\n" for row in rows]).encode("utf-8")


def drop_lines(payload: bytes, positions: set[int]) -> bytes:
    """The payload without the rows at these positions (0-based); escaping keeps one row a line."""
    lines = payload.splitlines(keepends=True)
    return b"".join(line for i, line in enumerate(lines) if i not in positions)
