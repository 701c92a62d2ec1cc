"""Service SMS queued in the database (the desk's confirmation to a resident) and the daemon's
task that sends them: woken by a NOTIFY as soon as one is queued (polled as well, a NOTIFY may be
lost), through the first gateway whose circuit is not open, each with its own rate limit.
Tried again with a growing pause; given up after ``MAX_ATTEMPTS`` or past its ``not_after`` (a
confirmation a day late would puzzle the resident more than help)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from alertd.delivery.service_sms import send_service_sms
from alertd.logs import get_logger, mask_phone
from alertd.store.queries import queries
from alertd.store.types import Queryable
from gateways.base import Gateway

log = get_logger(__name__)
CHANNEL = "alertd_service_sms"
POLL_S = 5.0
# After a NOTIFY, what else is queued within this long is claimed with it: a sign-up rush's
# codes (hundreds a second) go by batches, not one claim and one update each.
GATHER_S = 0.01
LEASE_S = 60
BATCH = 50
MAX_ATTEMPTS = 5
VALID_FOR = timedelta(hours=24)


async def queue(
    conn: Queryable,
    phone: str,
    text: str,
    *,
    purpose: str,
    now: datetime,
    tenant_id: int | None = None,
    subscriber_id: int | None = None,
    valid_for: timedelta = VALID_FOR,
) -> int:
    """Queue one SMS, in the caller's transaction: it leaves only if that commits."""
    return int(
        await conn.fetchval(
            queries("service_sms")["queue"],
            tenant_id,
            subscriber_id,
            phone,
            text,
            purpose,
            now,
            now + valid_for,
        )
    )


@dataclass(frozen=True, slots=True)
class Queued:
    """One SMS to queue with others (``queue_many``)."""

    phone: str
    text: str
    purpose: str
    now: datetime
    valid_for: timedelta = VALID_FOR


async def queue_many(conn: Queryable, sms: Sequence[Queued]) -> None:
    """Queue several in one statement (and one NOTIFY), in the caller's transaction."""
    await conn.execute(
        queries("service_sms")["queue_many"],
        [s.phone for s in sms],
        [s.text for s in sms],
        [s.purpose for s in sms],
        [s.now for s in sms],
        [s.now + s.valid_for for s in sms],
    )


async def send_due(
    pool: asyncpg.Pool, gateways: Sequence[Gateway], worker: str, now: datetime
) -> int:
    """Claim what is due and send it; returns how many the gateways took."""
    return (await send_batch(pool, gateways, worker, now))[1]


async def send_batch(
    pool: asyncpg.Pool, gateways: Sequence[Gateway], worker: str, now: datetime
) -> tuple[int, int]:
    """One batch claimed and sent: how many were claimed, how many the gateways took. The
    batch's SMS go to the gateways at once (a gateway that answers in 20 ms would otherwise cap
    a burst of sign-up codes at 50 a second), and what they took is recorded in one statement."""
    q = queries("service_sms")
    rows = await pool.fetch(q["claim"], now, worker, BATCH, LEASE_S)
    for row in rows:
        if row["status"] == "expired":
            log.warning("service_sms.expired", id=row["id"], to=mask_phone(row["phone"]))
    live = [row for row in rows if row["status"] != "expired"]
    taken = await asyncio.gather(
        *(_send(gateways, row["phone"], row["body"], f"svc:{row['id']}") for row in live)
    )
    sent = [(row["id"], gateway) for row, gateway in zip(live, taken, strict=True) if gateway]
    if sent:
        ids, names = zip(*sent, strict=True)
        await pool.execute(q["sent"], list(ids), list(names), now, worker)
    for row, gateway in zip(live, taken, strict=True):
        if gateway is None:
            pause = timedelta(seconds=30 * 2 ** (row["attempts"] - 1))
            await pool.execute(
                q["retry"], row["id"], now + pause, MAX_ATTEMPTS, worker, "no gateway took it"
            )
    return len(rows), len(sent)


async def _send(gateways: Sequence[Gateway], to: str, text: str, ref: str) -> str | None:
    for gateway in sorted(gateways, key=lambda g: g.health() == "open"):
        if await send_service_sms(gateway, to, text, ref):
            return gateway.name
    return None


async def run(
    pool: asyncpg.Pool,
    gateways: Sequence[Gateway],
    stop: asyncio.Event,
    *,
    worker: str | None = None,
    poll_s: float = POLL_S,
    gather_s: float = GATHER_S,
) -> None:
    """The daemon's task: send what is queued, as it is queued, until ``stop``."""
    worker = worker or f"{socket.gethostname()}:service"
    woken = asyncio.Event()

    def notified(*_: object) -> None:
        woken.set()

    async with pool.acquire() as conn:
        await conn.add_listener(CHANNEL, notified)
        try:
            while not stop.is_set():
                if conn.is_closed():
                    raise asyncpg.exceptions.ConnectionDoesNotExistError(
                        "the connection listening for service SMS was lost"
                    )
                woken.clear()
                now = await pool.fetchval("SELECT now()")
                claimed, _ = await send_batch(pool, gateways, worker, now)
                if claimed >= BATCH:
                    continue  # more may be due at once: a burst is not left to the next poll
                waits = [asyncio.ensure_future(woken.wait()), asyncio.ensure_future(stop.wait())]
                try:
                    await asyncio.wait(waits, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waits:
                        w.cancel()
                if woken.is_set() and not stop.is_set():
                    await asyncio.sleep(gather_s)
        finally:
            with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                await conn.remove_listener(CHANNEL, notified)
