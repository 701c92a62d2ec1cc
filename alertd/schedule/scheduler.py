"""The scheduler inside ``alertd serve``: one daemon at a time runs it, holding a PostgreSQL
advisory lock on a connection of its own; the others try the lock every LOCK_RETRY_S and take
over within that when the leader dies (its session ends, the lock with it).

Each pass (``tick``, pure of any clock: ``now`` is passed in) finishes the firings a dead leader
left half-done, then decides every firing due since the schedule was last looked at: sent if it
is at most its grace time late, else recorded missed and reported. A firing is claimed by
inserting its unique (schedule, fire time) row: a restart, a takeover or two daemons never send
one twice. Between passes the leader sleeps until the next firing is due, or until a schedule
changes (NOTIFY), at most IDLE_S.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from alertd import audit
from alertd.alerts import lifecycle
from alertd.delivery import supervisor
from alertd.logs import get_logger
from alertd.schedule import firing
from alertd.schedule.rules import firings
from alertd.schedule.schedules import CHANNEL, quiet_of, rule_of
from alertd.store.lost import DATABASE_LOST
from alertd.store.queries import queries

log = get_logger(__name__)
LOCK_KEY = 0x616C_6572_7464_5343  # "alertdSC": advisory locks are per database
LOCK_RETRY_S = 2.0  # a standby tries the lock this often: the takeover delay after a death
IDLE_S = 30.0  # the leader looks at the schedules at least this often
RESTART_S = 5.0  # after an unexpected error, the scheduler starts again after this
PREPARE_S = 60.0  # a firing's alert is drafted this long ahead: at its due time, only the send
CATCH_UP = 1000  # firings decided per schedule and pass (a long outage: the rest next pass)
Clock = Callable[[], datetime]
FIRING_LOCK_CLASS = 0x5343  # the two-int advisory locks of firings: (this, firing id)
_TRY_FIRING = "SELECT pg_try_advisory_lock($1::int, ($2::bigint % 2147483647)::int)"
_UNLOCK_FIRING = "SELECT pg_advisory_unlock($1::int, ($2::bigint % 2147483647)::int)"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Tick:
    outcomes: list[firing.Outcome] = field(default_factory=list)
    missed: list[tuple[int, datetime]] = field(default_factory=list)
    next_due: datetime | None = None

    def due(self, when: datetime) -> None:
        self.next_due = when if self.next_due is None else min(self.next_due, when)


async def tick(ctx: lifecycle.Context, now: datetime, *, worker: str = "") -> Tick:
    """One pass of the scheduler at ``now``."""
    done = Tick()
    for row in await ctx.pool.fetch(queries("schedules")["open_firings"], now):
        await _fire_guarded(ctx, row["firing_id"], done)
    for row in await ctx.pool.fetch(queries("schedules")["active"]):
        await _decide(ctx, row, now, worker, done)
    ahead = await ctx.pool.fetchval(queries("schedules")["next_open"])
    if ahead is not None:
        done.due(max(ahead, now))
    return done


async def _decide(
    ctx: lifecycle.Context, row: asyncpg.Record, now: datetime, worker: str, done: Tick
) -> None:
    rule, quiet = rule_of(row), quiet_of(row)
    decided = row["checked_until"]
    horizon = now + timedelta(seconds=PREPARE_S)
    pending = firings(
        rule, decided, severity=row["severity"], quiet=quiet, until=horizon, limit=CATCH_UP
    )
    for one in pending:
        if one.due_at > horizon:  # held by quiet hours: it and what follows wait
            break
        if one.due_at > now:  # due soon: claimed and drafted now, sent at its due time
            claimed = await _claim(
                ctx.pool,
                row,
                fire_time=one.fire_time,
                due_at=one.due_at,
                status="firing",
                worker=worker,
            )
            if claimed is not None:
                await _fire_guarded(ctx, claimed, done, send=False)
            decided = one.fire_time
            continue
        late_s = (now - one.due_at).total_seconds()
        if late_s <= row["grace_s"]:
            claimed = await _claim(
                ctx.pool,
                row,
                fire_time=one.fire_time,
                due_at=one.due_at,
                status="firing",
                worker=worker,
            )
            if claimed is not None:
                await _fire_guarded(ctx, claimed, done)
        else:
            await _missed(
                ctx.pool,
                row,
                fire_time=one.fire_time,
                due_at=one.due_at,
                late_s=late_s,
                worker=worker,
                done=done,
            )
        decided = one.fire_time
    if decided != row["checked_until"]:
        await ctx.pool.execute(queries("schedules")["checked"], row["id"], decided)
    upcoming = firings(rule, decided, severity=row["severity"], quiet=quiet, limit=1)
    if upcoming:
        done.due(upcoming[0].due_at - timedelta(seconds=PREPARE_S))


async def _fire_guarded(
    ctx: lifecycle.Context, firing_id: int, done: Tick, *, send: bool = True
) -> None:
    """Fire a claimed firing while holding its own advisory lock, on a connection of its own:
    whoever else saw it open (a second daemon, a stale list) skips it or, once the lock is let
    go, finds it finished. A holder that dies lets go with its session."""
    async with ctx.pool.acquire() as guard:
        if not await guard.fetchval(_TRY_FIRING, FIRING_LOCK_CLASS, firing_id):
            return
        try:
            row = await guard.fetchrow(queries("schedules")["open_firing"], firing_id)
            if row is not None:  # still open: nobody finished it meanwhile
                outcome = await firing.fire(ctx, row, send=send)
                if send or outcome.status != "drafted":
                    done.outcomes.append(outcome)
        finally:
            await guard.execute(_UNLOCK_FIRING, FIRING_LOCK_CLASS, firing_id)


async def _claim(
    pool: asyncpg.Pool,
    row: asyncpg.Record,
    *,
    fire_time: datetime,
    due_at: datetime,
    status: str,
    worker: str,
    error: str | None = None,
) -> int | None:
    return await pool.fetchval(  # type: ignore[no-any-return]
        queries("schedules")["claim_firing"], row["id"], fire_time, due_at, status, worker, error
    )


async def _missed(
    pool: asyncpg.Pool,
    row: asyncpg.Record,
    *,
    fire_time: datetime,
    due_at: datetime,
    late_s: float,
    worker: str,
    done: Tick,
) -> None:
    reason = (
        f"no scheduler ran from its due time until {late_s:.0f} s later, beyond its grace "
        f"time of {row['grace_s']:.0f} s: not sent"
    )
    async with pool.acquire() as conn, conn.transaction():
        claimed = await conn.fetchval(
            queries("schedules")["claim_firing"],
            row["id"],
            fire_time,
            due_at,
            "missed",
            worker,
            reason,
        )
        if claimed is None:
            return
        await audit.record(
            conn,
            actor=f"scheduler:{worker}",
            action="schedule.missed",
            target=f"schedule:{row['id']}",
            tenant_id=row["tenant_id"],
            details={"fire_time": fire_time.isoformat(), "late_s": round(late_s)},
        )
    log.warning(
        "schedule.missed",
        schedule_id=row["id"],
        fire_time=fire_time.isoformat(),
        late_s=round(late_s),
        grace_s=row["grace_s"],
    )
    done.missed.append((row["id"], fire_time))


async def _wait(events: list[asyncio.Event], seconds: float) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=max(0.0, seconds), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def lead(
    ctx: lifecycle.Context,
    stop: asyncio.Event,
    *,
    worker: str,
    clock: Clock = utcnow,
    leading: asyncio.Event | None = None,
) -> None:
    """Wait for the lock, then run the scheduler until ``stop``. ``leading`` is set while this
    daemon holds the lock (tests wait on it)."""
    async with ctx.pool.acquire() as conn:
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            await _wait([stop], LOCK_RETRY_S)
            if stop.is_set():
                return
        log.info("schedule.leading")
        changed = asyncio.Event()

        def notified(*_: Any) -> None:
            changed.set()

        await conn.add_listener(CHANNEL, notified)
        if leading is not None:
            leading.set()
        try:
            while not stop.is_set():
                changed.clear()
                passed = await tick(ctx, clock(), worker=worker)
                await conn.fetchval("SELECT 1")  # the lock's session still stands
                delay = IDLE_S
                if passed.next_due is not None:
                    delay = min(IDLE_S, (passed.next_due - clock()).total_seconds())
                await _wait([stop, changed], delay)
        finally:
            if leading is not None:
                leading.clear()
            with contextlib.suppress(*DATABASE_LOST, asyncpg.PostgresError):
                await conn.remove_listener(CHANNEL, notified)
                await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


@contextlib.asynccontextmanager
async def running(
    ctx: lifecycle.Context, *, worker: str, clock: Clock = utcnow
) -> AsyncIterator[list[asyncio.Task[None]]]:
    """The scheduler, as a task of ``alertd serve``, while the block runs (yielded, for the
    daemon to watch). A lost database is waited for (the supervisor's rules); any other error
    is logged and the scheduler started again after RESTART_S: a notice must not stop being
    sent because one firing went wrong."""
    stop = asyncio.Event()

    async def keep() -> None:
        while not stop.is_set():
            try:
                await supervisor.supervise(
                    "schedule", lambda: lead(ctx, stop, worker=worker, clock=clock), ctx.pool, stop
                )
            except Exception as exc:  # noqa: BLE001 - logged, and started again
                log.error(  # noqa: TRY400 - one line for the on-call, no traceback
                    "schedule.scheduler_failed", error=f"{type(exc).__name__}: {exc}"
                )
                await _wait([stop], RESTART_S)

    task = asyncio.create_task(keep(), name="scheduler")
    try:
        yield [task]
    finally:
        stop.set()
        await asyncio.wait([task], timeout=5.0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
