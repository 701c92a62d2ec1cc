"""``alertd bench index``: the daemon's in-memory subscriber index (issue 15) on N synthetic
subscribers, against today's per-call path (candidates loaded and the index built per preview),
in the same run, in a scratch database: load time, preview p50/p99, the time for a change to be
visible, the process's RSS, and whether both paths find the same people.
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from shapely.geometry import mapping

from alertd.alerts import hazard_zones, territory_data
from alertd.config import METROPOLE_EXTENT, Config, with_overrides
from alertd.delivery import live_sync
from alertd.delivery.live_index import AlertSpec, LiveIndex, Reach, preview
from alertd.store.database import dsn_for, open_database
from alertd.tenants import load_territory, sample_territory
from alertd.tools.bench_import import scratch_database

SEED = 59183
EPCI = "245900428"
# Residents around each commune's centre (a gaussian of ~1.5 km), a fifth by postcode only, 30 %
# with the topic "dechets", 5 % in English: as the demo's synthetic data, made by the server.
_SUBSCRIBERS = """
INSERT INTO subscribers (tenant_id, phone, lon, lat, postcode, language, topics, status,
                         consent_at)
SELECT c.id, '+337' || lpad(i::text, 8, '0'),
       CASE WHEN r.only_pc THEN NULL ELSE c.lon + r.dx / (111320 * cos(radians(c.lat))) END,
       CASE WHEN r.only_pc THEN NULL ELSE c.lat + r.dy / 110540 END,
       c.postcode, CASE WHEN random() < 0.05 THEN 'en' ELSE 'fr' END,
       CASE WHEN random() < 0.3 THEN '{dechets}'::text[] ELSE '{}' END, 'active', now()
FROM generate_series(1, $1) i
CROSS JOIN LATERAL (
    SELECT random() < 0.2 AS only_pc,
           1500 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS dx,
           1500 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS dy,
           (i % cardinality($2::bigint[])) + 1 AS k
) r
CROSS JOIN LATERAL (
    SELECT ($2::bigint[])[r.k] AS id, ($3::float8[])[r.k] AS lon, ($4::float8[])[r.k] AS lat,
           ($5::text[])[r.k] AS postcode
) c
"""


def rss_mb() -> float:
    """The process's resident memory now (Linux), in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
    }


async def _timed(runs: int, call: Callable[[int], Awaitable[Reach]]) -> tuple[list[float], Reach]:
    took, last = [], None
    for i in range(runs):
        started = time.perf_counter()
        last = await call(i)
        took.append(time.perf_counter() - started)
    assert last is not None  # noqa: S101 - runs >= 1
    return took, last


async def _seed(pool: asyncpg.Pool, subscribers: int) -> list[AlertSpec]:
    await load_territory(pool, "bench")
    await territory_data.import_demo_areas(pool, EPCI, METROPOLE_EXTENT, "bench")
    _, communes = sample_territory()
    ids = {r["code"]: r["id"] for r in await pool.fetch("SELECT id, code FROM tenants")}
    placed = [c for c in communes if c.lon is not None and c.lat is not None and c.postcodes]
    await pool.execute(
        _SUBSCRIBERS,
        subscribers,
        [ids[c.code] for c in placed],
        [c.lon for c in placed],
        [c.lat for c in placed],
        [c.postcodes[0] for c in placed],
    )
    await pool.execute("ANALYZE subscribers")
    rng = random.Random(SEED)  # noqa: S311 - reproducible zones, not secrets
    epci = ids[EPCI]
    specs = []
    for _ in range(20):
        c = rng.choice(placed)
        zone = hazard_zones.make_circle(c.lon or 0, c.lat or 0, rng.uniform(500, 2500))
        specs.append(AlertSpec(epci, [dict(mapping(zone.geometry))], life_safety=True))
    return specs


async def _change_visible(pool: asyncpg.Pool, index: LiveIndex, tenant: int, n: int) -> list[float]:
    """Seconds from a subscriber's insert (committed) to the index holding them."""
    stop = asyncio.Event()
    task = asyncio.create_task(live_sync.follow(index, stop))
    took = []
    try:
        for i in range(n):
            before = index.size
            started = time.perf_counter()
            await pool.execute(
                "INSERT INTO subscribers (tenant_id, phone, lon, lat, postcode, status, "
                "consent_at) VALUES ($1, $2, 2.37, 51.03, '59140', 'active', now())",
                tenant,
                f"+33799{i:07d}",
            )
            while index.size == before:
                if task.done():
                    task.result()  # what stopped it
                    raise RuntimeError("the index stopped following the change log")
                await asyncio.sleep(0.001)
            took.append(time.perf_counter() - started)
    finally:
        stop.set()
        await task
    return took


async def index_benchmark(config: Config, subscribers: int, previews: int) -> dict[str, Any]:
    name = f"alertd_bench_index_{os.getpid()}"
    async with (
        open_database(config, migrate_now=False) as server,
        scratch_database(server.dsn, name),
    ):
        scratch = with_overrides(config, database={"url": dsn_for(server.dsn, name), "pool_max": 4})
        async with open_database(scratch) as db:
            return await _measure(db.pool, subscribers, previews)


async def _measure(pool: asyncpg.Pool, subscribers: int, previews: int) -> dict[str, Any]:
    specs = await _seed(pool, subscribers)
    rss_before = rss_mb()
    index = LiveIndex(pool)
    started = time.perf_counter()
    await index.load()
    load_s = time.perf_counter() - started
    rss_loaded, peak_loaded = rss_mb(), peak_rss_mb()
    memory, reach = await _timed(previews, lambda i: preview(index, specs[i % len(specs)], pool))
    visible = await _change_visible(pool, index, specs[0].tenant_id, 20)
    # Today's path last: its Python lists would inflate the RSS measured above.
    baseline, old = await _timed(
        3, lambda i: preview(None, specs[(previews - 1) % len(specs)], pool)
    )
    now = await preview(index, specs[(previews - 1) % len(specs)], pool)
    same = (
        now.by_address.tolist() == old.by_address.tolist()
        and now.by_postcode.tolist() == old.by_postcode.tolist()
    )
    return {
        "benchmark": "index",
        "subscribers": subscribers,
        "load_s": round(load_s, 2),
        "previews": previews,
        "preview": _ms(memory),
        "recipients_last": reach.recipients,
        "change_visible": _ms(visible),
        "rss_mb": rss_loaded,
        "rss_before_load_mb": rss_before,
        "peak_rss_mb": peak_loaded,  # the most the process held, load included
        "baseline_preview": _ms(baseline),
        "speedup_p50": round(statistics.median(baseline) / statistics.median(memory), 1),
        "same_recipients": same,
    }
