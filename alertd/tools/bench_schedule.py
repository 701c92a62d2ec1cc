"""``alertd bench schedule``: the firing latency of scheduled notices — from a firing's due time
to its first submission to the gateway — on the real scheduler inside an in-process ``alertd
serve`` (the dispatch loop, the subscriber index, a fake gateway), with N one-off notices due a
few hundred milliseconds apart. Baseline, in the same run: a plain ``alert send`` of the same
notice, from the send call to its first submission. One JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from alertd.alerts import lifecycle
from alertd.api.app import context
from alertd.audit import cli_actor
from alertd.config import Config, with_overrides
from alertd.delivery import daemon, live_index
from alertd.operators import Operator, authenticate, create_operator
from alertd.schedule import scheduler, schedules, sectors
from alertd.schedule.rules import Rule
from alertd.store.database import dsn_for, open_database
from alertd.tools import demo_world, in_process
from alertd.tools.bench_import import scratch_database

PARAMS = {"sector": "secteur 4", "date": "demain", "reason": "tempête", "sender": "CUD"}
LEAD_S = 2.0  # a notice is due this long after it is saved (its alert is drafted meanwhile)
POLL_S = 0.005
TIMEOUT_S = 120.0


async def schedule_benchmark(config: Config, *, firings: int, subscribers: int) -> dict[str, Any]:
    name = f"alertd_bench_schedule_{os.getpid()}"
    async with (
        open_database(config, migrate_now=False) as admin,
        scratch_database(admin.dsn, name),
    ):
        scratch = with_overrides(config, database={"url": dsn_for(admin.dsn, name), "pool_max": 8})
        async with open_database(scratch) as db:
            world = await demo_world.build(db.pool, scratch, subscribers, cli_actor())
            found = await sectors.import_sectors(
                db.pool,
                sectors.demo_sectors(),
                tenant=world.parent.code,
                name_property="name",
                crs=None,
                config=scratch.zones,
                actor="bench",
            )
            sector = next(s.zone_id for s in found if s.name.startswith("Secteur 4"))
            agent = await _agent(db.pool, world.parent.code)
            async with in_process.serving(
                scratch, _scheduler(scratch), ready_timeout_s=TIMEOUT_S
            ) as (index, _gateway):
                ctx = context(scratch, db.pool, index)
                measured = await _rounds(ctx, agent, sector, firings)
    return {
        "bench": "schedule",
        "firings": firings,
        "subscribers": subscribers,
        "recipients_per_notice": measured["recipients"],
        "firing_latency_p50_s": _q(measured["fired"], 0.5),
        "firing_latency_p99_s": _q(measured["fired"], 0.99),
        "firing_latency_max_s": round(max(measured["fired"]), 4),
        "baseline": "alert send of a ready draft to its first submission, by turns, same run",
        "send_latency_p50_s": _q(measured["sent"], 0.5),
        "send_latency_p99_s": _q(measured["sent"], 0.99),
        "not_sent": measured["missed"],
    }


def _q(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return round(ordered[0], 4)
    if share == 0.5:
        return round(statistics.median(ordered), 4)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 4)


async def _agent(pool: asyncpg.Pool, code: str) -> Operator:
    new = await create_operator(
        pool,
        tenant_code=code,
        name="Banc d'essai collecte",
        role="information",
        email="bench.waste@example.org",
        actor="bench",
        topics=("dechets",),
    )
    found = await authenticate(pool, new.token)
    assert found is not None  # noqa: S101 - created just above
    return found


def _scheduler(config: Config) -> in_process.Listener:
    """The scheduler as serve runs it."""

    def running(
        pool: asyncpg.Pool, gateways: Any, index: live_index.LiveIndex
    ) -> contextlib.AbstractAsyncContextManager[daemon.Watched]:
        return scheduler.running(context(config, pool, index), worker=f"bench:{os.getpid()}")

    return running


def _spec(sector: int, rule: Rule, n: int) -> schedules.Spec:
    return schedules.Spec(
        name=f"Banc {n}",
        template="waste_disrupted",
        rule=rule,
        params=PARAMS,
        zone_ids=[sector],
        topics=["dechets"],
    )


async def _rounds(
    ctx: lifecycle.Context, agent: Operator, sector: int, count: int
) -> dict[str, Any]:
    """One firing, then one plain send, by turns: each measured alone, in the same conditions."""
    fired: list[float] = []
    sent: list[float] = []
    recipients = 0
    for n in range(count):
        due = datetime.now(UTC) + timedelta(seconds=LEAD_S)
        view = await schedules.create(
            ctx, agent, _spec(sector, Rule(run_at=due), n), datetime.now(UTC), "bench"
        )
        alert_id = await _until(ctx.pool, _FIRED, view.id)
        fired.append((await _until(ctx.pool, _FIRST, alert_id) - due).total_seconds())
        recipients = int(await ctx.pool.fetchval(_COUNT, alert_id))
        draft = lifecycle.Draft("waste_disrupted", PARAMS, zone_ids=[sector], topics=["dechets"])
        alert_id = await lifecycle.create(ctx, agent, draft, "bench")
        started = datetime.now(UTC)
        await lifecycle.send(ctx, agent, alert_id, "bench")
        sent.append((await _until(ctx.pool, _FIRST, alert_id) - started).total_seconds())
    missed = int(
        await ctx.pool.fetchval("SELECT count(*) FROM schedule_firings WHERE status <> 'sent'")
    )
    return {"fired": fired, "sent": sent, "recipients": recipients, "missed": missed}


_FIRED = "SELECT alert_id FROM schedule_firings WHERE schedule_id = $1 AND status = 'sent'"
_FIRST = "SELECT min(submitted_at) FROM deliveries WHERE alert_id = $1"
_COUNT = "SELECT count(*) FROM deliveries WHERE alert_id = $1"


async def _until(pool: asyncpg.Pool, query: str, arg: int) -> Any:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        value = await pool.fetchval(query, arg)
        if value is not None:
            return value
        await asyncio.sleep(POLL_S)
    raise RuntimeError(f"gave up waiting ({query} for {arg})")
