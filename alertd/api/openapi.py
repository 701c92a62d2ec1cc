"""The OpenAPI 3.1 document, built from the route table: what is declared is what is served."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alertd import __version__
from alertd.api.idempotency import MAX_KEY
from alertd.api.problems import PROBLEM_SCHEMA, PROBLEM_TYPE
from alertd.api.routes import CODE_PATTERN, Route

# Every authenticated operation may answer these (the route's own errors among them).
_PROBLEMS = {
    400: "bad input: malformed JSON, or refused by the domain (the CLI's message)",
    401: "no token, or an unknown, rotated or disabled one",
    403: "the role or the territory does not allow it",
    404: "no such thing",
    409: "contradicts what is stored (e.g. the alert's state)",
    413: "the request body is too large",
    422: "the body or a parameter does not match the schema; an Idempotency-Key reused",
    429: "too many requests for this token: retry after Retry-After seconds",
    503: "the database cannot be reached",
}


def document(routes: Sequence[Route], prefix: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(prefix + route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "alertd",
            "version": __version__,
            "description": "Population alerts by SMS: what the alertd CLI does, over HTTP.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Problem": PROBLEM_SCHEMA},
        },
        "security": [{"bearer": []}],
    }


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": _parameters(route),
        "responses": {
            str(route.status): {
                "description": "done",
                "content": {"application/json": {"schema": route.response}},
            },
            **{
                str(status): {
                    "description": text,
                    "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
                for status, text in _PROBLEMS.items()
            },
        },
    }
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": route.body}},
        }
    return op


def _parameters(route: Route) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": f"^{CODE_PATTERN}$"}
            if name == "code"
            else {"type": "integer", "minimum": 1, "maximum": 10**18 - 1},
        }
        for name in route.path_params
    ]
    params += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in route.query.items()
    ]
    if route.method == "POST":
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": route.sends,
                "description": "a unique value per action: a retry with it never acts twice",
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
            }
        )
    return params
