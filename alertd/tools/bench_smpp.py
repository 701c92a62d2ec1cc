"""``alertd bench smpp``: submit_sm per second through the whole durable path into an SMSC.

The SMSC simulator runs in its own process (``python -m alertd.tools.smsc_sim --latency-ms 20``,
as an operator's SMSC answers after a network round trip); N deliveries are written to the outbox
of a scratch database, then the real dispatcher (claims, hand-overs, leases, spreading, records)
and a receipt consumer per gateway run until every one is recorded. The same run measures the
baseline: one bind at window 1, on fewer deliveries (at 20 ms a message it is slow by design).
Nobody twice, nobody missing: the outbox's count against the simulator's own (its ``--stats``
file, when the simulator offers it; null otherwise), every recorded message id distinct.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from alertd.config import Config, with_overrides
from alertd.delivery import outbox
from alertd.delivery.consumer import consume
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from alertd.delivery.enqueue import Matched, write
from alertd.store.database import dsn_for, open_database
from alertd.tools.bench_import import scratch_database
from alertd.tools.smsc_sim.process import smsc_process
from gateways.base import Gateway
from gateways.smpp import SmppGateway

_WORLD = """
INSERT INTO tenants (code, kind, name) VALUES ('59183', 'commune', 'Dunkerque');
INSERT INTO subscribers (tenant_id, phone, postcode, status, consent_at)
SELECT 1, '+337' || lpad(i::text, 8, '0'), '59140', 'active', now()
FROM generate_series(1, {n}) i;
INSERT INTO alerts (tenant_id, hazard, severity, texts)
SELECT 1, 'submersion', 'life_safety', '{{"fr": "ALERTE SUBMERSION MARINE (exercice)"}}'
FROM generate_series(1, 2);
"""
POLL_S = 0.05
BASELINE_DELIVERIES = 500  # one bind at window 1 and 20 ms: ~10 s


@dataclass(frozen=True, slots=True)
class Setup:
    binds: int
    window: int


def smpp_gateways(port: int, setup: Setup) -> tuple[list[Gateway], dict[str, int]]:
    """The gateway of a run and its priority: one SMPP gateway of N binds (window per bind), as
    an operator's account with N binds is configured (``binds = N``)."""
    gateway = SmppGateway(
        "bench",
        host="127.0.0.1",
        port=port,
        system_id="alertd",
        password="bench",  # noqa: S106 - the loopback simulator takes any
        rate=0,
        window=setup.window,
        binds=setup.binds,
    )
    return [gateway], {gateway.name: 1}


async def smpp_benchmark(
    config: Config,
    deliveries: int,
    *,
    binds: int = 4,
    window: int = 50,
    latency_ms: float = 20.0,
    baseline_deliveries: int = BASELINE_DELIVERIES,
) -> dict[str, Any]:
    baseline_n = min(deliveries, baseline_deliveries)
    name = f"alertd_bench_smpp_{os.getpid()}"
    async with (
        open_database(config, migrate_now=False) as server,
        scratch_database(server.dsn, name),
    ):
        scratch = with_overrides(config, database={"url": dsn_for(server.dsn, name), "pool_max": 4})
        async with open_database(scratch) as db:
            await db.pool.execute(_WORLD.format(n=deliveries))
            run = await _run(db.pool, 1, deliveries, Setup(binds, window), latency_ms)
            base = await _run(db.pool, 2, baseline_n, Setup(1, 1), latency_ms)
    return {
        "benchmark": "smpp_durable",
        "deliveries": deliveries,
        "smsc_latency_ms": latency_ms,
        "binds": binds,
        "window": window,
        **run,
        "baseline": {"binds": 1, "window": 1, "deliveries": baseline_n, **base},
        "ratio_to_baseline": round(run["submit_sm_per_second"] / base["submit_sm_per_second"], 2),
    }


