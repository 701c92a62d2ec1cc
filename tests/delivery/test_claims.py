"""Issue 12, cases 1, 2, 3 and the claim half of 5: a token per claim, leases renewed while a
daemon sends, receipts applied to the attempt whose message id they carry, STOP honoured by the
claim. On a real PostgreSQL, with the in-process fake gateway."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg

from alertd.delivery import outbox
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from gateways.base import Receipt, ReceiptStatus, SubmitResult
from gateways.fake import FakeGateway
from tests.support.seed import seed_alert

WAIT = 30.0


def receipt(message_id: str, status: ReceiptStatus, gateway: str = "gw") -> Receipt:
    return Receipt(gateway, message_id, status, datetime.now(UTC))


async def status_of(pool: asyncpg.Pool, delivery_id: int) -> str:
    return str(await pool.fetchval("SELECT status FROM deliveries WHERE id = $1", delivery_id))


async def until(pool: asyncpg.Pool, query: str, *args: object) -> None:
    """Poll the database (bounded) until ``query`` is true."""

    async def poll() -> None:
        while not await pool.fetchval(query, *args):  # noqa: ASYNC110 - the database has no event
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), WAIT)


async def test_two_dispatchers_with_a_slow_gateway_and_a_short_lease_send_once(
    loaded: asyncpg.Pool,
) -> None:
    alert_id = await seed_alert(loaded, 12)
    # 2 messages at a time, 0.3 s each: 1.8 s for the batch, with a lease of 1 s.
    slow = FakeGateway("slow", latency=0.3, window=2, receipts=False)
    settings = DispatchSettings(
        batch=12, lease_s=1.0, concurrency=1, idle_s=0.02, receipt_timeout_s=0
    )
    first = Dispatcher(loaded, [slow], worker="host:1", settings=settings)
    second = Dispatcher(loaded, [slow], worker="host:2", settings=settings)
    stop = asyncio.Event()
    runs = [asyncio.create_task(d.run(stop)) for d in (first, second)]
    try:
        await until(
            loaded,
            "SELECT count(*) = 12 FROM deliveries WHERE alert_id = $1 AND status = 'submitted'",
            alert_id,
        )
    finally:
        stop.set()
        await asyncio.gather(*runs)
    phones = [m.to for m in slow.received]
    assert sorted(phones) == sorted(set(phones)) and len(phones) == 12  # nobody got it twice
    assert (await outbox.progress(loaded, alert_id))["in_doubt"] == 0


async def test_a_stale_record_of_the_same_daemon_changes_nothing(loaded: asyncpg.Pool) -> None:
    await seed_alert(loaded, 1)
    [old] = await outbox.claim(loaded, 10, 0, "host:1")  # its lease ran out at once
    assert await outbox.reclaim_expired(loaded) == 1  # never handed: simply queued again
    [new] = await outbox.claim(loaded, 10, 60, "host:1")  # the same daemon claims it again
    assert new.id == old.id and new.token != old.token
    late = [SubmitResult.accepted(str(old.id), "OLD")]
    assert await outbox.record(loaded, old.token, "gw", late) == outbox.Recorded(0, 0, 0)
    assert await status_of(loaded, new.id) == "sending"  # the fresh attempt is untouched
    fresh = [SubmitResult.accepted(str(new.id), "NEW")]
    assert await outbox.record(loaded, new.token, "gw", fresh) == outbox.Recorded(1, 0, 0)
    row = await loaded.fetchrow("SELECT * FROM deliveries WHERE id = $1", new.id)
    assert (row["status"], row["gateway_message_id"]) == ("submitted", "NEW")
    # What the gateway took for the lost claim is known: its receipt still counts.
    assert (
        await loaded.fetchval("SELECT outcome FROM delivery_attempts WHERE message_id = 'OLD'")
        == "stale"
    )


async def test_hand_over_sends_only_held_rows_and_renews_the_lease(loaded: asyncpg.Pool) -> None:
    await seed_alert(loaded, 4)
    claimed = await outbox.claim(loaded, 10, 60, "host:1")
    token, ids = claimed[0].token, [c.id for c in claimed]
    renewed = await outbox.handover(loaded, "host:1", token, ids[:2], lease_s=600, renew=ids)
    assert renewed.id is not None and renewed.held == frozenset(ids[:2])
    assert await loaded.fetchval(
        "SELECT bool_and(lease_until > now() + interval '500 s') FROM deliveries"
    )
    assert (await outbox.handover(loaded, "host:1", token + 1, ids[2:])).held == frozenset()
    await loaded.execute("UPDATE deliveries SET lease_until = now() - interval '1 s'")
    assert await outbox.reclaim_expired(loaded) == 4
    lost = await outbox.handover(loaded, "host:1", token, ids[2:])
    assert (lost.id, lost.held) == (None, frozenset())  # given back: not sent by this claim


async def test_a_late_receipt_of_the_first_attempt_never_finalises_the_resend(
    loaded: asyncpg.Pool,
) -> None:
    await seed_alert(loaded, 1)
    [first] = await outbox.claim(loaded, 10, 60, "host:1")
    await outbox.record(loaded, first.token, "gw", [SubmitResult.accepted(str(first.id), "M1")])
    await loaded.execute("UPDATE deliveries SET submitted_at = now() - interval '1 hour'")
    assert await outbox.reroute_silent(loaded, 60) == 1  # no receipt in time: sent again
    [second] = await outbox.claim(loaded, 10, 60, "host:1")
    assert second.id == first.id
    # The first attempt's receipt arrives while the resend is under way.
    assert await outbox.apply_receipts(loaded, [receipt("M1", ReceiptStatus.EXPIRED)]) == []
    assert await status_of(loaded, first.id) == "sending"
    assert (
        await loaded.fetchval("SELECT receipt FROM delivery_attempts WHERE message_id = 'M1'")
        == "expired"
    )
    resent = [SubmitResult.accepted(str(second.id), "M2")]
    assert await outbox.record(loaded, second.token, "gw2", resent) == outbox.Recorded(1, 0, 0)
    assert (
        await outbox.apply_receipts(loaded, [receipt("M2", ReceiptStatus.DELIVERED, "gw2")]) == []
    )
    assert await status_of(loaded, first.id) == "delivered"


async def test_delivered_for_an_earlier_attempt_stops_the_queued_resend(
    loaded: asyncpg.Pool,
) -> None:
    alert_id = await seed_alert(loaded, 1)
    [first] = await outbox.claim(loaded, 10, 60, "host:1")
    await outbox.record(loaded, first.token, "gw", [SubmitResult.accepted(str(first.id), "M1")])
    await loaded.execute("UPDATE deliveries SET submitted_at = now() - interval '1 hour'")
    assert await outbox.reroute_silent(loaded, 60) == 1
    assert await outbox.apply_receipts(loaded, [receipt("M1", ReceiptStatus.DELIVERED)]) == []
    assert await status_of(loaded, first.id) == "delivered"
    assert await outbox.claim(loaded, 10, 60, "host:1") == []  # no further resend
    counts = await outbox.progress(loaded, alert_id)
    assert (counts["delivered"], counts.get("queued", 0)) == (1, 0)


async def test_the_claim_skips_and_cancels_stopped_subscribers(loaded: asyncpg.Pool) -> None:
    alert_id = await seed_alert(loaded, 3)
    await loaded.execute("UPDATE subscribers SET status = 'stopped' WHERE phone = '+33730000002'")
    claimed = await outbox.claim(loaded, 10, 60, "host:1")
    assert sorted(c.phone for c in claimed) == ["+33730000001", "+33730000003"]
    assert await outbox.claim(loaded, 10, 60, "host:1") == []
    assert await outbox.progress(loaded, alert_id) == {
        "sending": 2,
        "cancelled": 1,
        "in_doubt": 0,
        "rerouted": 0,
    }
    row = await loaded.fetchrow(
        "SELECT d.status, d.attempts FROM deliveries d JOIN subscribers s ON s.id = "
        "d.subscriber_id WHERE s.phone = '+33730000002'"
    )
    assert (row["status"], row["attempts"]) == ("cancelled", 0)


async def test_the_receipt_of_a_fenced_out_attempt_still_counts(loaded: asyncpg.Pool) -> None:
    alert_id = await seed_alert(loaded, 1)
    [old] = await outbox.claim(loaded, 10, 0, "host:1")  # its daemon stalled past the lease
    await outbox.handover(loaded, "host:1", old.token, [old.id], lease_s=0)
    assert await outbox.reclaim_expired(loaded) == 1  # handed: in doubt, sent again
    [new] = await outbox.claim(loaded, 10, 60, "host:2")
    # The stalled daemon's gateway had taken it after all: fenced out, kept as a stale attempt.
    late = [SubmitResult.accepted(str(old.id), "OLD")]
    assert await outbox.record(loaded, old.token, "gw", late) == outbox.Recorded(0, 0, 0)
    assert await outbox.apply_receipts(loaded, [receipt("OLD", ReceiptStatus.DELIVERED)]) == []
    assert await status_of(loaded, new.id) == "delivered"  # the resident has it
    # The resend under way changes nothing when it lands; it was counted in doubt.
    resent = [SubmitResult.accepted(str(new.id), "NEW")]
    assert await outbox.record(loaded, new.token, "gw", resent) == outbox.Recorded(0, 0, 0)
    counts = await outbox.progress(loaded, alert_id)
    assert (counts["delivered"], counts["in_doubt"]) == (1, 1)


async def test_a_cancel_that_races_the_enqueue_sends_nothing_more(loaded: asyncpg.Pool) -> None:
    alert_id = await seed_alert(loaded, 6, enqueue=False)
    subscribers = [
        r["id"] for r in await loaded.fetch("SELECT id FROM subscribers ORDER BY id LIMIT 6")
    ]

    async def enqueue(ids: list[int]) -> int:
        return await outbox.enqueue(
            loaded,
            alert_id,
            outbox.LIFE_SAFETY,
            subscriber_ids=ids,
            matched_by=["postcode"] * len(ids),
            languages=["fr"] * len(ids),
        )

    assert await enqueue(subscribers[:3]) == 3  # the first batch of `alert send`
    # The cancel's snapshot saw the first batch only; a second batch committed just after it.
    await loaded.execute("UPDATE alerts SET status = 'cancelled' WHERE id = $1", alert_id)
    await loaded.execute(
        "UPDATE deliveries SET status = 'cancelled' WHERE alert_id = $1 AND subscriber_id = $2",
        alert_id,
        subscribers[0],
    )
    assert await enqueue(subscribers[3:]) == 0  # a batch after the cancel writes nothing
    assert await outbox.claim(loaded, 10, 60, "host:1") == []  # and nothing raced is sent
    statuses = await loaded.fetch(
        "SELECT status, error FROM deliveries WHERE alert_id = $1", alert_id
    )
    assert {(r["status"], r["error"]) for r in statuses} == {
        ("cancelled", None),
        ("cancelled", "the alert was cancelled"),
    }
    assert len(statuses) == 3


async def test_an_early_receipt_whose_id_an_old_message_had_is_kept_until_recorded(
    loaded: asyncpg.Pool,
) -> None:
    """A provider's ids start again (an SMSC restarted, the demo's fake gateway run again): the
    receipt of a submission not recorded yet named an old, delivered message's id, counted as
    applied and dropped; the new delivery waited for it forever."""
    await seed_alert(loaded, 2)
    [old, new] = await outbox.claim(loaded, 10, 60, "host:1")
    await outbox.record(loaded, old.token, "gw", [SubmitResult.accepted(str(old.id), "M1")])
    assert await outbox.apply_receipts(loaded, [receipt("M1", ReceiptStatus.DELIVERED)]) == []
    # The same id again, for the other delivery, whose submission is not recorded yet.
    early = receipt("M1", ReceiptStatus.DELIVERED)
    assert await outbox.apply_receipts(loaded, [early]) == [early]  # kept, to try again
    await outbox.record(loaded, new.token, "gw", [SubmitResult.accepted(str(new.id), "M1")])
    assert await outbox.apply_receipts(loaded, [early]) == []
    assert await status_of(loaded, new.id) == "delivered"
