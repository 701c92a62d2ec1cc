"""The API's JSON answers back into the domain's dataclasses, so that the CLI prints what comes
over HTTP with the same printers (alertd/cli/alert_output.py) as what it computed itself.

The inverse of alertd.jsonable, driven by the dataclasses' type hints: nested dataclasses,
tuples and lists of them, datetimes and Decimals (which jsonable wrote as their ``str()``),
optional fields, and fields the answer lacks (their defaults). Keys the dataclass does not know
(``note``, ``daemons`` added by the API) are left out: the caller reads them from the mapping.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from alertd.errors import AlertdError

T = TypeVar("T")


class AnswerError(AlertdError):
    """The server answered something this CLI does not read: another version of alertd?"""

    exit_code = 69


def revive(cls: type[T], value: object) -> T:
    """``value`` (decoded JSON) as an instance of the dataclass ``cls``."""
    try:
        return typing.cast(T, _convert(cls, value))
    except (TypeError, ValueError, KeyError, ArithmeticError) as exc:
        raise AnswerError(
            f"the API's answer does not read as {cls.__name__} ({exc}): is the server running "
            "the same version of alertd as this workstation?"
        ) from None


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(hint: Any, value: object) -> object:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an object for {hint.__name__}")
        hints = _hints(hint)
        given = {
            f.name: _convert(hints[f.name], value[f.name])
            for f in dataclasses.fields(hint)
            if f.name in value
        }
        return hint(**given)
    if origin is tuple:
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_convert(item, v) for v in _items(value))
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return [_convert(item, v) for v in _items(value)]
    if hint is datetime:
        return datetime.fromisoformat(str(value))
    if hint is Decimal:
        return Decimal(str(value))
    if hint is float and isinstance(value, int):
        return float(value)
    return value  # int, str, bool, mappings of plain values, Any


def _items(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError("expected an array")
    return value