async def _run(
    pool: asyncpg.Pool, alert_id: int, n: int, setup: Setup, latency_ms: float
) -> dict[str, Any]:
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM subscribers ORDER BY id LIMIT $1", n)]
    await write(pool, alert_id, outbox.LIFE_SAFETY, Matched(ids, [], dict.fromkeys(ids, "fr")))
    with tempfile.TemporaryDirectory(prefix="alertd-bench-smpp-") as folder:
        stats_path = Path(folder) / "smsc.json"
        async with smsc_process(latency_ms, stats_path) as port:
            gateways, priorities = smpp_gateways(port, setup)
            seconds = await _dispatch(pool, alert_id, n, gateways, priorities)
        stats = _read_stats(stats_path)
    return {
        "seconds": round(seconds, 2),
        "submit_sm_per_second": round(n / seconds, 1),
        **await _witness(pool, alert_id, n, stats),
    }


async def _dispatch(
    pool: asyncpg.Pool,
    alert_id: int,
    n: int,
    gateways: list[Gateway],
    priorities: Mapping[str, int],
) -> float:
    """The daemon's dispatch loop and receipt consumers until all ``n`` are recorded; seconds.
    The gateways are started here and closed (which ends their consumers) on the way out."""
    for gateway in gateways:
        await gateway.start()
    dispatcher = Dispatcher(
        pool,
        gateways,
        worker="bench",
        settings=DispatchSettings(idle_s=0.01),
        priorities=priorities,
    )
    stop = asyncio.Event()
    started = time.perf_counter()
    tasks = [asyncio.create_task(dispatcher.run(stop))]
    tasks += [asyncio.create_task(consume(pool, g)) for g in gateways]
    try:
        while await _recorded(pool, alert_id) < n:
            await asyncio.sleep(POLL_S)
            for task in tasks:
                if task.done():
                    task.result()  # raises what killed it rather than waiting forever
        return time.perf_counter() - started
    finally:
        stop.set()
        await asyncio.gather(tasks[0], return_exceptions=True)
        for gateway in gateways:
            await gateway.close()
        await asyncio.gather(*tasks[1:], return_exceptions=True)


async def _recorded(pool: asyncpg.Pool, alert_id: int) -> int:
    counts = await outbox.progress(pool, alert_id)
    return sum(counts.get(s, 0) for s in ("submitted", "delivered", "failed", "expired"))


async def _witness(
    pool: asyncpg.Pool, alert_id: int, n: int, stats: dict[str, Any] | None
) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT count(*) FILTER (WHERE status IN ('submitted', 'delivered')) AS sent,"
        " count(DISTINCT (gateway, gateway_message_id)) AS ids,"
        " count(*) FILTER (WHERE attempts > 1 OR in_doubt) AS resent,"
        " count(DISTINCT gateway) AS gateways"
        " FROM deliveries WHERE alert_id = $1",
        alert_id,
    )
    assert row is not None  # noqa: S101 - an aggregate returns one row
    per_gateway = await pool.fetch(
        "SELECT gateway, count(*) AS n FROM deliveries WHERE alert_id = $1 GROUP BY 1 ORDER BY 1",
        alert_id,
    )
    seen = stats.get("submit_sm") if stats else None
    return {
        "recorded": row["sent"],
        "distinct_message_ids": row["ids"],
        "resent": row["resent"],
        "missing": n - row["sent"],
        "per_gateway": {r["gateway"]: r["n"] for r in per_gateway},
        "smsc_submit_sm": seen,
        "duplicates": None if seen is None else seen - row["sent"],
        "smsc_binds_max": stats.get("binds_max") if stats else None,
        "smsc_outstanding_max_per_bind": stats.get("outstanding_max_per_bind") if stats else None,
    }


def _read_stats(path: Path) -> dict[str, Any] | None:
    """The simulator's own counters, when it wrote them (a simulator without ``--stats`` did
    not: the figures are then null)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
