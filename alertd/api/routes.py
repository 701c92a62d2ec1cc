"""The one table of routes: each declares its method, path, role-free handler and JSON Schemas;
the same entry registers the aiohttp route, validates the request and builds the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiohttp import web

from alertd.alerts import lifecycle
from alertd.config import Config
from alertd.operators import Operator

Schema = dict[str, Any]
ID_PATTERN = "[0-9]{1,18}"
CODE_PATTERN = "[0-9A-Za-z]{1,20}"
ANY_OBJECT: Schema = {"type": "object"}


@dataclass(frozen=True, slots=True)
class Env:
    """What every handler may use, built once per application."""

    config: Config
    pool: asyncpg.Pool
    ctx: lifecycle.Context


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated request, parsed and validated against its route's schemas."""

    env: Env
    op: Operator
    actor: str  # as the audit log names the operator: operator:<id>
    body: Mapping[str, Any]
    path: Mapping[str, int]  # the ids in the path
    code: str | None  # a tenant's code in the path ({code}), if any
    query: Mapping[str, Any]
    request: web.Request


@dataclass(frozen=True, slots=True)
class Reply:
    value: object  # anything alertd.jsonable converts
    status: int = 200


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str  # GET, POST, PATCH (a partial change, naturally idempotent), DELETE
    path: str  # below /v1, OpenAPI style: /alerts/{id}
    handler: Handler
    summary: str
    tag: str
    response: Schema = field(default_factory=lambda: dict(ANY_OBJECT))
    status: int = 200
    body: Schema | None = None  # the request body's schema (None: no body)
    query: Mapping[str, Schema] = field(default_factory=dict)
    # Sends messages: an Idempotency-Key header is required, and a retry never sends twice.
    sends: bool = False

    @property
    def operation_id(self) -> str:
        words = [p for p in self.path.split("/") if p and not p.startswith("{")]
        return "_".join([self.method.lower(), *(w.replace("-", "_") for w in words)])

    @property
    def path_params(self) -> list[str]:
        return [p[1:-1] for p in self.path.split("/") if p.startswith("{")]

    def aiohttp_path(self, prefix: str) -> str:
        # A path parameter is a positive id, or a tenant's code (INSEE or SIREN, 2A004 in
        # Corsica): the router refuses anything else with a 404.
        return prefix + "".join(
            f"/{{{p[1:-1]}:{CODE_PATTERN if p == '{code}' else ID_PATTERN}}}"
            if p.startswith("{")
            else f"/{p}"
            for p in self.path.split("/")
            if p
        )


def obj(required: list[str] | None = None, **properties: Schema) -> Schema:
    """A closed object: unknown fields are refused (422), as a typo must not pass silently."""
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def with_fields(schema: Schema, fields: Mapping[str, Schema]) -> Schema:
    return {**schema, "properties": {**schema["properties"], **fields}}


def text(max_length: int = 200, min_length: int = 0) -> Schema:
    # No NUL: PostgreSQL's text cannot hold it, and no person types one.
    return {
        "type": "string",
        "minLength": min_length,
        "maxLength": max_length,
        "pattern": "^[^\\x00]*$",
    }


def integer(minimum: int = 0, maximum: int = 2**53) -> Schema:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def number(minimum: float, maximum: float) -> Schema:
    return {"type": "number", "minimum": minimum, "maximum": maximum}


def array(items: Schema, max_items: int = 100) -> Schema:
    return {"type": "array", "items": items, "maxItems": max_items}


def string_map(max_properties: int = 50) -> Schema:
    return {
        "type": "object",
        "additionalProperties": text(1000),
        "propertyNames": {"maxLength": 100, "pattern": "^[^\\x00]*$"},
        "maxProperties": max_properties,
    }


def list_of(items: Schema) -> Schema:
    return {"type": "array", "items": items}


BOOLEAN: Schema = {"type": "boolean"}
