"""``create_app``: the aiohttp application of the HTTP API, versioned under ``/v1``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import structlog
from aiohttp import web

from alertd.alerts import lifecycle
from alertd.api import (
    handlers_admin,
    handlers_alerts,
    handlers_catalog,
    handlers_desk,
    handlers_keywords,
    handlers_people,
    handlers_schedules,
)
from alertd.api.endpoint import answer, endpoint
from alertd.api.indexed import index_matcher
from alertd.api.openapi import document
from alertd.api.problems import problem_body
from alertd.api.ratelimit import RateLimiter
from alertd.api.routes import Env, Route
from alertd.config import Config
from alertd.delivery.live_index import LiveIndex
from alertd.errors import AlertdError, InputError
from templates import Catalog, TemplateError

PREFIX = "/v1"
MAX_BODY = 8 * 1024 * 1024  # a zone of a few MB fits; a runaway upload gets 413
# A burst of five seconds' worth: a console loading a page fires a few dozen requests at once.
BURST_S = 5.0
log = structlog.get_logger("alertd.api")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def all_routes() -> list[Route]:
    return [
        *handlers_alerts.ROUTES,
        *handlers_catalog.ROUTES,
        *handlers_admin.ROUTES,
        *handlers_keywords.ROUTES,
        *handlers_people.ROUTES,
        *handlers_desk.ROUTES,
        *handlers_schedules.ROUTES,
    ]


def create_app(
    config: Config,
    pool: asyncpg.Pool,
    *,
    rate: float | None = None,
    burst: int | None = None,
    routes: Sequence[Route] | None = None,
    index: LiveIndex | None = None,
) -> web.Application:
    """``index``: the daemon's subscriber index, which previews and sends match zones against
    once it is loaded (the database before, and without one)."""
    env = Env(config, pool, context(config, pool, index))
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_problems])
    rate = config.serve.api_rate if rate is None else rate
    limiter = RateLimiter(rate, max(1, round(rate * BURST_S)) if burst is None else burst)
    table = list(routes if routes is not None else all_routes())
    spec = document(table, PREFIX)
    for route in table:
        app.router.add_route(
            route.method, route.aiohttp_path(PREFIX), endpoint(route, env, limiter)
        )

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(spec)

    app.router.add_get(f"{PREFIX}/openapi.json", openapi)
    return app


def catalog(config: Config) -> Catalog:
    try:
        return Catalog(config.templates.directory)
    except TemplateError as exc:
        raise InputError(str(exc)) from None


def context(
    config: Config, pool: asyncpg.Pool, index: LiveIndex | None = None
) -> lifecycle.Context:
    """The lifecycle's context, built from the configuration as the CLI builds it; matching
    zones against ``index`` when given."""
    return lifecycle.Context(
        pool,
        catalog(config),
        None,
        {g.name: g.price_eur for g in config.gateways},
        config.gateways[0].rate if config.gateways else 0.0,
        config.zones.extent,
        index_matcher(index) if index is not None else None,
    )


@web.middleware
async def _problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """What no route answered (unknown path, wrong method, body too large) and what broke, as
    problems too: a client only ever parses one kind of error."""
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        detail = {
            404: f"no such resource: {request.method} {request.path} (see {PREFIX}/openapi.json)",
            405: f"{request.method} is not allowed on {request.path}",
            413: f"the request body is larger than {MAX_BODY // (1024 * 1024)} MB",
        }.get(exc.status, exc.reason)
        return answer(exc.status, problem_body(exc.status, detail), _allow(exc))
    except AlertdError as exc:  # a database that went away: 503, with the CLI's message
        log.warning("api.unavailable", error=exc.message)
        return answer(exc.http_status, problem_body(exc.http_status, exc.message))
    except Exception:
        log.exception("api.internal_error", path=request.path, method=request.method)
        return answer(500, problem_body(500, "internal error: the daemon's log says what broke"))
    return response


def _allow(exc: web.HTTPException) -> dict[str, str] | None:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else None
