"""Request parsing: JSON bodies and query strings checked against their route's schemas; any
mismatch is a 4xx problem, never a server error."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from alertd.api.problems import ApiProblem
from alertd.api.routes import Route, Schema

_validators: dict[int, Draft202012Validator] = {}


def _validator(schema: Schema) -> Draft202012Validator:
    found = _validators.get(id(schema))
    if found is None:
        found = _validators[id(schema)] = Draft202012Validator(schema)
    return found


def check(schema: Schema, value: object, where: str) -> None:
    error = best_match(_validator(schema).iter_errors(value))
    if error is not None:
        at = "/".join(str(p) for p in error.absolute_path)
        raise ApiProblem(422, f"{where}{'.' + at if at else ''}: {error.message}")


async def read_body(request: web.Request, route: Route) -> Mapping[str, Any]:
    if route.body is None:
        return {}
    raw = await request.read()  # bounded by the application's client_max_size (413 beyond)
    if not raw.strip():
        value: Any = {}
    else:
        try:
            value = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiProblem(400, f"the request body is not valid JSON: {exc}") from None
    check(route.body, value, "body")
    return dict(value)


def read_query(request: web.Request, route: Route) -> dict[str, Any]:
    unknown = sorted(set(request.query) - set(route.query))
    if unknown:  # as for the body: a misspelt parameter must not be ignored without a word
        known = ", ".join(route.query) or "none"
        raise ApiProblem(422, f"unknown query parameter {unknown[0]!r} (known: {known})")
    values: dict[str, Any] = {}
    for name, schema in route.query.items():
        raw = request.query.get(name)
        if raw is None:
            continue
        value: Any = raw
        if schema.get("type") == "integer":
            try:
                value = int(raw)
            except ValueError:
                raise ApiProblem(
                    422, f"query {name}: expected a whole number, not {raw!r}"
                ) from None
        check(schema, value, f"query {name}")
        values[name] = value
    return values
