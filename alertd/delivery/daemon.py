"""``alertd serve``: the daemon — the dispatch loop, the consumers of receipts and inbound SMS
(``consumer``), the resumption of interrupted sends, clean shutdown.

SIGTERM (or Ctrl-C) sets the stop event: the loop stops claiming, what is in flight gets
``shutdown_grace_s`` to finish, then this daemon's unrecorded claims are released (marked in doubt
when they may have reached a gateway) and the gateways are closed. If any side task dies, the
daemon stops rather than run half-alive and exits non-zero with the reason. A lost database and a
gateway that cannot start are survived (see ``supervisor``). Safe to restart at any moment: the
outbox is durable and expired leases of a killed daemon are reclaimed by whoever runs next.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from alertd.config import Config, ServeConfig
from alertd.delivery import (
    enqueue,
    fake_gateways,
    live_index,
    live_sync,
    outbox,
    service_queue,
    supervisor,
)
from alertd.delivery.consumer import Replies, consume
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from alertd.delivery.gateway_factory import build
from alertd.delivery.inbound import Keywords
from alertd.delivery.share_lease import ShareLeases
from alertd.errors import InputError
from alertd.logs import get_logger
from alertd.store import migrate
from alertd.store.database import open_database
from alertd.store.lost import DATABASE_LOST
from alertd.store.queries import queries
from alertd.store.types import Queryable
from gateways.base import Gateway, GatewayError, Webhooks
from gateways.fake import FakeGateway
from templates import Catalog

log = get_logger(__name__)
SHUTDOWN_GRACE_S = 10.0
EXIT_TASK_DIED = 70  # EX_SOFTWARE, as for an internal error
RESUME_EVERY_S = 2.0  # how often alerts whose enqueue was interrupted are looked for
DAEMON_NAME = migrate.DAEMON_NAME  # its connections' application_name, with the worker
# What the layers above serve for as long as the daemon runs (health and metrics, the API): given
# the daemon's pool, its gateways and its in-memory subscriber index. Each yields the tasks it
# runs in the background (None: none), watched as the daemon's own: one that ends stops the
# daemon (``serve.task_died``) rather than leaving it half-alive; the listener still owns them
# and stops them on its way out.
Watched = Sequence["asyncio.Task[Any]"] | None
Listener = Callable[
    [asyncpg.Pool, Sequence[Gateway], live_index.LiveIndex], AbstractAsyncContextManager[Watched]
]


async def daemons(conn: Queryable) -> int:
    """How many daemons are connected to this database right now."""
    return int(await conn.fetchval(queries("outbox")["daemons"], DAEMON_NAME))


@contextlib.asynccontextmanager
async def _webhooks(config: ServeConfig, gateways: Sequence[Gateway]) -> AsyncIterator[None]:
    """The gateways' webhook applications, each under /webhooks/<name>/, on one listener."""
    apps = [(g.name, _webhook_app(g, config.public_url)) for g in gateways]
    apps = [(name, app) for name, app in apps if app is not None]
    if not config.webhook_listen or not apps:
        yield
        return
    root = web.Application()
    for name, app in apps:
        root.add_subapp(f"/webhooks/{name}", app)  # type: ignore[arg-type]
    runner = web.AppRunner(root, access_log=None)
    await runner.setup()
    host, _, port = config.webhook_listen.rpartition(":")
    await web.TCPSite(runner, host, int(port)).start()
    log.info("serve.webhooks", listen=config.webhook_listen, gateways=[n for n, _ in apps])
    try:
        yield
    finally:
        await runner.cleanup()


def _webhook_app(gateway: Gateway, public_url: str) -> web.Application | None:
    if isinstance(gateway, Webhooks):
        return gateway.webhook_app(public_url or None)
    return None


async def run(
    config: Config,
    *,
    stop: asyncio.Event | None = None,
    settings: DispatchSettings | None = None,
    signals: bool = True,
    gateways: Sequence[Gateway] | None = None,
    allow_fake: bool = False,
    listeners: Sequence[Listener] = (),
    keywords: Keywords | None = None,
) -> int:
    """Serve until ``stop`` (SIGTERM, Ctrl-C); 0, or EXIT_TASK_DIED when a task of the daemon
    died (logged as ``serve.task_died`` with the reason). ``gateways``: built from the
    configuration unless given (tests). A configured fake gateway is refused unless
    ``allow_fake``."""
    died = await serve(
        config,
        stop=stop,
        settings=settings,
        signals=signals,
        gateways=gateways,
        allow_fake=allow_fake,
        listeners=listeners,
        keywords=keywords,
    )
    return EXIT_TASK_DIED if died else 0


