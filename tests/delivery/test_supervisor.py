"""A daemon that keeps running: PostgreSQL restarted under it, a gateway that cannot start, and a
task that does die (the daemon then exits non-zero with the reason)."""

from __future__ import annotations

import asyncio
import collections
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg
import pytest
import smpp34
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from alertd.cli import serve as serve_command
from alertd.config import Config, with_overrides
from alertd.delivery import daemon, outbox, service_queue, supervisor
from alertd.delivery.dispatch import DispatchSettings
from alertd.store.database import create_pool
from alertd.store.migrate import migrate
from gateways.base import Message, SubmitResult
from gateways.breaker import CircuitBreaker
from gateways.fake import FakeGateway
from gateways.limits import ManualClock
from gateways.smpp import SmppGateway
from tests.support.own_postgres import own_postgres
from tests.support.seed import seed_alert

FAST = DispatchSettings(idle_s=0.05, lease_s=2.0, sweep_s=0.5)


async def _until(
    check: Callable[[], Any], within: float = 30.0, why: Callable[[], object] = str
) -> None:
    """Poll ``check`` until it holds (at most ``within`` s; then fail saying ``why()``)."""

    async def poll() -> None:
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(poll(), within)
    except TimeoutError:
        raise AssertionError(f"{check.__name__} still false after {within} s: {why()}") from None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _BrokenAdapter(FakeGateway):
    """A gateway whose submit fails with an error of its own: what a bug in an adapter does."""

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        raise ValueError("the adapter broke")


async def test_a_task_that_dies_makes_the_daemon_exit_non_zero_with_the_reason(
    loaded: asyncpg.Pool, config: Config
) -> None:
    await seed_alert(loaded, 3)
    gateway = _BrokenAdapter("broken")
    with capture_logs() as logs:
        code = await asyncio.wait_for(
            daemon.run(config, signals=False, settings=FAST, gateways=[gateway]), 30
        )
    assert code == daemon.EXIT_TASK_DIED
    [died] = [e for e in logs if e["event"] == "serve.task_died"]
    assert died["task"] == "dispatch"
    assert "the adapter broke" in died["error"]
    assert gateway._closed.is_set()  # closed on the way out


def _listener(work: Callable[[], Any]) -> daemon.Listener:
    """A listener that runs ``work`` in the background, as the API and the scheduler do."""

    @asynccontextmanager
    async def listening(*_: Any) -> AsyncIterator[list[asyncio.Task[None]]]:
        task = asyncio.create_task(work(), name="side-listener")
        try:
            yield [task]
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError, ValueError):
                await task

    return listening


async def _breaks() -> None:
    await asyncio.sleep(0.1)
    raise ValueError("the listener broke")


async def _returns() -> None:
    await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    ("work", "reason"),
    [(_breaks, "ValueError: the listener broke"), (_returns, "ended while the daemon was running")],
    ids=["raises", "returns"],
)
async def test_a_listeners_task_that_ends_stops_the_daemon_rather_than_leave_it_half_alive(
    loaded: asyncpg.Pool, config: Config, work: Callable[[], Any], reason: str
) -> None:
    """The API's training gateway, its purges and the scheduler ran unwatched: one that died
    left a daemon that looked healthy and no longer did that part of its job."""
    with capture_logs() as logs:
        code = await asyncio.wait_for(
            daemon.run(
                config,
                signals=False,
                settings=FAST,
                gateways=[FakeGateway("g")],
                listeners=[_listener(work)],
            ),
            30,
        )
    assert code == daemon.EXIT_TASK_DIED
    [died] = [e for e in logs if e["event"] == "serve.task_died"]
    assert (died["task"], died["error"]) == ("side-listener", reason)


async def test_serves_own_listeners_tasks_are_watched(loaded: asyncpg.Pool, config: Config) -> None:
    """What `alertd serve` runs: its training gateway stopped under it stops the daemon."""
    with capture_logs() as logs:
        run = asyncio.create_task(
            daemon.run(
                config,
                signals=False,
                settings=FAST,
                gateways=[FakeGateway("g")],
                listeners=serve_command.listeners(config),
            )
        )

        async def training() -> asyncio.Task[Any] | None:
            return next(
                (t for t in asyncio.all_tasks() if t.get_name() == "training-gateway"), None
            )

        await _until(training)
        found = await training()
        assert found is not None
        found.cancel()
        assert await asyncio.wait_for(run, 30) == daemon.EXIT_TASK_DIED
    [died] = [e for e in logs if e["event"] == "serve.task_died"]
    assert (died["task"], died["error"]) == ("training-gateway", "cancelled")


