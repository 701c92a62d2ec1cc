"""The durable outbox: the database side of dispatch (see sql/outbox.sql).

PostgreSQL is the only coordinator. Deliveries are written once per (alert, subscriber); daemons
claim batches with ``FOR UPDATE SKIP LOCKED`` under a lease, and record each gateway batch with one
statement. Every claim carries its own token (``Claimed.token``): hand-over (which renews the lease
and says which rows are still held), record and expiry are fenced by it, so that a daemon that lost
a row, even to its own re-claim, changes nothing. The states and transitions of one delivery are
tabled at the head of ``store/sql/outbox.sql``. The dispatch loop, failover and the in-doubt policy
build on these operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from alertd.store.queries import queries
from alertd.store.types import Conn, Queryable
from gateways.base import Outcome, Receipt, ReceiptStatus, SubmitResult

LIFE_SAFETY, INFORMATION = 0, 1  # deliveries.priority: lower is claimed first


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    alert_id: int
    priority: int
    attempts: int
    rerouted_from: str | None  # the gateway that lost it, when it is being sent again
    token: int  # this claim's: fences hand-over, record and expiry
    phone: str
    text: str | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Recorded:
    submitted: int
    failed: int
    requeued: int
    in_doubt: int = 0


@dataclass(frozen=True, slots=True)
class Handed:
    """A hand-over: its id (``record`` closes it) and the rows still held, the only ones to send."""

    id: int | None  # None: nothing of the chunk is held any more
    held: frozenset[int]


async def enqueue(
    conn: Queryable,
    alert_id: int,
    priority: int,
    *,
    subscriber_ids: Sequence[int],
    matched_by: Sequence[str],
    languages: Sequence[str],
) -> int:
    """Write the deliveries of one batch of recipients; returns how many were new."""
    return int(
        await conn.fetchval(
            queries("outbox")["enqueue"],
            alert_id,
            priority,
            list(subscriber_ids),
            list(matched_by),
            list(languages),
        )
    )


async def claim(conn: Queryable, batch: int, lease_s: float, worker: str) -> list[Claimed]:
    rows = await conn.fetch(queries("outbox")["claim"], batch, lease_s, worker)
    # The statement returns Claimed's fields in order: by position, on the hot path.
    return [Claimed(*r) for r in rows]


async def record(
    conn: Queryable,
    token: int,
    gateway: str,
    results: Sequence[SubmitResult],
    handover: int | Sequence[int] | None = None,
    *,
    attempts: Sequence[int] | None = None,
) -> Recorded:
    """Record one gateway batch (refs are delivery ids) of claim ``token`` and close its
    hand-over(s) (those whose rows are all in it); ``attempts`` (per result) labels what a
    fenced-out acceptance is kept as. The part ids of a long message are kept (its receipts are
    matched part by part)."""
    handovers = [] if handover is None else [handover] if isinstance(handover, int) else handover
    parts = [
        (int(r.ref), part_id, number, len(r.part_ids), r.part_ids[0])
        for r in results
        if r.outcome is Outcome.ACCEPTED
        for number, part_id in enumerate(r.part_ids, start=1)
    ]
    row = await conn.fetchrow(
        queries("outbox")["record"],
        [int(r.ref) for r in results],
        [r.outcome.value for r in results],
        [r.message_id for r in results],
        [r.reason for r in results],
        [r.retry_after if r.outcome is Outcome.RETRY else None for r in results],
        gateway,
        token,
        list(handovers),
        list(attempts) if attempts is not None else [None] * len(results),
        *(list(column) for column in zip(*parts, strict=True)) if parts else ([],) * 5,
    )
    assert row is not None  # noqa: S101 - an aggregate returns one row
    return Recorded(row["submitted"], row["failed"], row["requeued"], row["in_doubt"])


async def expire(conn: Queryable, token: int, ids: Sequence[int]) -> int:
    return int(await conn.fetchval(queries("outbox")["expire"], list(ids), token))


async def apply_receipts(conn: Queryable, receipts: Sequence[Receipt]) -> list[Receipt]:
    """Apply the final receipts; return those that matched no submitted delivery yet. A fast
    SMSC can answer before this daemon has recorded the submission: the caller tries them
    again a little later. A receipt whose id may take several forms (``alternatives``) names
    the first form the store knows; a part's receipt counts for its message once every part
    has one (delivered when all are, failed when one is)."""
    final = [r for r in receipts if r.status is not ReceiptStatus.BUFFERED]
    if not final:
        return []
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as borrowed, borrowed.transaction():
            return await _apply(borrowed, final)
    async with conn.transaction():
        return await _apply(conn, final)


async def _apply(conn: Conn, final: list[Receipt]) -> list[Receipt]:
    forms = [
        (i, r.gateway, f) for i, r in enumerate(final) for f in (r.message_id, *r.alternatives)
    ]
    rows = await conn.fetch(
        queries("outbox")["resolve_receipts"],
        *(list(column) for column in zip(*forms, strict=True)),
        list(range(len(final))),
        [r.status.value for r in final],
        [r.error for r in final],
    )
    effective: dict[tuple[str, str], tuple[str, str | None]] = {}
    for row in rows:
        receipt = final[row["idx"]]
        if not row["is_part"]:
            effective[(receipt.gateway, row["message_id"])] = (receipt.status.value, receipt.error)
        elif row["whole"] is not None:  # every part in, or one failed: the message's own
            effective[(receipt.gateway, row["first_id"])] = (row["whole"], row["why"])
    applied: set[tuple[str, str]] = set()
    if effective:
        matched = await conn.fetch(
            queries("outbox")["receipts"],
            [g for g, _ in effective],
            [m for _, m in effective],
            [s for s, _ in effective.values()],
            [e for _, e in effective.values()],
        )
        applied = {(m["gateway"], m["gateway_message_id"]) for m in matched}
    # Found: recorded on a part, or applied to a delivery or an attempt. An id the store knows
    # only from another message (a provider's counter that started again, a delivery already
    # final) is not found: the submission it names may not be recorded yet, so it is kept and
    # tried again.
    found = {
        row["idx"]
        for row in rows
        if row["is_part"] or (final[row["idx"]].gateway, row["message_id"]) in applied
    }
    return [r for i, r in enumerate(final) if i not in found]


async def reroute_silent(conn: Queryable, receipt_timeout_s: float) -> int:
    """Send again, once, through another gateway, the life-safety deliveries that got no final
    receipt in time; returns how many."""
    return int(await conn.fetchval(queries("outbox")["reroute_silent"], receipt_timeout_s))


async def reclaim_expired(conn: Queryable) -> int:
    """Put back the deliveries whose daemon's lease ran out; they are marked in doubt."""
    return int(await conn.fetchval(queries("outbox")["give_back"], None))


