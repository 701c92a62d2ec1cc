"""The configuration handed from ``alertd serve`` to a process of its own (a sign-up page
process), as JSON: built once in the daemon, never read again from an environment that could
differ, and never a pickle (a process that faces the internet decodes only plain data).

Gateways are not carried (their secrets stay in the daemon; nothing it hands over sends SMS)."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

from alertd.config.model import Config
from alertd.errors import ConfigError


def dumps(config: Config) -> bytes:
    """The sections of ``config`` (without its gateways) as JSON."""
    if config.gateways:
        raise ConfigError("a configuration with gateways is never handed to another process")
    sections = {
        f.name: _plain(dataclasses.asdict(getattr(config, f.name)))
        for f in dataclasses.fields(Config)
        if f.name != "gateways"
    }
    return json.dumps(sections).encode()


def loads(data: bytes) -> Config:
    """The configuration ``dumps`` wrote; ConfigError when it is not that."""
    try:
        sections = json.loads(data)
        hints = typing.get_type_hints(Config)
        return Config(**{name: _section(hints[name], values) for name, values in sections.items()})
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ConfigError(f"the configuration handed over is not one: {exc}") from None


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}


def _section(cls: type[Any], values: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(**{k: _typed(hints[k], v) for k, v in values.items()})


def _typed(hint: Any, value: Any) -> Any:
    """JSON's lists and strings back into the field's tuple or Path."""
    if value is None:
        return None
    kinds = (
        typing.get_args(hint)
        if typing.get_origin(hint) in (typing.Union, types.UnionType)
        else (hint,)
    )
    if Path in kinds:
        return Path(value)
    if any(typing.get_origin(k) is tuple for k in kinds):
        return tuple(value)
    return value