class _LosesItsConnectionOnce(FakeGateway):
    """A gateway whose first submit lets a lost connection through (an adapter's bug)."""

    lost = False

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        if not self.lost:
            self.lost = True
            raise ConnectionResetError("connection reset by peer")
        return await super().submit(messages)


async def test_a_connection_error_while_the_database_answers_restarts_the_task(
    loaded: asyncpg.Pool, config: Config
) -> None:
    alert_id = await seed_alert(loaded, 20)
    gateway = _LosesItsConnectionOnce("flaky")
    stop = asyncio.Event()
    settings = DispatchSettings(idle_s=0.05, lease_s=0.5, sweep_s=0.5)
    with capture_logs() as logs:
        task = asyncio.create_task(
            daemon.run(config, stop=stop, signals=False, settings=settings, gateways=[gateway])
        )

        async def delivered() -> bool:
            return (await outbox.progress(loaded, alert_id)).get("delivered") == 20

        await _until(delivered)
        assert not task.done()
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0
    events = [e["event"] for e in logs]
    assert "serve.task_restarted" in events
    assert "serve.database_lost" not in events  # the database never went away


def test_a_tripped_breaker_stays_open_without_a_probe_until_a_success() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(threshold=5, cooldown=30.0, clock=clock)
    breaker.trip()
    clock.advance(3600)
    assert breaker.state == "open"
    assert not breaker.allow()  # no half-open probe: the starter is the probe
    breaker.success()
    assert breaker.state == "closed"
    assert breaker.allow()


@asynccontextmanager
async def _smsc(port: int) -> AsyncIterator[asyncio.Queue[smpp34.Esme]]:
    """The smpp34 simulator on ``port``, accepting everything; the sessions that bind."""
    server = smpp34.Server("127.0.0.1", port, system_id="SIMSC")
    await server.start()
    bound: asyncio.Queue[smpp34.Esme] = asyncio.Queue()

    async def serve() -> None:
        ids = 0
        while True:
            event = await server.next()
            if isinstance(event, smpp34.Esme):
                bound.put_nowait(event)
            elif isinstance(event, smpp34.SubmitSmEvent):
                ids += 1
                event.accept(f"SIM{ids:06d}")

    task = asyncio.create_task(serve())
    try:
        yield bound
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await server.stop()


async def test_an_unreachable_smsc_at_start_opens_its_circuit_and_the_backup_sends(
    loaded: asyncpg.Pool, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervisor, "GATEWAY_RETRY_MIN_S", 0.05)
    monkeypatch.setattr(supervisor, "GATEWAY_RETRY_MAX_S", 0.2)
    port = _free_port()  # nothing listens there yet
    smsc = SmppGateway(
        "smsc", host="127.0.0.1", port=port, system_id="alertd", password="secret",
        timeout=2.0, reconnect_min=0.05,
    )  # fmt: skip
    backup = FakeGateway("backup")
    alert_id = await seed_alert(loaded, 30)
    stop = asyncio.Event()
    with capture_logs(processors=[merge_contextvars]) as logs:
        task = asyncio.create_task(
            daemon.run(config, stop=stop, signals=False, settings=FAST, gateways=[smsc, backup])
        )

        async def delivered() -> bool:
            return (await outbox.progress(loaded, alert_id)).get("delivered") == 30

        await _until(delivered)
        assert smsc.health() == "open"
        assert len(backup.received) == 30
        assert not task.done()
        async with _smsc(port) as bound:
            await asyncio.wait_for(bound.get(), 30)  # the daemon's own retry bound it

            async def closed() -> bool:
                return smsc.health() == "closed"

            await _until(closed)
            stop.set()
            assert await asyncio.wait_for(task, 30) == 0
    events = [e["event"] for e in logs]
    assert "serve.gateway_not_started" in events
    assert "serve.gateway_started" in events
    assert smsc.closed  # closed on the way out


