"""``alertd bench api``: the HTTP API of a running daemon on N synthetic subscribers (issue 15),
in a scratch database: previews per second and their p50/p99 over HTTP, the time from a send
request to the fake gateway's first submission, status polled by 100 clients at once, and the
daemon's RSS; the baseline in the same run is today's CLI path (the domain preview, candidates
loaded and the index built per call).

The daemon runs in this process (``daemon.serve`` with the API listener and a fake gateway), so
its RSS is this process's: measured before the baseline, whose Python lists would inflate it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import time
from typing import Any

import aiohttp
import asyncpg

from alertd import operators
from alertd.alerts import lifecycle
from alertd.api import server
from alertd.api.app import context
from alertd.config import Config, with_overrides
from alertd.delivery import live_index
from alertd.store.database import dsn_for, open_database
from alertd.tools import in_process
from alertd.tools.bench_import import scratch_database
from alertd.tools.bench_index import EPCI, _seed, peak_rss_mb, rss_mb
from gateways.fake import FakeGateway

PARAMS = {
    "commune": "Dunkerque",
    "zone": "quartier de la digue",
    "until": "nouvel ordre",
    "instructions": "Ne téléphonez pas.",
    "sender": "Mairie",
    "url": "dunkerque.fr",
}
POLLERS = 100  # status clients at once
POLLS_EACH = 20
READY_TIMEOUT_S = 600.0


def _ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def api_benchmark(config: Config, subscribers: int, previews: int) -> dict[str, Any]:
    name = f"alertd_bench_api_{os.getpid()}"
    async with (
        open_database(config, migrate_now=False) as admin,
        scratch_database(admin.dsn, name),
    ):
        port = _free_port()
        scratch = with_overrides(
            config,
            database={"url": dsn_for(admin.dsn, name), "pool_max": 8},
            # The per-token rate limit would measure itself, not the previews.
            serve={"api_listen": f"127.0.0.1:{port}", "api_rate": 1e6, "metrics_listen": ""},
        )
        async with open_database(scratch) as db:
            specs = await _seed(db.pool, subscribers)
            await db.pool.execute("UPDATE tenants SET approval_threshold = 2000000000")
            token = await _token(db.pool)
            zones = [dict(s.geometries[0]) for s in specs]
            async with in_process.serving(
                scratch,
                lambda pool, gateways, index: server.serving(scratch, pool, index=index),
                ready_timeout_s=READY_TIMEOUT_S,
            ) as (index, gateway):
                return await _measure(
                    scratch,
                    db.pool,
                    index=index,
                    gateway=gateway,
                    base=f"http://127.0.0.1:{port}",
                    token=token,
                    zones=zones,
                    previews=previews,
                )


async def _token(pool: asyncpg.Pool, who: str = "api") -> str:
    new = await operators.create_operator(
        pool,
        tenant_code=EPCI,
        name=f"Banc d'essai {who}",
        role="admin",
        email=f"bench.{who}@example.org",
        actor="bench",
    )
    return new.token


async def _timed(session: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> float:
    started = time.perf_counter()
    async with session.request(method, url, **kw) as resp:
        body = await resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {url}: {resp.status} {body[:300]!r}")
    return time.perf_counter() - started


async def _measure(
    config: Config,
    pool: asyncpg.Pool,
    *,
    index: live_index.LiveIndex,
    gateway: FakeGateway,
    base: str,
    token: str,
    zones: list[dict[str, Any]],
    previews: int,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=POLLERS)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as http:
        alerts = [await _draft(http, zone) for zone in zones]
        took = []
        started = time.perf_counter()
        for i in range(previews):
            took.append(await _timed(http, "GET", f"/v1/alerts/{alerts[i % len(alerts)]}/preview"))
        preview_s = time.perf_counter() - started
        first_s, answered_s, recipients = await _send(http, gateway, alerts[0])
        polls, poll_s = await _poll(http, alerts[0])
    rss, peak = rss_mb(), peak_rss_mb()
    baseline = await _baseline(config, pool, alerts)
    return {
        "benchmark": "api",
        "subscribers": index.size,
        "previews": previews,
        "previews_per_s": round(previews / preview_s, 1),
        "preview": _ms(took),
        "send_to_first_submission_ms": round(first_s * 1000, 1),
        "send_answered_ms": round(answered_s * 1000, 1),
        "sent_recipients": recipients,
        "status_clients": POLLERS,
        "status_per_s": round(len(polls) / poll_s, 1),
        "status": _ms(polls),
        "rss_mb": rss,
        "peak_rss_mb": peak,
        "baseline_preview": _ms(baseline),
        "speedup_p50": round(statistics.median(baseline) / statistics.median(took), 1),
        "targets": {"preview_ms": 300, "first_submission_ms": 1000, "rss_mb": 400},
    }


async def _draft(http: aiohttp.ClientSession, zone: dict[str, Any]) -> int:
    body = {"template": "submersion", "params": PARAMS, "geojson": zone}
    async with http.post("/v1/alerts", json=body) as resp:
        if resp.status != 201:
            raise RuntimeError(f"draft refused: {resp.status} {await resp.text()}")
        return int((await resp.json())["alert"])


async def _send(
    http: aiohttp.ClientSession, gateway: FakeGateway, alert: int
) -> tuple[float, float, int]:
    """Seconds from the send request to the fake gateway's first acceptance, and to the send's
    answer (every delivery written); recipients."""
    before = len(gateway.received)
    started = time.perf_counter()
    sending = asyncio.create_task(
        _json(http.post(f"/v1/alerts/{alert}/send", json={}, headers={"Idempotency-Key": "b"}))
    )
    while len(gateway.received) == before:
        if sending.done() and sending.exception() is not None:
            raise RuntimeError(f"the send failed: {sending.exception()}")
        await asyncio.sleep(0.001)
    first = time.perf_counter() - started
    sent = await sending
    answered = time.perf_counter() - started
    return first, answered, int(sent["recipients"])


async def _json(request: Any) -> dict[str, Any]:
    async with request as resp:
        if resp.status != 200:
            raise RuntimeError(f"{resp.status} {await resp.text()}")
        return dict(await resp.json())


async def _poll(http: aiohttp.ClientSession, alert: int) -> tuple[list[float], float]:
    """POLLERS clients each asking the alert's status POLLS_EACH times, all at once."""

    async def client() -> list[float]:
        return [await _timed(http, "GET", f"/v1/alerts/{alert}") for _ in range(POLLS_EACH)]

    started = time.perf_counter()
    results = await asyncio.gather(*(client() for _ in range(POLLERS)))
    return [t for r in results for t in r], time.perf_counter() - started


async def _baseline(config: Config, pool: asyncpg.Pool, alerts: list[int]) -> list[float]:
    """Today's CLI path: the domain preview without an index (loaded and built per call)."""
    ctx = context(config, pool)  # no index: as `alertd alert preview` builds it
    op = await _operator(pool)
    took = []
    for alert in alerts[1:4]:
        started = time.perf_counter()
        await lifecycle.preview(ctx, op, alert)
        took.append(time.perf_counter() - started)
    return took


async def _operator(pool: asyncpg.Pool) -> operators.Operator:
    found = await operators.authenticate(pool, await _token(pool, "cli"))
    assert found is not None  # noqa: S101 - just created
    return found
