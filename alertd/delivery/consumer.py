"""What comes back from the gateways: delivery receipts and inbound SMS, stored in PostgreSQL
before the provider is told they arrived (``gateways.events.settle`` after the commit), one
consumer task per gateway. STOP is obeyed at once and confirmed; receipts that arrive before their
submission is recorded are tried again; at shutdown what was received is stored first.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog

from alertd.delivery import inbound, metrics, outbox
from alertd.delivery.service_sms import send_service_sms
from alertd.logs import get_logger, mask_phone
from alertd.store.lost import DATABASE_LOST
from gateways import events
from gateways.base import Gateway, Inbound, Message, Receipt
from templates import Catalog, segments

log = get_logger(__name__)
RECEIPT_BATCH = 1_000
RETRY_EARLY_S = 0.5  # how often receipts that came before their submission's record are retried
KEEP_EARLY_S = 600.0  # after this, such a receipt is logged and dropped
# ... and after this it is acknowledged all the same: a receipt still matching nothing is a
# duplicate (the provider sent it again) or not ours (a STOP's confirmation); it must stop.
ACK_EARLY_S = 2.0
DRAIN_S = 5.0  # at shutdown, to store what was received before the gateways close


@dataclass(frozen=True, slots=True)
class Replies:
    """How inbound SMS are read and answered: the templates of the answers, and the region whose
    national numbering reads senders given without a country code (the configuration's
    ``subscribers.default_region``, as for the imports)."""

    catalog: Catalog
    region: str = "FR"
    keywords: inbound.Keywords | None = None  # residents' SMS keywords; None: STOP only


async def consume(
    pool: asyncpg.Pool,
    gateway: Gateway,
    catalog: Catalog | None = None,
    region: str = "FR",
    keywords: inbound.Keywords | None = None,
) -> None:
    """Receipts in batches (whatever has arrived), inbound messages one by one (STOP is obeyed
    at once and confirmed; keywords answered). Receipts that arrive before their submission is
    recorded are tried again. Runs as a task of its own: the gateway it serves is bound to
    every log line."""
    with structlog.contextvars.bound_contextvars(gateway=gateway.name):
        await _consume(pool, gateway, Replies(catalog or Catalog(), region, keywords))


async def _consume(pool: asyncpg.Pool, gateway: Gateway, replies: Replies) -> None:
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
            confirming |= await _store(pool, gateway, replies, batch, early)
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
                await _store(pool, gateway, replies, rest, early)
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
    replies: Replies,
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
        except DATABASE_LOST as exc:
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
                    metrics.observe_receipt(receipt.gateway, receipt.status)
        batch[:] = [e for e in batch if not isinstance(e, Receipt)]
    confirming = set()
    for message in [e for e in batch if isinstance(e, Inbound)]:
        done = functools.partial(batch.remove, message)
        storing = asyncio.ensure_future(_answer(pool, replies, message, done))
        try:
            # A shutdown lets the message being stored finish (a COMMIT cut short is in doubt).
            answer = await asyncio.shield(storing)
        except asyncio.CancelledError:
            await asyncio.wait([storing], timeout=DRAIN_S)
            if storing.done() and not storing.cancelled() and storing.exception() is None:
                events.settle(message, True)
            raise
        except DATABASE_LOST as exc:
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
    pool: asyncpg.Pool, replies: Replies, message: Inbound, stored: Callable[[], None]
) -> Message | None:
    """Handle one inbound SMS, calling ``stored`` once it is committed (or refused for good);
    returns the confirmation to send back (to the sender's number in E.164, whatever form the
    gateway gave it in), if any. A message PostgreSQL refuses even once cleaned is logged
    (sender masked) and dropped, never fatal."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            handled = await inbound.handle(
                conn,
                message,
                replies.catalog,
                region=replies.region,
                keywords=replies.keywords,
                now=datetime.now(UTC),
            )
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
    ref = f"{handled.kind}:{message.message_id or message.at.isoformat()}"
    return Message(ref, handled.sender, text, segments(text))


async def _confirm(gateway: Gateway, confirmation: Message) -> None:
    """Answer a STOP or a keyword through the gateway it came by, once it is stored. Apart from
    the receipts' loop, since the gateway may be busy with an alert; a lost answer is logged,
    never retried into a second one."""
    if not await send_service_sms(gateway, confirmation.to, confirmation.text, confirmation.ref):
        log.warning("inbound.confirmation_not_sent", sender=mask_phone(confirmation.to))


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