async def serve(
    config: Config,
    *,
    stop: asyncio.Event | None = None,
    settings: DispatchSettings | None = None,
    signals: bool = True,
    gateways: Sequence[Gateway] | None = None,
    allow_fake: bool = False,
    listeners: Sequence[Listener] = (),
    keywords: Keywords | None = None,
) -> str | None:
    """As ``run``; None after a clean stop, else why a task died. ``listeners``: what the daemon
    also serves while it runs, on its pool, gateways and index (the HTTP API, health and metrics,
    which sit above this layer); ``keywords``: the residents' SMS keywords (also from above)."""
    if not config.gateways and not gateways:
        raise InputError(
            "no gateway is configured: add [gateways.NAME] tables (see "
            "ops/alertd.example.toml) and pass --config"
        )
    # Gateways handed in by a caller (tests) are its own choice; configured ones are checked.
    fakes = (
        fake_gateways.refuse_unless_allowed(config.gateways, allowed=allow_fake)
        if gateways is None
        else [g.name for g in gateways if isinstance(g, FakeGateway)]
    )
    for name in fakes:
        log.warning("serve.fake_gateway", gateway=name, note=fake_gateways.FAKE_NOTE)
    stop = stop or asyncio.Event()
    if signals:  # the CLI's daemon; tests drive the stop event themselves
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    built = list(gateways) if gateways is not None else [build(g) for g in config.gateways]
    # Every line this daemon logs says which daemon it is; its tasks inherit the binding.
    with structlog.contextvars.bound_contextvars(worker=worker):
        return await _run(
            config,
            built,
            worker,
            stop,
            settings,
            fakes=fakes,
            listeners=listeners,
            keywords=keywords,
        )


async def _run(
    config: Config,
    gateways: list[Gateway],
    worker: str,
    stop: asyncio.Event,
    settings: DispatchSettings | None,
    *,
    fakes: Sequence[str] = (),
    listeners: Sequence[Listener] = (),
    keywords: Keywords | None = None,
) -> str | None:
    """Why a task died, if one did. Gateways that cannot start start with an open circuit (and are
    started again in the background); every gateway is closed on the way out, whatever happens."""
    async with (
        open_database(config, application_name=f"{DAEMON_NAME} {worker}"[:63]) as db,
        _webhooks(config.serve, gateways),
        contextlib.AsyncExitStack() as served,
    ):
        index = live_index.LiveIndex(db.pool)
        listening: list[asyncio.Task[Any]] = []
        for listener in listeners:
            tasks = await served.enter_async_context(listener(db.pool, gateways, index))
            listening.extend(tasks or ())
        await fake_gateways.record(
            db.pool,
            fakes=fakes,
            real=[g.name for g in gateways if g.name not in fakes],
            worker=worker,
        )
        # Issue 18: the gateways' contracts are shared with the other daemons; no bind is
        # opened, nothing sent, before this daemon holds a lease on its share.
        leases = ShareLeases(db.pool, gateways, worker=worker, lease_s=config.serve.share_lease_s)
        await leases.hold_all()
        await leases.renew()
        try:
            not_started = [g for g in gateways if not await supervisor.start_gateway(g)]
            if len(not_started) == len(gateways):
                log.error("serve.no_gateway_started", gateways=[g.name for g in gateways])
            return await _serve(
                db.pool,
                gateways=gateways,
                worker=worker,
                stop=stop,
                settings=settings or DispatchSettings(**asdict(config.dispatch)),
                replies=Replies(
                    Catalog(config.templates.directory),
                    config.subscribers.default_region,
                    keywords,
                ),
                starting=not_started,
                **_routing(config, gateways),
                index=index,
                leases=leases,
                listening=listening,
            )
        finally:
            for gateway in gateways:
                with contextlib.suppress(GatewayError, OSError):
                    await gateway.close()


def _routing(config: Config, gateways: Sequence[Gateway]) -> dict[str, Any]:
    """The configured priorities (tiers, spread over) and weights of the gateways; gateways
    handed in by a test that the configuration does not name keep their order, one per tier."""
    configured = {g.name: g for g in config.gateways}
    known = all(g.name in configured for g in gateways)
    return {
        "priorities": {n: c.priority for n, c in configured.items()} if known else None,
        "weights": {n: c.weight for n, c in configured.items()},
    }


