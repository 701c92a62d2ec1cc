"""The dispatch loop with fake gateways on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from alertd.delivery import outbox
from alertd.delivery.dispatch import Dispatcher, DispatchSettings, backoff, choose, claim_size
from gateways.base import Receipt
from gateways.fake import FakeGateway
from tests.support.seed import seed_alert

NOW = DispatchSettings(backoff_base_s=0.0, backoff_max_s=0.0)  # retries are due at once


@pytest.fixture
async def queued(loaded: asyncpg.Pool) -> tuple[asyncpg.Pool, int]:
    return loaded, await seed_alert(loaded, 300)


async def receipts_of(gateway: FakeGateway, count: int) -> list[Receipt]:
    found: list[Receipt] = []
    async for event in gateway.events():
        assert isinstance(event, Receipt)
        found.append(event)
        if len(found) == count:
            break
    return found


async def test_everyone_gets_it_once(queued: tuple[asyncpg.Pool, int]) -> None:
    pool, alert_id = queued
    fake = FakeGateway("primary")
    dispatcher = Dispatcher(pool, [fake], worker="w1", settings=NOW)
    assert await dispatcher.drain() == 300
    phones = [m.to for m in fake.received]
    assert len(phones) == len(set(phones)) == 300
    assert {m.text for m in fake.received} == {"ALERTE SUBMERSION"}
    assert await dispatcher.apply(await receipts_of(fake, 300)) == 300
    assert await outbox.progress(pool, alert_id) == {"delivered": 300, "in_doubt": 0, "rerouted": 0}


async def test_temporary_errors_are_retried_until_all_are_sent(
    queued: tuple[asyncpg.Pool, int],
) -> None:
    pool, alert_id = queued
    flaky = FakeGateway("flaky", error_rate=0.3, throttle_rate=0.2, seed=3, receipts=False)
    flaky.breaker.threshold = 10_000  # this test is about retries, not failover
    dispatcher = Dispatcher(pool, [flaky], worker="w1", settings=NOW)
    while await dispatcher.drain():
        # Time passes: the gateway's retry-after (1 s) is over. (The test drives the clock.)
        await pool.execute("UPDATE deliveries SET next_attempt_at = now() WHERE status = 'queued'")
    assert len({m.to for m in flaky.received}) == len(flaky.received) == 300
    assert (await outbox.progress(pool, alert_id))["submitted"] == 300
    attempts = await pool.fetchval("SELECT max(attempts) FROM deliveries")
    assert attempts > 1


async def test_an_open_circuit_fails_over_to_the_next_gateway(
    queued: tuple[asyncpg.Pool, int],
) -> None:
    pool, _ = queued
    primary, backup = FakeGateway("primary"), FakeGateway("backup")
    primary.outage = True
    # Open at the first failure: with the default threshold, a first chunk answered before the
    # other batches' failures came in saw a closed circuit and took the outage's retry-after (5 s),
    # longer than drain() waits, under a loaded machine.
    primary.breaker.threshold = 1
    dispatcher = Dispatcher(pool, [primary, backup], worker="w1", settings=NOW)
    await dispatcher.drain()
    assert primary.received == []
    assert len({m.to for m in backup.received}) == len(backup.received) == 300
    gateways = {r["gateway"] for r in await pool.fetch("SELECT DISTINCT gateway FROM deliveries")}
    assert gateways == {"backup"}


async def test_permanent_rejections_fail_at_once(queued: tuple[asyncpg.Pool, int]) -> None:
    pool, alert_id = queued
    picky = FakeGateway("picky", reject_numbers=frozenset({"+33730000001", "+33730000002"}))
    await Dispatcher(pool, [picky], worker="w1", settings=NOW).drain()
    counts = await outbox.progress(pool, alert_id)
    assert (counts["failed"], counts["submitted"]) == (2, 298)
    assert await pool.fetchval("SELECT max(attempts) FROM deliveries WHERE status = 'failed'") == 1


async def test_expired_alerts_are_not_sent_late(queued: tuple[asyncpg.Pool, int]) -> None:
    pool, alert_id = queued
    await pool.execute("UPDATE alerts SET expires_at = now() - interval '1 minute'")
    fake = FakeGateway()
    await Dispatcher(pool, [fake], worker="w1", settings=NOW).drain()
    assert fake.received == []
    assert await outbox.progress(pool, alert_id) == {"expired": 300, "in_doubt": 0, "rerouted": 0}


def test_backoff_grows_is_capped_and_jittered() -> None:
    settings = DispatchSettings(backoff_base_s=2, backoff_max_s=60)
    rng = random.Random(1)  # noqa: S311 - jitter
    waits = [backoff(n, settings, rng) for n in range(1, 10)]
    assert 1 <= waits[0] <= 2 and 2 <= waits[1] <= 4
    assert all(30 <= w <= 60 for w in waits[6:])


def test_choose_moves_on_every_n_attempts_and_skips_open_circuits() -> None:
    a, b = FakeGateway("a"), FakeGateway("b")
    assert [choose([a, b], n, 3).name for n in range(1, 8)] == ["a"] * 3 + ["b"] * 3 + ["a"]
    for _ in range(5):
        a.breaker.failure()
    assert choose([a, b], 1, 3) is b
    b.outage = True
    for _ in range(5):
        b.breaker.failure()
    assert choose([a, b], 1, 3) is None


def test_claims_are_small_enough_for_the_slowest_gateway_to_send_within_the_lease() -> None:
    settings = DispatchSettings(batch=1000, lease_s=60, concurrency=3)
    assert claim_size(settings, [FakeGateway("unlimited")]) == 1000
    # OVH at 50 segments/s: 25 two-segment messages/s, half of 60 s, shared by 3 batches.
    assert (
        claim_size(settings, [FakeGateway("fast", rate=1000), FakeGateway("ovh", rate=50)]) == 250
    )
    assert claim_size(settings, [FakeGateway("crawl", rate=0.01)]) == 1
    # Without a rate: its window per assumed round trip (16 / 0.25 s), half a 1 s lease, 3 batches.
    short = DispatchSettings(batch=1000, lease_s=1, concurrency=3)
    assert claim_size(short, [FakeGateway("twilio-like", window=16)]) == 10


def test_choose_avoids_the_gateway_that_lost_it_unless_it_is_the_only_one() -> None:
    a, b = FakeGateway("a"), FakeGateway("b")
    assert [choose([a, b], n, 3, avoid="a").name for n in range(1, 5)] == ["b"] * 4
    assert choose([a], 1, 3, avoid="a") is a  # better the same operator again than nobody


async def test_life_safety_failed_receipts_are_sent_once_more_through_another_gateway(
    queued: tuple[asyncpg.Pool, int],
) -> None:
    pool, alert_id = queued
    lost = frozenset({"+33730000007", "+33730000042"})
    primary, backup = FakeGateway("primary", fail_numbers=lost), FakeGateway("backup")
    dispatcher = Dispatcher(pool, [primary, backup], worker="w1", settings=NOW)
    await dispatcher.drain()
    assert await dispatcher.apply(await receipts_of(primary, 300)) == 300
    assert await dispatcher.drain() == 2  # the two lost ones, again
    assert {m.to for m in backup.received} == lost
    assert await dispatcher.apply(await receipts_of(backup, 2)) == 2
    counts = await outbox.progress(pool, alert_id)
    assert (counts["delivered"], counts["rerouted"]) == (300, 2)


async def test_a_second_failure_is_final_and_information_is_not_rerouted(
    loaded: asyncpg.Pool,
) -> None:
    lost = frozenset({"+33730000001"})
    life = await seed_alert(loaded, 3)
    info = await seed_alert(loaded, 0, hazard="waste", priority=outbox.INFORMATION, enqueue=False)
    ids = [r["id"] for r in await loaded.fetch("SELECT id FROM subscribers ORDER BY id")]
    await outbox.enqueue(
        loaded,
        info,
        outbox.INFORMATION,
        subscriber_ids=ids,
        matched_by=["postcode"] * 3,
        languages=["fr"] * 3,
    )
    only = FakeGateway("only", fail_numbers=lost)
    dispatcher = Dispatcher(loaded, [only], worker="w1", settings=NOW)
    await dispatcher.drain()
    await dispatcher.apply(await receipts_of(only, 6))
    assert await dispatcher.drain() == 1  # the one retry of the life-safety delivery
    await dispatcher.apply(await receipts_of(only, 1))
    assert [m.to for m in only.received].count("+33730000001") == 3  # 2 life-safety + 1 info
    assert (await outbox.progress(loaded, life))["failed"] == 1
    assert (await outbox.progress(loaded, info))["failed"] == 1
    assert await dispatcher.drain() == 0


async def test_life_safety_without_a_receipt_in_time_is_rerouted_once(
    queued: tuple[asyncpg.Pool, int],
) -> None:
    pool, alert_id = queued
    mute, backup = FakeGateway("mute", receipts=False), FakeGateway("backup", receipts=False)
    dispatcher = Dispatcher(pool, [mute, backup], worker="w1", settings=NOW)
    await dispatcher.drain()
    await pool.execute(
        "UPDATE deliveries SET submitted_at = now() - interval '11 minutes' WHERE id % 3 = 0"
    )
    assert await outbox.reroute_silent(pool, 600) == 100
    assert await outbox.reroute_silent(pool, 600) == 0
    await dispatcher.drain()
    assert len(backup.received) == 100
    await pool.execute("UPDATE deliveries SET submitted_at = now() - interval '1 hour'")
    assert await outbox.reroute_silent(pool, 600) == 200  # once each, never twice
    counts = await outbox.progress(pool, alert_id)
    assert (counts["queued"], counts["submitted"], counts["rerouted"]) == (200, 100, 300)


async def test_two_daemons_share_the_work_without_doubling(
    queued: tuple[asyncpg.Pool, int],
) -> None:
    pool, alert_id = queued
    one, two = FakeGateway("gw", receipts=False), FakeGateway("gw", receipts=False)
    small = DispatchSettings(batch=20, backoff_base_s=0, backoff_max_s=0)
    first = Dispatcher(pool, [one], worker="d1", settings=small)
    second = Dispatcher(pool, [two], worker="d2", settings=small)
    counts = await asyncio.gather(first.drain(), second.drain())
    assert sum(counts) == 300 and all(counts)  # both worked
    phones = [m.to for m in one.received + two.received]
    assert len(phones) == len(set(phones)) == 300
    assert (await outbox.progress(pool, alert_id))["submitted"] == 300
