"""``alertd serve``: the daemon — the dispatch loop, receipts and inbound SMS, clean shutdown.

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
import functools
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict

import asyncpg
import structlog
from aiohttp import web

from alertd.config import Config, ServeConfig
from alertd.delivery import enqueue, inbound, outbox, supervisor
from alertd.delivery.areas import load_postcode_areas
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from alertd.delivery.gateway_factory import build
from alertd.errors import InputError
from alertd.logs import get_logger, mask_phone
from alertd.store.database import open_database
from alertd.store.queries import queries
from alertd.store.types import Queryable
from gateways import events
from gateways.base import Gateway, GatewayError, Inbound, Message, Outcome, Receipt, Webhooks
from templates import Catalog, segments
from zones import PostcodeAreas

log = get_logger(__name__)
RECEIPT_BATCH = 1_000
RETRY_EARLY_S = 0.5  # how often receipts that came before their submission's record are retried
KEEP_EARLY_S = 600.0  # after this, such a receipt is logged and dropped
# ... and after this it is acknowledged all the same: a receipt still matching nothing is a
# duplicate (the provider sent it again) or not ours (a STOP's confirmation); it must stop.
ACK_EARLY_S = 2.0
SHUTDOWN_GRACE_S = 10.0
DRAIN_S = 5.0  # at shutdown, to store what was received before the gateways close
# PostgreSQL out of reach: what came is not acknowledged (the provider sends it again).
UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)
EXIT_TASK_DIED = 70  # EX_SOFTWARE, as for an internal error
RESUME_EVERY_S = 2.0  # how often alerts whose enqueue was interrupted are looked for
DAEMON_NAME = "alertd serve"  # its connections' application_name, with the worker


async def daemons(conn: Queryable) -> int:
    """How many daemons are connected to this database right now."""
    return int(await conn.fetchval(queries("outbox")["daemons"], DAEMON_NAME))


async def consume(pool: asyncpg.Pool, gateway: Gateway, catalog: Catalog | None = None) -> None:
    """Receipts in batches (whatever has arrived), inbound messages one by one (STOP is obeyed
    at once and confirmed). Receipts that arrive before their submission is recorded are tried
    again. Runs as a task of its own: the gateway it serves is bound to every log line."""
    with structlog.contextvars.bound_contextvars(gateway=gateway.name):
        await _consume(pool, gateway, catalog or Catalog())


async def _consume(pool: asyncpg.Pool, gateway: Gateway, catalog: Catalog) -> None:
    queue: asyncio.Queue[Receipt | Inbound | None] = asyncio.Queue()
    early = _EarlyReceipts()

    async def pump() -> None:
        async for event in gateway.events():
            queue.put_nowait(event)
        queue.put_nowait(None)

    pumping = asyncio.create_task(pump())
    confirming: set[asyncio.Task[None]] = set()
    batch: list[Receipt | Inbound] = []
    try:
        finished = False
        while not finished:
            batch, finished = await _next_batch(queue)
            confirming |= await _store(pool, gateway, catalog, batch, early)
            confirming = {t for t in confirming if not t.done()}
    except asyncio.CancelledError:
        # Shutdown: what was received is stored (and acknowledged) before the gateways close;
        # what cannot be stored in time is refused, so that the provider sends it again.
        pumping.cancel()
        waiting = (queue.get_nowait() for _ in range(queue.qsize()))
        # The batch cut short keeps what was not stored yet (_store takes out what it stored).
        rest = batch + [e for e in waiting if e is not None]
        try:
            async with asyncio.timeout(DRAIN_S):
                await _store(pool, gateway, catalog, rest, early)
        except TimeoutError:
            log.warning("events.not_drained", left=len(rest))
        finally:
            for event in rest:  # not stored: the provider is asked to send it again
                events.settle(event, False)
        raise
    finally:
        for task in (pumping, *confirming):
            task.cancel()
        for task in (pumping, *confirming):
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _store(
    pool: asyncpg.Pool,
    gateway: Gateway,
    catalog: Catalog,
    batch: list[Receipt | Inbound],
    early: _EarlyReceipts,
) -> set[asyncio.Task[None]]:
    """Store a batch, then tell each event's adapter it is stored (it acknowledges to the
    provider only then), or that it is not (the provider is asked to send it again). A receipt
    that matches nothing yet is kept and tried again, unacknowledged. What is done is taken out
    of ``batch`` as it goes (a shutdown stores the rest). Returns the STOP confirmations being
    sent."""
    receipts = [e for e in batch if isinstance(e, Receipt)]
    due = early.due()
    if receipts or due:
        try:
            unmatched = await outbox.apply_receipts(pool, receipts + [r for _, r in due])
        except UNAVAILABLE as exc:
            log.warning("receipts.not_stored", count=len(receipts), error=str(exc))
            unmatched = []
            early.keep(due)
            for receipt in receipts:
                events.settle(receipt, False)
        else:
            left = {id(r) for r in unmatched}
            now = time.monotonic()
            early.keep([(t, r) for t, r in due if id(r) in left])
            early.keep([(now, r) for r in receipts if id(r) in left])
            for receipt in receipts + [r for _, r in due]:
                if id(receipt) not in left:
                    events.settle(receipt, True)
        batch[:] = [e for e in batch if not isinstance(e, Receipt)]
    confirming = set()
    for message in [e for e in batch if isinstance(e, Inbound)]:
        done = functools.partial(batch.remove, message)
        storing = asyncio.ensure_future(_answer(pool, catalog, message, done))
        try:
            # A shutdown lets the message being stored finish (a COMMIT cut short is in doubt).
            answer = await asyncio.shield(storing)
        except asyncio.CancelledError:
            await asyncio.wait([storing], timeout=DRAIN_S)
            if storing.done() and not storing.cancelled() and storing.exception() is None:
                events.settle(message, True)
            raise
        except UNAVAILABLE as exc:
            log.warning("inbound.not_stored", sender=mask_phone(message.sender), error=str(exc))
            events.settle(message, False)
            if message in batch:
                batch.remove(message)
            continue
        events.settle(message, True)
        if answer is not None:
            confirming.add(asyncio.create_task(_confirm(gateway, answer)))
    return confirming


async def _answer(
    pool: asyncpg.Pool, catalog: Catalog, message: Inbound, stored: Callable[[], None]
) -> Message | None:
    """Handle one inbound SMS, calling ``stored`` once it is committed (or refused for good);
    returns the confirmation to send back (to the sender's number in E.164, whatever form the
    gateway gave it in), if any. A message PostgreSQL refuses even once cleaned is logged
    (sender masked) and dropped, never fatal."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            handled = await inbound.handle(conn, message, catalog)
    except (asyncpg.DataError, ValueError):
        log.exception(
            "inbound.refused", sender=mask_phone(message.sender), length=len(message.text)
        )
        stored()
        return None
    stored()
    log.info(
        "inbound.handled",
        kind=handled.kind,
        alert_id=handled.alert_id,
        sender=mask_phone(handled.sender),
    )
    if handled.confirmation is None:
        return None
    text = handled.confirmation
    ref = f"stop:{message.message_id or message.at.isoformat()}"
    return Message(ref, handled.sender, text, segments(text))


