"""Errors as RFC 9457 problem details (``application/problem+json``).

The detail is the message the CLI prints for the same error (phone numbers masked); the status
comes from the error's class (alertd/errors.py), so the two front ends never disagree.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aiohttp import web

from alertd.errors import AlertdError
from alertd.logs import mask_message

PROBLEM_TYPE = "application/problem+json"
# Stable identifiers a client can switch on; they are names, not pages to fetch.
_SLUGS = {
    400: "bad-input",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
    429: "rate-limited",
    500: "internal",
    503: "unavailable",
}


def problem_body(status: int, detail: str) -> dict[str, Any]:
    slug = _SLUGS.get(status, "error")
    return {
        "type": f"urn:alertd:problem:{slug}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": mask_message(detail),
    }


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(problem_body(status, detail), ensure_ascii=False),
        content_type=PROBLEM_TYPE,
        headers=headers,
    )


def from_error(exc: AlertdError) -> web.Response:
    return problem(exc.http_status, exc.message)


class ApiProblem(Exception):
    """A refusal of the HTTP layer itself (bad JSON, a missing header): a status and a detail."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
