"""Keeping the daemon's in-memory subscriber index (live_index) up to date: LISTEN for the change
log's NOTIFY on a connection of its own, and read the log after each one — and every ``poll_s``
anyway, since a NOTIFY can be lost (a connection that drops loses what was sent meanwhile): the
log, read in order, is the truth. After a lost database the supervisor starts ``follow`` again
and the first read catches up from the index's last snapshot. Old log rows are pruned here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg

from alertd.delivery.live_index import LiveIndex
from alertd.logs import get_logger
from alertd.store.queries import queries

log = get_logger(__name__)
CHANNEL = "alertd_subscriber_changes"
POLL_S = 1.0  # the longest a change waits when its NOTIFY was lost
PRUNE_EVERY_S = 600.0
RETENTION_S = 86_400.0  # a daemon away longer than this reloads the whole index


async def prune(pool: asyncpg.Pool, retention_s: float = RETENTION_S) -> int:
    """Delete the change-log rows older than the retention; how many."""
    return int(await pool.fetchval(queries("live_index")["prune"], retention_s))


async def follow(
    index: LiveIndex,
    stop: asyncio.Event,
    *,
    poll_s: float = POLL_S,
    retention_s: float = RETENTION_S,
) -> None:
    """Apply the subscriber changes as they come, until ``stop``."""
    woken = asyncio.Event()

    def notified(*_: object) -> None:
        woken.set()

    pruned_at = 0.0
    async with index.pool.acquire() as conn:
        await conn.add_listener(CHANNEL, notified)
        try:
            while not stop.is_set():
                if conn.is_closed():  # NOTIFYs would never come again: start afresh
                    raise asyncpg.exceptions.ConnectionDoesNotExistError(
                        "the connection listening for subscriber changes was lost"
                    )
                woken.clear()  # before reading: a NOTIFY during the read wakes the next one
                applied = await index.catch_up()
                if applied:
                    log.debug("index.caught_up", changes=applied, subscribers=index.size)
                if time.monotonic() - pruned_at > PRUNE_EVERY_S:
                    pruned_at = time.monotonic()
                    if gone := await prune(index.pool, retention_s):
                        log.info("index.log_pruned", rows=gone)
                await _wait_any(woken, stop, poll_s)
        finally:
            with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                await conn.remove_listener(CHANNEL, notified)


async def _wait_any(woken: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    waits = [asyncio.ensure_future(woken.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