async def _confirm(gateway: Gateway, confirmation: Message) -> None:
    """Answer a STOP through the gateway it came by, once it is stored. Apart from the receipts'
    loop, since the gateway may be busy with an alert; a lost confirmation is logged, never
    retried into a second one."""
    try:
        [result] = await gateway.submit([confirmation])
        reason = None if result.outcome is Outcome.ACCEPTED else result.reason
    except (GatewayError, OSError) as exc:
        reason = str(exc)
    if reason is not None:
        log.warning(
            "inbound.confirmation_not_sent",
            sender=mask_phone(confirmation.to),
            reason=reason,
        )


async def _next_batch(
    queue: asyncio.Queue[Receipt | Inbound | None],
) -> tuple[list[Receipt | Inbound], bool]:
    """What has arrived (waiting at most RETRY_EARLY_S for the first); and whether it ended."""
    batch: list[Receipt | Inbound] = []
    try:
        event = await asyncio.wait_for(queue.get(), RETRY_EARLY_S)
    except TimeoutError:
        return batch, False
    while event is not None:
        batch.append(event)
        if queue.empty() or len(batch) >= RECEIPT_BATCH:
            return batch, False
        event = queue.get_nowait()
    return batch, True


class _EarlyReceipts:
    """Receipts that matched nothing yet, kept for a while (the submission is being recorded),
    each with when it first came; unacknowledged for ACK_EARLY_S, so that a crash in the
    meantime loses nothing the provider will not send again."""

    def __init__(self) -> None:
        self._waiting: list[tuple[float, Receipt]] = []

    def keep(self, receipts: list[tuple[float, Receipt]]) -> None:
        self._waiting.extend(receipts)

    def due(self) -> list[tuple[float, Receipt]]:
        now = time.monotonic()
        fresh = [(t, r) for t, r in self._waiting if now - t < KEEP_EARLY_S]
        for _, receipt in (x for x in self._waiting if now - x[0] >= KEEP_EARLY_S):
            log.warning(
                "receipt.unmatched",
                gateway=receipt.gateway,
                message_id=receipt.message_id,
                status=receipt.status.value,
            )
        for t, receipt in self._waiting:
            if now - t >= ACK_EARLY_S:  # a duplicate, or not ours: the provider may stop
                events.settle(receipt, True)
        self._waiting = []
        return fresh


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
) -> int:
    """Serve until ``stop`` (SIGTERM, Ctrl-C); 0, or EXIT_TASK_DIED when a task of the daemon
    died (logged as ``serve.task_died`` with the reason). ``gateways``: built from the
    configuration unless given (tests)."""
    died = await serve(config, stop=stop, settings=settings, signals=signals, gateways=gateways)
    return EXIT_TASK_DIED if died else 0


