"""The sign-up pages' listener, run by ``alertd serve`` on ``[serve] signup_listen``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import asyncpg
from aiohttp import web

from alertd.config import Config
from alertd.errors import ConfigError
from alertd.logs import get_logger
from alertd.store.database import create_pool
from alertd.store.lost import DATABASE_FAILED
from alertd.web import flows
from alertd.web.app import create_app
from alertd.web.pages import Clock
from alertd.web.sender import CodeSender
from gateways.base import Gateway
from templates import Catalog

log = get_logger(__name__)
PURGE_EVERY_S = 3600.0


@contextlib.asynccontextmanager
async def serving(
    config: Config,
    pool: asyncpg.Pool,
    gateways: Sequence[Gateway],
    *,
    clock: Clock | None = None,
    dsn: str | None = None,
) -> AsyncIterator[str]:
    """The pages on ``[serve] signup_listen`` while the block runs; yields the address bound
    (port 0 picks a free one).

    With ``dsn`` the pages run on a pool of their own on that database, which skips asyncpg's
    reset on release (a round trip per request): every statement of the pages is either in a
    transaction (rolled back by asyncpg if left open) or leaves nothing in the session (the
    enrolment's lock is a transaction's advisory lock). Without it, they share ``pool``."""
    async with contextlib.AsyncExitStack() as stack:
        if dsn is not None:
            pool = await create_pool(dsn, config.database, "alertd signup pages", stateless=True)
            stack.push_async_callback(pool.close)
        yield await stack.enter_async_context(_listening(config, pool, gateways, clock))


@contextlib.asynccontextmanager
async def _listening(
    config: Config, pool: asyncpg.Pool, gateways: Sequence[Gateway], clock: Clock | None
) -> AsyncIterator[str]:
    sender = CodeSender(gateways, Catalog(config.templates.directory))
    runner = web.AppRunner(create_app(config, pool, sender, clock=clock), access_log=None)
    await runner.setup()
    host, _, port = config.serve.signup_listen.rpartition(":")
    site = web.TCPSite(runner, host, int(port))
    try:
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(
                f"serve.signup_listen {config.serve.signup_listen}: cannot listen there "
                f"({exc.strerror}): choose a free address"
            ) from None
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname() if sockets else (host, int(port))
        address = f"{bound[0]}:{bound[1]}"
        log.info("serve.signup", listen=address)
        async with _purging(pool):
            yield address
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _purging(pool: asyncpg.Pool) -> AsyncIterator[None]:
    """Old codes and past hours' counts go, once an hour."""

    async def loop() -> None:
        while True:
            try:
                async with pool.acquire() as conn:
                    purged = await flows.purge(conn, now=datetime.now(UTC))
                if purged:
                    log.info("signup.purged", rows=purged)
            except DATABASE_FAILED as exc:
                log.warning("signup.purge_failed", error=str(exc))
            await asyncio.sleep(PURGE_EVERY_S)

    task = asyncio.create_task(loop(), name="signup-purge")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
