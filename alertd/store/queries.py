"""Named SQL queries, kept in ``alertd/sql/*.sql`` files.

A file holds several queries, each introduced by a ``-- name: query_name`` line; ``queries("file")``
returns them by name. SQL stays SQL: readable, greppable, and reviewed by people who know SQL.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NAME_RE = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


@cache
def queries(file: str) -> dict[str, str]:
    text = (
        resources.files("alertd.store").joinpath("sql", f"{file}.sql").read_text(encoding="utf-8")
    )
    parts = _NAME_RE.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    found: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in found:
            raise ValueError(f"sql/{file}.sql: query {name} defined twice")
        found[name] = body.strip().rstrip(";")
    return found
