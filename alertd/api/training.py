"""The training gateway: takes what test tokens' alerts send, in the daemon's own process, and
marks it delivered. Nothing leaves the machine; every such alert's status says so.

The database parks a training alert's deliveries as they are written (migration
``training``), so the dispatch loop never sees them; this loop is the only one that takes them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import structlog

from alertd.delivery import fake_gateways
from alertd.store.lost import DATABASE_FAILED
from alertd.store.queries import queries

NAME = "training"
TRAINING_NOTE = fake_gateways.TRAINING_NOTE
BATCH = 5_000
IDLE_S = 0.2
log = structlog.get_logger("alertd.api.training")


async def take(pool: asyncpg.Pool) -> int:
    """One batch of parked training deliveries, taken; how many."""
    done = await pool.execute(queries("training")["take"], BATCH, NAME)
    return int(done.split()[-1])


async def run(pool: asyncpg.Pool, worker: str) -> None:
    """Until cancelled, through database outages: it says first that it is a fake gateway
    (``alertd alert status`` says FAKE for these alerts too), then takes what is parked."""
    recorded = False
    failing = False  # said once when the database goes away, once when it is back
    while True:
        try:
            if not recorded:  # the daemon may start while PostgreSQL does not answer yet
                await fake_gateways.record(pool, fakes=[NAME], real=[], worker=worker)
                recorded = True
            taken = await take(pool)
        except DATABASE_FAILED as exc:  # the database went away: try again
            if not failing:
                log.warning("training.error", error=str(exc))
            failing, taken = True, 0
        else:
            if failing:
                log.info("training.resumed")
            failing = False
        if taken:
            log.info("training.taken", deliveries=taken)
        if taken < BATCH:
            await asyncio.sleep(IDLE_S)


@contextlib.asynccontextmanager
async def running(pool: asyncpg.Pool, worker: str) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(run(pool, worker), name="training-gateway")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
