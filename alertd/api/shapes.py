"""JSON Schemas of the domain's answers, derived from their dataclasses' type hints: the OpenAPI
document describes exactly what ``alertd.jsonable`` makes of what the handlers return."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

Schema = dict[str, Any]
_SCALARS: dict[Any, Schema] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    # jsonable writes these as their str(): a Decimal keeps its digits, a datetime its offset
    decimal.Decimal: {"type": "string"},
    datetime.datetime: {"type": "string"},
    datetime.date: {"type": "string"},
    type(None): {"type": "null"},
}


def schema_of(hint: Any) -> Schema:
    """The schema of what jsonable makes of a value of this type ({} when it cannot say)."""
    if hint in _SCALARS:
        return dict(_SCALARS[hint])
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return dataclass_schema(hint)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [schema_of(a) for a in args]}
    if origin is not None and isinstance(origin, type):
        if issubclass(origin, Mapping):
            return {"type": "object", "additionalProperties": schema_of(args[1]) if args else {}}
        if issubclass(origin, tuple) and args and args[-1] is not Ellipsis:
            # A fixed tuple: its length, and any of its element types (prefixItems would say
            # which is where, but not every OpenAPI tool reads it yet).
            return {
                "type": "array",
                "items": _any_of([schema_of(a) for a in args]),
                "minItems": len(args),
                "maxItems": len(args),
            }
        if issubclass(origin, Sequence | frozenset | set):
            return {"type": "array", "items": schema_of(args[0]) if args else {}}
    return {}


def _any_of(schemas: list[Schema]) -> Schema:
    unique = [s for i, s in enumerate(schemas) if s not in schemas[:i]]
    return unique[0] if len(unique) == 1 else {"anyOf": unique}


def dataclass_schema(cls: type) -> Schema:
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    return {
        "type": "object",
        "required": [f.name for f in fields],
        "properties": {f.name: schema_of(hints[f.name]) for f in fields},
    }


def list_schema(cls: type) -> Schema:
    return {"type": "array", "items": dataclass_schema(cls)}
