"""What the domain returns, as JSON holds it: one conversion for the CLI's ``--json`` and the HTTP
API, so both print the same keys and the same values.

Dataclasses become objects with their fields in order (nested ones too), mappings objects,
tuples, lists and sets arrays, enums their value. Anything else JSON has no type for (datetimes,
Decimals, UUIDs) becomes its ``str()``: a datetime reads ``2025-01-13 06:10:00+00:00``, a Decimal
keeps its digits (``18.54``, never a rounded float), as ``--json`` has always printed them.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping, Set

JSON = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]


def jsonable(value: object) -> JSON:
    if isinstance(value, enum.Enum):  # first: an IntEnum or a StrEnum is also an int or a str
        return jsonable(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Set):
        # Sets have no order of their own: sorted, so the same set prints the same line.
        return [jsonable(v) for v in sorted(value, key=str)]
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


def jsonable_object(value: object) -> dict[str, JSON]:
    """A dataclass or mapping as a JSON object, for callers that add keys of their own."""
    converted = jsonable(value)
    if not isinstance(converted, dict):
        raise TypeError(f"{type(value).__name__} does not make a JSON object")
    return converted


def dumps(value: object) -> str:
    """One JSON line; non-ASCII letters kept as they are (commune names, texts)."""
    return json.dumps(jsonable(value), ensure_ascii=False)
