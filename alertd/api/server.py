"""The API's listener, run by ``alertd serve`` beside the dispatch loop, on the daemon's pool."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator

import asyncpg
import structlog
from aiohttp import web

from alertd.api import idempotency, training
from alertd.api.app import create_app
from alertd.config import Config
from alertd.delivery.live_index import LiveIndex
from alertd.store.purging import purging

log = structlog.get_logger("alertd.api")


@contextlib.asynccontextmanager
async def serving(
    config: Config, pool: asyncpg.Pool, *, index: LiveIndex | None = None
) -> AsyncIterator[list[asyncio.Task[None]]]:
    """The training gateway, and the API on ``[serve] api_listen`` (none when it is empty),
    while the block runs; yields the background tasks, for the daemon to watch. The training
    gateway runs even without the API: a test token also works from the CLI. ``index``: the
    daemon's subscriber index, for previews and sends."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    async with (
        training.running(pool, worker) as taking,
        _purging(pool) as forgetting,
        _api(config, pool, index),
    ):
        yield [taking, forgetting]


def _purging(pool: asyncpg.Pool) -> contextlib.AbstractAsyncContextManager[asyncio.Task[None]]:
    """Idempotency keys are kept a day, then forgotten, once an hour."""
    return purging(
        "idempotency-purge",
        lambda: idempotency.purge(pool),
        purged="api.idempotency_purged",
        failed="api.idempotency_purge_failed",
        counted="keys",
    )


@contextlib.asynccontextmanager
async def _api(config: Config, pool: asyncpg.Pool, index: LiveIndex | None) -> AsyncIterator[None]:
    if not config.serve.api_listen:
        yield
        return
    runner = web.AppRunner(create_app(config, pool, index=index), access_log=None)
    await runner.setup()
    host, _, port = config.serve.api_listen.rpartition(":")
    try:
        await web.TCPSite(runner, host, int(port)).start()
        log.info("serve.api", listen=config.serve.api_listen)
        yield
    finally:
        await runner.cleanup()
