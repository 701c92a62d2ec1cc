"""What keeps ``alertd serve`` running through a bad night.

- PostgreSQL lost (restarted, unreachable, refusing connections while it starts): the task that
  met it stops, the supervisor logs ``serve.database_lost`` (the error's class: never a query's
  data), waits for the database with a capped back-off, logs ``serve.database_back`` and starts
  the task again. asyncpg's pool replaces its broken connections by itself. Nothing is released
  or re-queued here: what the lost task had claimed stays leased to it and comes back through the
  outbox's own rules (expiry, in doubt) — so nothing is lost, and nothing is sent twice by us.
- A gateway that cannot start (an SMSC unreachable, a bind refused): its circuit is tripped open
  (the dispatcher sends through the others) and it is started again in the background, with a
  capped back-off, until it starts; then its circuit closes.
- Anything else a task dies of is not survivable here: the daemon stops and exits non-zero with
  the reason (``serve.task_died``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import aiohttp
import asyncpg

from alertd.logs import get_logger
from alertd.store.lost import DATABASE_LOST
from gateways.base import Gateway, GatewayError
from gateways.breaker import CircuitBreaker

log = get_logger(__name__)

RECONNECT_MIN_S = 0.2
RECONNECT_MAX_S = 10.0
HEALTHY_RUN_S = 60.0  # a task that ran this long before failing starts its back-off afresh
GATEWAY_RETRY_MIN_S = 1.0
GATEWAY_RETRY_MAX_S = 60.0


class TaskDied(Exception):
    """A daemon task ended of something the supervisor does not survive."""


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def wait_for_database(pool: asyncpg.Pool, stop: asyncio.Event) -> bool:
    """Until a connection of the pool answers (True), or ``stop`` is set (False)."""
    delay = RECONNECT_MIN_S
    while not stop.is_set():
        try:
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except DATABASE_LOST:
            await _pause(stop, delay)
            delay = min(delay * 2, RECONNECT_MAX_S)
        else:
            return True
    return False


async def _database_answers(pool: asyncpg.Pool) -> bool:
    try:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
    except DATABASE_LOST:
        return False
    return True


async def supervise(
    name: str,
    work: Callable[[], Awaitable[None]],
    pool: asyncpg.Pool,
    stop: asyncio.Event,
) -> None:
    """Run ``work`` until ``stop`` is set, again after each loss of the database. Returns when it
    ends with ``stop`` set; raises TaskDied when it ends otherwise (a task of the daemon never
    ends by itself) and lets any other error through.

    A connection-level error while the database answers (a connection lost alone, or an OSError
    of a gateway that reached the loop) is not an outage: the task is started again after a
    pause that doubles while it keeps failing (``serve.task_restarted``)."""
    pause = RECONNECT_MIN_S
    while True:
        began = time.monotonic()
        try:
            await work()
        except DATABASE_LOST as exc:
            if stop.is_set():
                return
            error = type(exc).__name__
            if time.monotonic() - began > HEALTHY_RUN_S:
                pause = RECONNECT_MIN_S  # it had been running well: a new failure, not a loop
            if await _database_answers(pool):
                log.warning("serve.task_restarted", task=name, error=error, after_s=pause)
                await _pause(stop, pause)
                pause = min(pause * 2, RECONNECT_MAX_S)
                continue
            log.warning("serve.database_lost", task=name, error=error)
            if not await wait_for_database(pool, stop):
                return
            log.info("serve.database_back", task=name)
            pause = RECONNECT_MIN_S
            continue
        if stop.is_set():
            return
        raise TaskDied(f"task {name} ended while the daemon was running")


def breaker_of(gateway: Gateway) -> CircuitBreaker | None:
    breaker = getattr(gateway, "breaker", None)
    return breaker if isinstance(breaker, CircuitBreaker) else None


async def start_gateway(gateway: Gateway) -> bool:
    """Start it once; False (its circuit tripped open, logged) when it cannot start now."""
    try:
        await gateway.start()
    except (GatewayError, OSError, aiohttp.ClientError) as exc:
        if (breaker := breaker_of(gateway)) is not None:
            breaker.trip()
        log.warning("serve.gateway_not_started", gateway=gateway.name, error=str(exc))
        return False
    return True


async def keep_starting(gateway: Gateway, stop: asyncio.Event) -> None:
    """Start a gateway that could not start, with a capped back-off, until it has (its circuit
    then closes) or ``stop`` is set."""
    delay = GATEWAY_RETRY_MIN_S
    while not stop.is_set():
        await _pause(stop, delay)
        if stop.is_set():
            return
        if await start_gateway(gateway):
            if (breaker := breaker_of(gateway)) is not None:
                breaker.success()
            log.info("serve.gateway_started", gateway=gateway.name)
            return
        delay = min(delay * 2, GATEWAY_RETRY_MAX_S)
