"""The training gateway's loop across a PostgreSQL stop: the outage is said once, and its end
once (it retries every IDLE_S; a line per retry would fill the log for the whole outage)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from structlog.testing import capture_logs

from alertd.api import training
from alertd.config import Config
from alertd.store.database import create_pool
from alertd.store.migrate import migrate
from tests.support.own_postgres import own_postgres


async def _until(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    async def poll() -> None:
        while not await check():  # noqa: ASYNC110 - another task's progress, polled
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), within)


def _logged(logs: list[dict[str, Any]], event: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return any(e["event"] == event for e in logs)

    return check


async def _recorded(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM fake_gateways"))


@pytest.mark.timeout(120)
async def test_an_outage_is_said_once_and_its_end_once(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(training, "IDLE_S", 0.01)
    async with own_postgres() as (server, dsn):
        pool = await create_pool(dsn, config.database)
        async with pool.acquire() as conn:
            await migrate(conn)
        with capture_logs() as logs:
            task = asyncio.create_task(training.run(pool, "test:1"))
            try:
                # Running: it has said it is a fake gateway (its first statement), and taken once.
                await _until(lambda: _recorded(pool))
                server.stop()
                await _until(_logged(logs, "training.error"))
                failed_at = len(logs)
                # Many retries fail while it is down (IDLE_S is 10 ms): none is logged again.
                await asyncio.sleep(0.5)
                assert len(logs) == failed_at
                server.start()
                await _until(_logged(logs, "training.resumed"))
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await pool.close()
    events = [e["event"] for e in logs]
    assert events.count("training.error") == 1
    assert events.count("training.resumed") == 1


@pytest.mark.timeout(120)
async def test_started_while_the_database_is_down_it_waits_and_then_says_it_is_fake(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its first statement (the fake gateways' record) used to be outside the retry: a daemon
    started during a PostgreSQL restart lost its training gateway for good."""
    monkeypatch.setattr(training, "IDLE_S", 0.01)
    async with own_postgres() as (server, dsn):
        pool = await create_pool(dsn, config.database)
        async with pool.acquire() as conn:
            await migrate(conn)
        server.stop()
        with capture_logs() as logs:
            task = asyncio.create_task(training.run(pool, "test:1"))
            try:
                await _until(_logged(logs, "training.error"))
                assert not task.done()
                server.start()
                await _until(lambda: _recorded(pool))
                await _until(_logged(logs, "training.resumed"))
                assert not task.done()
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await pool.close()