async def release(conn: Queryable, worker: str) -> int:
    """Give back this daemon's claimed deliveries (on shutdown)."""
    return int(await conn.fetchval(queries("outbox")["give_back"], worker))


async def handover(
    conn: Queryable,
    worker: str,
    token: int,
    ids: Sequence[int],
    *,
    lease_s: float = 60.0,
    renew: Sequence[int] = (),
) -> Handed:
    """Write down that these deliveries of claim ``token`` are being handed to a gateway, just
    before it happens, renewing their lease (and that of ``renew``, the claim's next rows) where
    less than half of it is left; returns the hand-over (``record`` closes it) and which of
    ``ids`` are still held: only those may be sent."""
    row = await conn.fetchrow(
        queries("outbox")["handover"], list(ids), token, worker, lease_s, list(renew)
    )
    assert row is not None  # noqa: S101 - one row of two subqueries
    return Handed(row["handover"], frozenset(row["held"]))


async def renew(conn: Queryable, token: int, ids: Sequence[int], lease_s: float) -> int:
    """Extend the lease of these rows of claim ``token`` (those it still holds); returns how
    many."""
    return int(await conn.fetchval(queries("outbox")["renew"], list(ids), token, lease_s))


async def progress(conn: Queryable, alert_id: int) -> dict[str, int]:
    rows = await conn.fetch(queries("outbox")["progress"], alert_id)
    counts = {r["status"]: int(r["n"]) for r in rows}
    counts["in_doubt"] = sum(int(r["in_doubt"]) for r in rows)
    counts["rerouted"] = sum(int(r["rerouted"]) for r in rows)
    return counts