@pytest.mark.slow
async def test_postgresql_restarted_during_a_send(config: Config) -> None:
    from alertd.tenants import load_territory

    n = 300
    async with own_postgres() as (server, dsn):
        cfg = with_overrides(config, database={"url": dsn, "pool_min": 1, "pool_max": 4})
        pool = await create_pool(dsn, cfg.database)
        async with pool.acquire() as conn:
            await migrate(conn)
        await load_territory(pool, "test")
        alert_id = await seed_alert(pool, n)
        phones = {r["phone"] for r in await pool.fetch("SELECT phone FROM subscribers")}
        await pool.close()
        gateway = FakeGateway("demo", latency=0.05, window=10)
        stop = asyncio.Event()
        with capture_logs() as logs:
            task = asyncio.create_task(
                daemon.run(cfg, stop=stop, signals=False, settings=FAST, gateways=[gateway])
            )

            async def sending() -> bool:
                return len(gateway.received) >= 50

            async def lost() -> bool:
                return any(e["event"] == "serve.database_lost" for e in logs)

            await _until(sending)
            await asyncio.to_thread(server.stop)

            def died() -> object:
                return [e for e in logs if e["event"] == "serve.task_died"]

            await _until(lost, 20, died)
            assert len(gateway.received) < n  # stopped during the send
            await asyncio.to_thread(server.start)
            check = await asyncpg.connect(dsn)
            try:

                async def finished() -> bool:
                    left = await check.fetchval(
                        "SELECT count(*) FROM deliveries WHERE status IN ('queued', 'sending')"
                    )
                    return bool(left == 0)

                await _until(finished, 60, died)
                assert not task.done()  # still running
                in_doubt = await check.fetchval(
                    "SELECT count(*) FROM deliveries WHERE in_doubt AND alert_id = $1", alert_id
                )
                doubtful = {
                    r["phone"]
                    for r in await check.fetch(
                        "SELECT s.phone FROM deliveries d JOIN subscribers s "
                        "ON s.id = d.subscriber_id WHERE d.in_doubt"
                    )
                }
            finally:
                await check.close()
            stop.set()
            assert await asyncio.wait_for(task, 30) == 0
    copies = collections.Counter(m.to for m in gateway.received)
    assert set(copies) == phones  # nobody missing
    twice = {phone for phone, k in copies.items() if k > 1}
    assert twice <= doubtful  # nobody twice unless counted in doubt
    assert sum(copies.values()) - n <= in_doubt
    assert in_doubt <= gateway.limits.window * FAST.concurrency  # at most one window in flight
    events = {e["event"]: e for e in logs}
    assert events["serve.database_lost"]["error"]  # the error's class
    assert "serve.database_back" in events
    assert not any(p in str(e) for e in logs for p in phones)


class _SlowToTake(FakeGateway):
    """A gateway that takes 0.5 s to accept, and says when a submit has begun."""

    def __init__(self) -> None:
        super().__init__("slow", latency=0.5, receipts=False)
        self.begun = asyncio.Event()

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        self.begun.set()
        return await super().submit(messages)


async def test_a_stop_lets_the_service_sms_being_sent_finish_and_be_recorded(
    loaded: asyncpg.Pool, config: Config
) -> None:
    """Cancelled mid-send on SIGTERM, a sign-up code was left 'sending' and sent again, once
    its lease ran out, by the next daemon: the resident got it twice."""
    async with loaded.acquire() as conn:
        now = await conn.fetchval("SELECT now()")
        sms_id = await service_queue.queue(
            conn, "+33699887766", "Dunkerque : bienvenue", purpose="desk_confirmation", now=now
        )
    gateway, stop = _SlowToTake(), asyncio.Event()
    run = asyncio.create_task(
        daemon.run(config, stop=stop, signals=False, settings=FAST, gateways=[gateway])
    )
    await asyncio.wait_for(gateway.begun.wait(), 30)
    stop.set()
    assert await asyncio.wait_for(run, 30) == 0
    status = await loaded.fetchval("SELECT status FROM service_sms WHERE id = $1", sms_id)
    assert (status, len(gateway.received)) == ("sent", 1)