async def _serve(
    pool: asyncpg.Pool,
    *,
    gateways: Sequence[Gateway],
    worker: str,
    stop: asyncio.Event,
    settings: DispatchSettings,
    replies: Replies,
    starting: Sequence[Gateway] = (),
    priorities: Mapping[str, int] | None = None,
    weights: Mapping[str, float] | None = None,
    index: live_index.LiveIndex | None = None,
    leases: ShareLeases | None = None,
    listening: Sequence[asyncio.Task[Any]] = (),
) -> str | None:
    """The dispatch loop and a consumer per gateway, each supervised (see supervisor), a
    starter per gateway that could not start, and the leases on the gateways' shares (kept
    until the loop has stopped); ``listening``: the listeners' tasks, watched but stopped by
    their owners. Why a task died, if one did."""
    log.info("serve.started", gateways=[g.name for g in gateways])

    def dispatch() -> Awaitable[None]:
        return Dispatcher(
            pool, gateways, worker=worker, settings=settings, priorities=priorities,
            weights=weights, parts=leases.parts if leases else None,
        ).run(stop)  # fmt: skip

    def events(gateway: Gateway) -> Callable[[], Awaitable[None]]:
        return lambda: consume(pool, gateway, replies.catalog, replies.region, replies.keywords)

    loop_task = asyncio.create_task(
        supervisor.supervise("dispatch", dispatch, pool, stop), name="dispatch"
    )
    side = [
        asyncio.create_task(
            supervisor.supervise(f"events:{g.name}", events(g), pool, stop), name=f"events:{g.name}"
        )
        for g in gateways
    ]
    # The subscriber index in memory (issue 15): loaded once, kept fresh from the change log.
    index = index or live_index.LiveIndex(pool)
    side.append(
        asyncio.create_task(
            supervisor.supervise("index", lambda: live_sync.follow(index, stop), pool, stop),
            name="index",
        )
    )
    side.append(
        asyncio.create_task(
            supervisor.supervise("resume", lambda: _resume(pool, index, stop), pool, stop),
            name="resume",
        )
    )
    # Service SMS queued by the desk and the sign-up pages: sent as they are queued.
    service_task = asyncio.create_task(
        supervisor.supervise(
            "service_sms",
            lambda: service_queue.run(pool, gateways, stop, worker=worker),
            pool,
            stop,
        ),
        name="service_sms",
    )
    side.append(service_task)
    starters = [
        asyncio.create_task(supervisor.keep_starting(g, stop), name=f"start:{g.name}")
        for g in starting
    ]
    leases_stop = asyncio.Event()  # set once the loop has stopped: its last sends keep a share
    watched = [*side]
    if leases is not None:
        share_task = asyncio.create_task(leases.run(leases_stop), name="shares")
        watched.append(share_task)
    stopping = asyncio.create_task(stop.wait(), name="stop")
    done, _ = await asyncio.wait(
        [loop_task, *watched, *listening, stopping], return_when=asyncio.FIRST_COMPLETED
    )
    died: str | None = None
    for task in done - {stopping}:
        reason = _why_ended(task, stop)
        if reason is not None:
            died = died or f"task {task.get_name()} died ({reason})"
            log.error("serve.task_died", task=task.get_name(), error=reason)
    stop.set()
    # The batch a gateway is taking is let finish and recorded: cancelled, its SMS (a code, a
    # confirmation) would be sent again by whoever takes over its lease.
    await asyncio.wait([loop_task, service_task], timeout=SHUTDOWN_GRACE_S)
    loop_task.cancel()
    leases_stop.set()
    if leases is not None:  # its shares given back at once, for the others
        await asyncio.wait([share_task], timeout=SHUTDOWN_GRACE_S)
    for task in (*watched, *starters):
        task.cancel()
    for task in (loop_task, *watched, *starters, stopping):
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    try:
        released = await outbox.release(pool, worker)
    except DATABASE_LOST as exc:  # their leases run out: whoever runs next has them
        log.warning("serve.not_released", error=type(exc).__name__)
        released = 0
    log.info("serve.stopped", released=released)
    return died


def _why_ended(task: asyncio.Task[Any], stop: asyncio.Event) -> str | None:
    """Why a task of the daemon ended; None when it ended of the stop (a supervised task returns
    then; any other end, a listener's task that returns included, is a death)."""
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    if exc is not None:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None if stop.is_set() else "ended while the daemon was running"


async def _resume(pool: asyncpg.Pool, index: live_index.LiveIndex, stop: asyncio.Event) -> None:
    """Finish, every RESUME_EVERY_S, the alerts an interrupted ``alert send`` left half-written;
    matched from the in-memory index once it is loaded (from the database before)."""
    given_up: set[int] = set()
    matcher = live_index.matcher(index)
    while not stop.is_set():
        await enqueue.resume_interrupted(pool, given_up=given_up, matcher=matcher)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RESUME_EVERY_S)
