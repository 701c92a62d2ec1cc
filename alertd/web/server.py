"""The sign-up pages' listener, run by ``alertd serve`` on ``[serve] signup_listen``: in the
daemon's own event loop (``serving``: ``[serve] signup_workers = 0``, and the tests that drive a
clock), or in page processes of their own on a socket the daemon bound (``on_socket``; the
processes themselves are ``alertd.web.workers``)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp import web

from alertd.config import Config
from alertd.errors import ConfigError
from alertd.logs import get_logger
from alertd.store import purging as store_purging
from alertd.store.database import create_pool
from alertd.web import flows
from alertd.web.app import create_app
from alertd.web.pages import Clock
from alertd.web.sender import CodeSender, QueuedSender, Sender
from gateways.base import Gateway
from templates import Catalog

log = get_logger(__name__)
# How long a stopping page process lets the requests in flight finish.
SHUTDOWN_S = 5.0


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
            pool = await stack.enter_async_context(pages_pool(config, dsn))
        yield await stack.enter_async_context(_listening(config, pool, gateways, clock))


@contextlib.asynccontextmanager
async def pages_pool(config: Config, dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """The pages' own pool, without asyncpg's reset on release (see ``serving``)."""
    pool = await create_pool(dsn, config.database, "alertd signup pages", stateless=True)
    try:
        yield pool
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def on_socket(config: Config, sock: socket.socket, dsn: str) -> AsyncIterator[None]:
    """The pages of a page process, accepted on ``sock`` (bound and listening: the daemon's),
    on a pool of their own; their SMS queued for the daemon to send. No purge here: the
    daemon runs it, once for all its page processes."""
    async with pages_pool(config, dsn) as pool:
        ttl = timedelta(seconds=config.signup.code_ttl_s)
        sender = QueuedSender(pool, Catalog(config.templates.directory), code_ttl=ttl)
        runner = _runner(config, pool, sender, None)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
            yield
        finally:
            await runner.cleanup()


def _runner(
    config: Config, pool: asyncpg.Pool, sender: Sender, clock: Clock | None
) -> web.AppRunner:
    app = create_app(config, pool, sender, clock=clock)
    return web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_S)


@contextlib.asynccontextmanager
async def _listening(
    config: Config, pool: asyncpg.Pool, gateways: Sequence[Gateway], clock: Clock | None
) -> AsyncIterator[str]:
    sender = CodeSender(gateways, Catalog(config.templates.directory))
    runner = _runner(config, pool, sender, clock)
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
        async with purging(pool):
            yield address
    finally:
        await runner.cleanup()


def purging(pool: asyncpg.Pool) -> contextlib.AbstractAsyncContextManager[asyncio.Task[None]]:
    """Old codes and past hours' counts go, once an hour."""

    async def purge() -> int:
        async with pool.acquire() as conn:
            return await flows.purge(conn, now=datetime.now(UTC))

    return store_purging.purging(
        "signup-purge", purge, purged="signup.purged", failed="signup.purge_failed"
    )
