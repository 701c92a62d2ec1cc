"""Health and metrics over HTTP (issue 15): ``/healthz``, ``/readyz`` and ``/metrics``.

- ``/healthz``: the process answers (an event loop that runs); touches nothing else. For a
  liveness probe: failing it means restart the process.
- ``/readyz``: the database answers within a second, its schema is the one this alertd knows
  (no migration pending), and the gateways' circuits, each named with its state; 503 when the
  database or the schema is not right, or every gateway's circuit is open. For a readiness
  probe or a load balancer: failing it means send no traffic here for now.
- ``/metrics``: Prometheus text, alertd's registry (delivery/metrics.py) and, read at each scrape,
  the database's figures and the breakers' states.

``add_routes`` puts them on any application (the API's, later); ``listening`` serves them on a
listener of their own (``[serve] metrics_listen``) for as long as the daemon runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from alertd.delivery import metrics
from alertd.delivery.live_index import LiveIndex
from alertd.errors import AlertdError
from alertd.logs import get_logger
from alertd.store import migrate
from alertd.store.lost import DATABASE_LOST
from gateways.base import Gateway

log = get_logger(__name__)
READY_TIMEOUT_S = 1.0
UNREACHABLE: tuple[type[BaseException], ...] = (*DATABASE_LOST, TimeoutError)
POOL: web.AppKey[asyncpg.Pool] = web.AppKey("alertd_health_pool", asyncpg.Pool)
GATEWAYS: web.AppKey[Sequence[Gateway]] = web.AppKey("alertd_health_gateways", Sequence)
INDEX: web.AppKey[LiveIndex | None] = web.AppKey("alertd_health_index", object)  # type: ignore[arg-type]


def add_routes(
    app: web.Application,
    *,
    pool: asyncpg.Pool,
    gateways: Sequence[Gateway],
    index: LiveIndex | None = None,
) -> None:
    """Add /healthz, /readyz and /metrics to ``app``; ``index``: the daemon's subscriber index,
    whose state they report (a preview answers from the database while it loads)."""
    app[POOL] = pool
    app[GATEWAYS] = gateways
    app[INDEX] = index
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", scrape)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def breakers(gateways: Sequence[Gateway]) -> dict[str, str]:
    return {g.name: g.health() for g in gateways}


async def readiness(pool: asyncpg.Pool, gateways: Sequence[Gateway]) -> tuple[bool, dict[str, Any]]:
    """Whether this daemon can do its work now, and why not (one line each)."""
    body: dict[str, Any] = {"database": "ok", "migrations": "current"}
    try:
        async with asyncio.timeout(READY_TIMEOUT_S), pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
            try:
                await migrate.check_schema(conn)
            except AlertdError as exc:
                body["migrations"] = str(exc)
    except UNREACHABLE as exc:
        body["database"] = f"unreachable ({type(exc).__name__})"
        body["migrations"] = "unknown"
    body["gateways"] = breakers(gateways)
    open_all = bool(gateways) and all(s == "open" for s in body["gateways"].values())
    ready = body["database"] == "ok" and body["migrations"] == "current" and not open_all
    if open_all:
        body["why"] = "every gateway's circuit is open"
    body["ready"] = ready
    return ready, body


async def readyz(request: web.Request) -> web.Response:
    ready, body = await readiness(request.app[POOL], request.app[GATEWAYS])
    if (index := request.app[INDEX]) is not None:  # said, not required: previews fall back
        body["subscriber_index"] = {"loaded": index.ready, "subscribers": index.size}
    return web.json_response(body, status=200 if ready else 503)


async def exposition(
    pool: asyncpg.Pool, gateways: Sequence[Gateway], index: LiveIndex | None = None
) -> bytes:
    """The Prometheus text of one scrape; without the database's figures when it is away."""
    scraped = CollectorRegistry(auto_describe=False)
    try:
        async with asyncio.timeout(READY_TIMEOUT_S * 5):
            figures = await metrics.read_figures(pool)
    except UNREACHABLE as exc:
        log.warning("metrics.database_unreachable", error=type(exc).__name__)
        figures = None
    scraped.register(
        metrics.ScrapeCollector(
            figures or metrics.DatabaseFigures(),
            breakers(gateways),
            None if index is None else (index.ready, index.size),
        )
    )
    return generate_latest(metrics.REGISTRY) + generate_latest(scraped)


async def scrape(request: web.Request) -> web.Response:
    body = await exposition(request.app[POOL], request.app[GATEWAYS], request.app[INDEX])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@contextlib.asynccontextmanager
async def listening(
    listen: str,
    *,
    pool: asyncpg.Pool,
    gateways: Sequence[Gateway],
    index: LiveIndex | None = None,
) -> AsyncIterator[None]:
    """Serve the three routes on ``listen`` (host:port) for the block."""
    app = web.Application()
    add_routes(app, pool=pool, gateways=gateways, index=index)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, _, port = listen.rpartition(":")
    try:
        await web.TCPSite(runner, host, int(port)).start()
    except OSError as exc:
        await runner.cleanup()
        raise AlertdError(
            f"serve.metrics_listen {listen}: cannot listen there ({exc.strerror}): choose a free "
            "host:port"
        ) from None
    log.info("serve.metrics", listen=listen)
    try:
        yield
    finally:
        await runner.cleanup()