async def serve(
    config: Config,
    *,
    stop: asyncio.Event | None = None,
    settings: DispatchSettings | None = None,
    signals: bool = True,
    gateways: Sequence[Gateway] | None = None,
) -> str | None:
    """As ``run``; None after a clean stop, else why a task died."""
    if not config.gateways and not gateways:
        raise InputError(
            "no gateway is configured: add [gateways.NAME] tables (see "
            "ops/alertd.example.toml) and pass --config"
        )
    stop = stop or asyncio.Event()
    if signals:  # the CLI's daemon; tests drive the stop event themselves
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    built = list(gateways) if gateways is not None else [build(g) for g in config.gateways]
    # Every line this daemon logs says which daemon it is; its tasks inherit the binding.
    with structlog.contextvars.bound_contextvars(worker=worker):
        return await _run(config, built, worker, stop, settings)


async def _run(
    config: Config,
    gateways: list[Gateway],
    worker: str,
    stop: asyncio.Event,
    settings: DispatchSettings | None,
) -> str | None:
    """Why a task died, if one did. Gateways that cannot start start with an open circuit (and are
    started again in the background); every gateway is closed on the way out, whatever happens."""
    async with (
        open_database(config, application_name=f"{DAEMON_NAME} {worker}"[:63]) as db,
        _webhooks(config.serve, gateways),
    ):
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
                catalog=Catalog(config.templates.directory),
                starting=not_started,
                areas=load_postcode_areas(config.zones),
            )
        finally:
            for gateway in gateways:
                with contextlib.suppress(GatewayError, OSError):
                    await gateway.close()


async def _serve(
    pool: asyncpg.Pool,
    *,
    gateways: Sequence[Gateway],
    worker: str,
    stop: asyncio.Event,
    settings: DispatchSettings,
    catalog: Catalog,
    starting: Sequence[Gateway] = (),
    areas: PostcodeAreas | None = None,
) -> str | None:
    """The dispatch loop and a consumer per gateway, each supervised (see supervisor), and a
    starter per gateway that could not start. Why a task died, if one did."""
    log.info("serve.started", gateways=[g.name for g in gateways])

    def dispatch() -> Awaitable[None]:
        return Dispatcher(pool, gateways, worker=worker, settings=settings).run(stop)

    def events(gateway: Gateway) -> Callable[[], Awaitable[None]]:
        return lambda: consume(pool, gateway, catalog)

    loop_task = asyncio.create_task(
        supervisor.supervise("dispatch", dispatch, pool, stop), name="dispatch"
    )
    side = [
        asyncio.create_task(
            supervisor.supervise(f"events:{g.name}", events(g), pool, stop), name=f"events:{g.name}"
        )
        for g in gateways
    ]
    side.append(
        asyncio.create_task(
            supervisor.supervise("resume", lambda: _resume(pool, areas, stop), pool, stop),
            name="resume",
        )
    )
    starters = [
        asyncio.create_task(supervisor.keep_starting(g, stop), name=f"start:{g.name}")
        for g in starting
    ]
    stopping = asyncio.create_task(stop.wait(), name="stop")
    done, _ = await asyncio.wait([loop_task, *side, stopping], return_when=asyncio.FIRST_COMPLETED)
    died: str | None = None
    for task in done - {stopping}:
        if not task.cancelled() and (exc := task.exception()) is not None:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            died = died or f"task {task.get_name()} died ({reason})"
            log.error("serve.task_died", task=task.get_name(), error=reason)
    stop.set()
    await asyncio.wait([loop_task], timeout=SHUTDOWN_GRACE_S)
    loop_task.cancel()
    for task in (*side, *starters):
        task.cancel()
    for task in (loop_task, *side, *starters, stopping):
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    try:
        released = await outbox.release(pool, worker)
    except supervisor.DATABASE_LOST as exc:  # their leases run out: whoever runs next has them
        log.warning("serve.not_released", error=type(exc).__name__)
        released = 0
    log.info("serve.stopped", released=released)
    return died


async def _resume(pool: asyncpg.Pool, areas: PostcodeAreas | None, stop: asyncio.Event) -> None:
    """Finish, every RESUME_EVERY_S, the alerts an interrupted ``alert send`` left half-written."""
    given_up: set[int] = set()
    while not stop.is_set():
        await enqueue.resume_interrupted(pool, areas, given_up=given_up)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RESUME_EVERY_S)
