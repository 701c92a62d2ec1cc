"""One route's request, from the bearer token to the JSON answer: rate limit, operator, parsing,
Idempotency-Key, the handler, and every error as a problem."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from alertd.api import idempotency
from alertd.api.auth import bearer, operator_of
from alertd.api.problems import PROBLEM_TYPE, ApiProblem, problem_body
from alertd.api.ratelimit import RateLimiter, retry_after
from alertd.api.routes import Call, Env, Route
from alertd.api.validation import read_body, read_query
from alertd.errors import AlertdError
from alertd.jsonable import jsonable
from alertd.operators import Operator, hash_token

log = structlog.get_logger("alertd.api")
AiohttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type=PROBLEM_TYPE if status >= 400 else "application/json",
        headers=headers,
    )


def endpoint(route: Route, env: Env, limiter: RateLimiter) -> AiohttpHandler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            token = bearer(request)
            _admit(limiter, token)
            op = await operator_of(env.pool, token)
            with structlog.contextvars.bound_contextvars(operator=op.id, route=route.operation_id):
                return await _authenticated(route, env, op, request)
        except ApiProblem as exc:
            return answer(exc.status, problem_body(exc.status, exc.detail), exc.headers)
        except AlertdError as exc:
            return answer(exc.http_status, problem_body(exc.http_status, exc.message))

    return handle


def _admit(limiter: RateLimiter, token: str) -> None:
    """Counted before the token is looked up: guessing tokens is rate-limited too."""
    wait = limiter.take(hash_token(token), time.monotonic())
    if wait:
        raise ApiProblem(
            429,
            f"too many requests with this token (at most {limiter.rate:g} a second): "
            f"retry in {retry_after(wait)} s",
            {"Retry-After": retry_after(wait)},
        )


async def _authenticated(
    route: Route, env: Env, op: Operator, request: web.Request
) -> web.Response:
    path = {name: int(request.match_info[name]) for name in route.path_params if name != "code"}
    query = read_query(request, route)
    body = await read_body(request, route)
    key = None
    if route.method == "POST":
        key = idempotency.key_of(request.headers.get("Idempotency-Key"), required=route.sends)
    code = request.match_info.get("code")
    call = Call(env, op, f"operator:{op.id}", body, path, code, query, request)
    if key is None:
        status, value = await _run(route, call)
        return answer(status, value)
    digest = idempotency.request_hash(route.method, request.path, body)
    stored = await idempotency.claim(env.pool, op.id, key, digest)
    if stored is not None:
        log.info("api.idempotent_replay", key=key, status=stored.status)
        return answer(stored.status, stored.body, {"Idempotent-Replayed": "true"})
    try:
        status, value = await _run(route, call)
    except BaseException:
        # A server error or a cancelled request: the key is free again, so a retry does the work.
        await idempotency.release(env.pool, op.id, key)
        raise
    if status >= 300:
        # Refused: nothing was done, so the retry may do it (once the alert is there, approved…).
        await idempotency.release(env.pool, op.id, key)
    else:
        await idempotency.store(env.pool, op.id, key, status, value)
    return answer(status, value)


async def _run(route: Route, call: Call) -> tuple[int, Any]:
    """The handler's answer, or the problem a client error makes (a server error propagates)."""
    try:
        reply = await route.handler(call)
    except ApiProblem as exc:
        return exc.status, problem_body(exc.status, exc.detail)
    except AlertdError as exc:
        if exc.http_status >= 500:
            raise
        return exc.http_status, problem_body(exc.http_status, exc.message)
    return reply.status, jsonable(reply.value)
