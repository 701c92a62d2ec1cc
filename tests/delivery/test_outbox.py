"""The outbox on a real PostgreSQL: idempotent enqueue, disjoint claims, fenced recording."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from alertd.delivery import outbox
from gateways.base import Receipt, ReceiptStatus, SubmitResult


@pytest.fixture
async def alert(loaded: asyncpg.Pool) -> tuple[asyncpg.Pool, int, list[int]]:
    tenant = await loaded.fetchval("SELECT id FROM tenants WHERE code = '59183'")
    ids = [
        await loaded.fetchval(
            "INSERT INTO subscribers (tenant_id, phone, postcode, status, consent_at) "
            "VALUES ($1, $2, '59140', 'active', now()) RETURNING id",
            tenant,
            f"+3373{i:07d}",
        )
        for i in range(50)
    ]
    alert_id = await loaded.fetchval(
        "INSERT INTO alerts (tenant_id, hazard, severity, texts) VALUES ($1, 'submersion', "
        '\'life_safety\', \'{"fr": "ALERTE", "en": "WARNING"}\') RETURNING id',
        tenant,
    )
    return loaded, alert_id, ids


async def test_enqueue_twice_never_doubles(alert: tuple[asyncpg.Pool, int, list[int]]) -> None:
    pool, alert_id, ids = alert
    n = len(ids)
    assert (
        await outbox.enqueue(
            pool, alert_id, 0, subscriber_ids=ids, matched_by=["address"] * n, languages=["fr"] * n
        )
        == n
    )
    assert (
        await outbox.enqueue(
            pool, alert_id, 0, subscriber_ids=ids, matched_by=["address"] * n, languages=["fr"] * n
        )
        == 0
    )
    assert await pool.fetchval("SELECT count(*) FROM deliveries") == n


async def test_two_daemons_claim_disjoint_batches(
    alert: tuple[asyncpg.Pool, int, list[int]],
) -> None:
    pool, alert_id, ids = alert
    await outbox.enqueue(
        pool,
        alert_id,
        0,
        subscriber_ids=ids,
        matched_by=["address"] * 50,
        languages=["en"] * 25 + ["fr"] * 25,
    )

    async def daemon(name: str) -> list[outbox.Claimed]:
        async with pool.acquire() as conn, conn.transaction():
            return await outbox.claim(conn, 30, 60, name)

    a, b = await asyncio.gather(daemon("a"), daemon("b"))
    assert len(a) + len(b) == 50
    assert not {c.id for c in a} & {c.id for c in b}
    texts = {c.text for c in a + b}
    assert texts == {"ALERTE", "WARNING"}
    assert all(c.attempts == 1 and c.phone.startswith("+3373") for c in a + b)


async def test_life_safety_is_claimed_first(alert: tuple[asyncpg.Pool, int, list[int]]) -> None:
    pool, alert_id, ids = alert
    await outbox.enqueue(
        pool,
        alert_id,
        outbox.INFORMATION,
        subscriber_ids=ids[:25],
        matched_by=["address"] * 25,
        languages=["fr"] * 25,
    )
    other = await pool.fetchval(
        "INSERT INTO alerts (tenant_id, hazard, severity) SELECT tenant_id, 'flood', "
        "'life_safety' FROM alerts WHERE id = $1 RETURNING id",
        alert_id,
    )
    await outbox.enqueue(
        pool,
        other,
        outbox.LIFE_SAFETY,
        subscriber_ids=ids[25:],
        matched_by=["address"] * 25,
        languages=["fr"] * 25,
    )
    claimed = await outbox.claim(pool, 25, 60, "d")
    assert {c.alert_id for c in claimed} == {other}


async def test_results_are_recorded_and_fenced_by_the_lease(
    alert: tuple[asyncpg.Pool, int, list[int]],
) -> None:
    pool, alert_id, ids = alert
    await outbox.enqueue(
        pool, alert_id, 0, subscriber_ids=ids[:3], matched_by=["address"] * 3, languages=["fr"] * 3
    )
    a, b, c = await outbox.claim(pool, 3, 60, "d1")
    results = [
        SubmitResult.accepted(str(a.id), "M1"),
        SubmitResult.rejected(str(b.id), "unknown subscriber"),
        SubmitResult.retry(str(c.id), "throttled", 30),
    ]
    # A claim that does not hold the rows records nothing.
    assert await outbox.record(pool, a.token + 1, "gw", results) == outbox.Recorded(0, 0, 0)
    assert await outbox.record(pool, a.token, "gw", results) == outbox.Recorded(1, 1, 1)
    rows = {r["id"]: r for r in await pool.fetch("SELECT * FROM deliveries")}
    assert (rows[a.id]["status"], rows[a.id]["gateway_message_id"]) == ("submitted", "M1")
    assert (rows[b.id]["status"], rows[b.id]["error"]) == ("failed", "unknown subscriber")
    assert rows[c.id]["status"] == "queued"
    assert rows[c.id]["next_attempt_at"] > datetime.now(UTC)
    assert await outbox.claim(pool, 10, 60, "d1") == []  # the retry waits its turn
    receipt = Receipt("gw", "M1", ReceiptStatus.DELIVERED, datetime.now(UTC))
    early = Receipt("gw", "NOT-YET-RECORDED", ReceiptStatus.DELIVERED, datetime.now(UTC))
    assert await outbox.apply_receipts(pool, [receipt, early]) == [early]
    assert await outbox.progress(pool, alert_id) == {
        "delivered": 1,
        "failed": 1,
        "queued": 1,
        "in_doubt": 0,
        "rerouted": 0,
    }


async def test_expired_leases_come_back_in_doubt(
    alert: tuple[asyncpg.Pool, int, list[int]],
) -> None:
    pool, alert_id, ids = alert
    await outbox.enqueue(
        pool, alert_id, 0, subscriber_ids=ids[:5], matched_by=["address"] * 5, languages=["fr"] * 5
    )
    claimed = await outbox.claim(pool, 5, 0, "died")  # a lease that has already run out
    # It handed three to a gateway (renewing their lease for 0 s), then died before recording.
    handed = [c.id for c in claimed[:3]]
    await outbox.handover(pool, "died", claimed[0].token, handed, lease_s=0, renew=handed)
    assert await outbox.reclaim_expired(pool) == 5
    again = await outbox.claim(pool, 5, 60, "alive")  # life-safety: all go again
    assert {c.id for c in again} == {c.id for c in claimed}
    assert all(c.attempts == 2 for c in again)
    results = [SubmitResult.accepted(str(c.id), f"X{c.id}") for c in claimed]
    assert await outbox.record(pool, claimed[0].token, "gw", results) == outbox.Recorded(0, 0, 0)
    # Only those that may have reached the gateway are in doubt.
    assert (await outbox.progress(pool, alert_id))["in_doubt"] == 3


async def test_in_doubt_information_is_not_sent_again(
    alert: tuple[asyncpg.Pool, int, list[int]],
) -> None:
    pool, alert_id, ids = alert
    await outbox.enqueue(
        pool,
        alert_id,
        outbox.INFORMATION,
        subscriber_ids=ids[:4],
        matched_by=["postcode"] * 4,
        languages=["fr"] * 4,
    )
    claimed = await outbox.claim(pool, 4, 0, "died")
    handed = [c.id for c in claimed[:3]]
    await outbox.handover(pool, "died", claimed[0].token, handed, lease_s=0, renew=handed)
    assert await outbox.reclaim_expired(pool) == 4
    [not_handed] = await outbox.claim(pool, 10, 60, "alive")  # never reached a gateway: sent
    assert not_handed.id == claimed[3].id
    assert await outbox.progress(pool, alert_id) == {
        "submitted": 3,
        "sending": 1,
        "in_doubt": 3,
        "rerouted": 0,
    }
