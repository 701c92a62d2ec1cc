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


async def send_due(
    pool: asyncpg.Pool, gateways: Sequence[Gateway], worker: str, now: datetime
) -> int:
    """Claim what is due and send it; returns how many the gateways took."""
    q = queries("service_sms")
    rows = await pool.fetch(q["claim"], now, worker, BATCH, LEASE_S)
    taken = 0
    for row in rows:
        if row["status"] == "expired":
            log.warning("service_sms.expired", id=row["id"], to=mask_phone(row["phone"]))
            continue
        gateway = await _send(gateways, row["phone"], row["body"], f"svc:{row['id']}")
        if gateway is not None:
            await pool.execute(q["sent"], row["id"], now, gateway, worker)
            taken += 1
            continue
        pause = timedelta(seconds=30 * 2 ** (row["attempts"] - 1))
        await pool.execute(
            q["retry"], row["id"], now + pause, MAX_ATTEMPTS, worker, "no gateway took it"
        )
    return taken


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
                await send_due(pool, gateways, worker, now)
                waits = [asyncio.ensure_future(woken.wait()), asyncio.ensure_future(stop.wait())]
                try:
                    await asyncio.wait(waits, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waits:
                        w.cancel()
        finally:
            with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                await conn.remove_listener(CHANNEL, notified)
