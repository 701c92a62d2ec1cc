"""``alertd bench dispatch``: deliveries per second over the whole durable path.

Enqueue (arrays into the outbox), claim (SKIP LOCKED, leases), submit to the fake gateway (no rate
limit unless --rate), record, receipts — run at once, as the daemon runs them — against the floor:
the same rows inserted and updated the same number of times by plain batched SQL on as many
connections, with no per-message Python work, in the same run, in a scratch database. The floor
is measured just before and just after the durable path, and their mean is the one the ratio
divides by: on a shared machine, the load during the durable path is closer to that mean than to
either (one floor a quarter of a minute away from it made the ratio swing by ±15 %).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import asyncpg

from alertd.config import Config, with_overrides
from alertd.delivery import outbox
from alertd.delivery.consumer import consume
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from alertd.delivery.enqueue import Matched, write
from alertd.store.database import dsn_for, open_database
from alertd.tools.bench_import import scratch_database
from gateways.fake import FakeGateway

_SUBSCRIBERS = """
INSERT INTO tenants (code, kind, name) VALUES ('59183', 'commune', 'Dunkerque');
INSERT INTO subscribers (tenant_id, phone, postcode, status, consent_at)
SELECT 1, '+337' || lpad(i::text, 8, '0'), '59140', 'active', now()
FROM generate_series(1, {n}) i;
INSERT INTO alerts (tenant_id, hazard, severity, texts)
VALUES (1, 'submersion', 'life_safety', '{{"fr": "ALERTE SUBMERSION MARINE (exercice)"}}');
"""
POLL_S = 0.05


async def dispatch_benchmark(config: Config, deliveries: int, rate: float) -> dict[str, Any]:
    name = f"alertd_bench_dispatch_{os.getpid()}"
    async with (
        open_database(config, migrate_now=False) as server,
        scratch_database(server.dsn, name),
    ):
        scratch = with_overrides(config, database={"url": dsn_for(server.dsn, name), "pool_max": 4})
        async with open_database(scratch) as db:
            await db.pool.execute(_SUBSCRIBERS.format(n=deliveries))
            before = await _floor(db.pool, deliveries, DispatchSettings())
            await db.pool.execute(
                "TRUNCATE deliveries, delivery_attempts, delivery_parts, handovers"
            )
            path = await _durable_path(db.pool, deliveries, rate)
            after = await _floor(db.pool, deliveries, DispatchSettings())
    floor = (before + after) / 2
    return {
        "benchmark": "dispatch",
        "deliveries": deliveries,
        **path,
        "floor_per_second": round(floor),
        "floor_per_second_before": round(before),
        "floor_per_second_after": round(after),
        "ratio_to_floor": round(path["per_second"] / floor, 3),
        **(
            {"rate": rate, "share_of_rate": round(path["submit_per_second"] / rate, 4)}
            if rate
            else {}
        ),
    }


async def _durable_path(pool: asyncpg.Pool, n: int, rate: float) -> dict[str, Any]:
    """As the daemon runs it: the enqueue streams while the dispatch loop claims and the receipt
    consumer records what the gateway reports, all at once, until everyone is delivered."""
    settings = DispatchSettings(idle_s=0.01)
    # A window as wide as what is in flight: the fake gateway is not what is measured.
    gateway = FakeGateway("bench", rate=rate, window=settings.batch * settings.concurrency)
    dispatcher = Dispatcher(pool, [gateway], worker="bench", settings=settings)
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM subscribers ORDER BY id")]
    stop = asyncio.Event()
    started = time.perf_counter()
    started_clock = gateway.clock.now()  # the gateway's clock, for its first acceptance
    tasks = [
        asyncio.create_task(_enqueue_all(pool, ids)),
        asyncio.create_task(dispatcher.run(stop)),
        asyncio.create_task(consume(pool, gateway)),
    ]
    submitted_at = await _wait_until_done(pool, gateway, n, tasks)
    elapsed = time.perf_counter() - started
    stop.set()
    await gateway.close()
    await asyncio.gather(*tasks)
    delivered = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'delivered'")
    phones = [m.to for m in gateway.received]
    return {
        "seconds": round(elapsed, 2),
        "per_second": round(n / elapsed),
        "first_submit_s": round((gateway.first_accepted_at or started_clock) - started_clock, 3),
        "submit_per_second": round(len(phones) / (submitted_at - started), 1),
        "delivered": delivered,
        "duplicates": len(phones) - len(set(phones)),
        "lost": n - delivered,
    }


async def _enqueue_all(pool: asyncpg.Pool, ids: list[int]) -> None:
    """What `alert send` does once the zone is matched: the real writer, in its batches."""
    everyone = Matched(ids, [], dict.fromkeys(ids, "fr"))
    await write(pool, 1, outbox.LIFE_SAFETY, everyone)


async def _wait_until_done(
    pool: asyncpg.Pool, gateway: FakeGateway, n: int, tasks: list[asyncio.Task[Any]]
) -> float:
    """Wait until every delivery is delivered; returns when the last submission was accepted.
    A task that fails ends the wait with its error rather than a hang."""
    submitted_at = 0.0
    while True:
        await asyncio.sleep(POLL_S)
        for task in tasks:
            if task.done():
                task.result()  # raises what killed it
        if not submitted_at and len(gateway.received) >= n:
            submitted_at = time.perf_counter()
        if submitted_at and (await outbox.progress(pool, 1)).get("delivered", 0) >= n:
            return submitted_at


async def _floor(pool: asyncpg.Pool, n: int, settings: DispatchSettings) -> float:
    """Deliveries per second of the same writes with no per-message Python work, on as many
    connections as the dispatch loop uses: one insert, then each batch claimed, marked submitted
    and marked delivered."""
    await pool.execute("TRUNCATE deliveries, delivery_attempts, delivery_parts")
    started = time.perf_counter()
    await pool.execute(
        "INSERT INTO deliveries (alert_id, subscriber_id, priority) "
        "SELECT 1, id, 0 FROM subscribers"
    )
    await asyncio.gather(
        *(_floor_worker(pool, settings.batch) for _ in range(settings.concurrency))
    )
    return n / (time.perf_counter() - started)


async def _floor_worker(pool: asyncpg.Pool, batch: int) -> None:
    async with pool.acquire() as conn:
        while ids := await conn.fetchval(
            "WITH b AS (SELECT id FROM deliveries WHERE status = 'queued' ORDER BY priority,"
            " next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED), c AS (UPDATE deliveries d SET "
            "status = 'sending', attempts = attempts + 1, lease_until = now() FROM b "
            "WHERE d.id = b.id RETURNING d.id) SELECT array_agg(id) FROM c",
            batch,
        ):
            await conn.execute(
                "UPDATE deliveries SET status = 'submitted', gateway = 'floor', "
                "gateway_message_id = id::text, submitted_at = now() WHERE id = ANY($1::bigint[])",
                ids,
            )
            await conn.execute(
                "UPDATE deliveries SET status = 'delivered', delivered_at = now() "
                "WHERE id = ANY($1::bigint[])",
                ids,
            )
