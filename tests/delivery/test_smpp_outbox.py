"""Issue 13, cases 2 and 5 in the durable path: receipts whose id the SMSC writes in another
base match the delivery in the outbox; a long message's parts are stored and its delivery is
delivered once every part is, failed (part named) when one fails. Real PostgreSQL, and the
project's SMSC simulator end to end."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from alertd.delivery import outbox
from gateways.base import Message, Outcome, Receipt, ReceiptStatus, SubmitResult
from tests.gateways.test_smpp_sim import running, started
from tests.support.gateway_contract import next_events

NOW = datetime.now(UTC)
LONG = "Crue de l'Aa : évacuez les rez-de-chaussée du quai, montez à l'étage. " * 5  # 3 parts


@pytest.fixture
async def claimed(loaded: asyncpg.Pool) -> tuple[asyncpg.Pool, list[outbox.Claimed]]:
    tenant = await loaded.fetchval("SELECT id FROM tenants WHERE code = '59183'")
    ids = [
        await loaded.fetchval(
            "INSERT INTO subscribers (tenant_id, phone, postcode, status, consent_at) "
            "VALUES ($1, $2, '59140', 'active', now()) RETURNING id",
            tenant,
            f"+3361200{i:04d}",
        )
        for i in range(3)
    ]
    alert_id = await loaded.fetchval(
        "INSERT INTO alerts (tenant_id, hazard, severity, texts) VALUES ($1, 'flood', "
        """'information', '{"fr": "ALERTE"}') RETURNING id""",
        tenant,
    )
    await outbox.enqueue(
        loaded, alert_id, outbox.INFORMATION, subscriber_ids=ids,
        matched_by=["address"] * 3, languages=["fr"] * 3,
    )  # fmt: skip
    return loaded, await outbox.claim(loaded, 3, 60, "d")


async def status_of(pool: asyncpg.Pool, delivery: outbox.Claimed) -> tuple[str, str | None]:
    row = await pool.fetchrow("SELECT status, error FROM deliveries WHERE id = $1", delivery.id)
    assert row is not None
    return row["status"], row["error"]


def receipt(message_id: str, *alternatives: str, status: str = "delivered") -> Receipt:
    return Receipt("smsc", message_id, ReceiptStatus(status), NOW, alternatives=alternatives)


async def test_a_receipt_in_the_other_base_matches_through_its_alternatives(
    claimed: tuple[asyncpg.Pool, list[outbox.Claimed]],
) -> None:
    pool, (a, b, _c) = claimed
    results = [SubmitResult.accepted(str(a.id), "1a2b3c00"), SubmitResult.accepted(str(b.id), "18")]
    await outbox.record(pool, a.token, "smsc", results)
    # decimal in the receipt, hex in submit_sm_resp; "12" (hex of 18) is tried after "18"
    hexed = receipt("439041024", "1a2b3c00")
    nobody = receipt("999", "3e7")
    assert await outbox.apply_receipts(pool, [hexed, nobody]) == [nobody]
    assert (await status_of(pool, a))[0] == "delivered"
    assert await outbox.apply_receipts(pool, [receipt("12", "18")]) == []
    assert (await status_of(pool, b))[0] == "delivered"


async def test_a_long_message_is_delivered_once_every_part_is(
    claimed: tuple[asyncpg.Pool, list[outbox.Claimed]],
) -> None:
    pool, (a, b, _c) = claimed
    results = [
        SubmitResult(str(a.id), Outcome.ACCEPTED, "A1", part_ids=("A1", "A2", "A3")),
        SubmitResult(str(b.id), Outcome.ACCEPTED, "B1", part_ids=("B1", "B2", "B3")),
    ]
    await outbox.record(pool, a.token, "smsc", results)
    assert await outbox.apply_receipts(pool, [receipt("A1"), receipt("A3")]) == []
    assert (await status_of(pool, a))[0] == "submitted"  # part 2 still out
    assert await outbox.apply_receipts(pool, [receipt("A2")]) == []
    assert (await status_of(pool, a))[0] == "delivered"
    # a failed part makes the message failed, and says which part
    await outbox.apply_receipts(pool, [receipt("B1"), receipt("B2", status="failed")])
    assert await status_of(pool, b) == ("failed", "part 2 of 3")


async def test_end_to_end_through_the_simulator_every_part_and_the_other_base(
    claimed: tuple[asyncpg.Pool, list[outbox.Claimed]],
) -> None:
    pool, (a, b, c) = claimed
    faults = {"receipts": True, "resp_id_base": "hex", "receipt_id_base": "dec"}
    async with running(undelivered_parts=frozenset({3}), **faults) as (smsc, port):
        async with started(port) as gateway:
            short = Message(str(a.id), a.phone, "Alerte crue", 1)
            long = Message(str(b.id), b.phone, LONG, 3)
            results = await gateway.submit([short, long])
            await outbox.record(pool, a.token, "smsc", results)
            events = [e for e in await next_events(gateway, 4) if isinstance(e, Receipt)]
        # part 3 of the long message is undeliverable at the simulator
        smsc.faults.undelivered_parts = frozenset()
        async with started(port) as gateway:
            [again] = await gateway.submit([Message(str(c.id), c.phone, LONG, 3)])
            await outbox.record(pool, c.token, "smsc", [again])
            events += [e for e in await next_events(gateway, 3) if isinstance(e, Receipt)]
    assert await outbox.apply_receipts(pool, events) == []  # all 7 matched (0 of 7 before)
    assert (await status_of(pool, a))[0] == "delivered"
    assert await status_of(pool, b) == ("failed", "part 3 of 3: 001")
    assert (await status_of(pool, c))[0] == "delivered"
