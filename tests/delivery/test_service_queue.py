"""Service SMS queued in the database (the desk's confirmation): sent once, tried again with a
growing pause when no gateway takes it, given up after the last try or when too late."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from alertd.delivery import service_queue
from gateways.fake import FakeGateway

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PHONE = "+33699887766"


async def _queue(pool: asyncpg.Pool, **kw: timedelta) -> int:
    async with pool.acquire() as conn:
        return await service_queue.queue(
            conn, PHONE, "Dunkerque : bienvenue", purpose="desk_confirmation", now=NOW, **kw
        )


async def _status(pool: asyncpg.Pool, sms_id: int) -> tuple[str, int]:
    row = await pool.fetchrow("SELECT status, attempts FROM service_sms WHERE id = $1", sms_id)
    return row["status"], row["attempts"]


async def test_a_queued_sms_is_sent_once(pool: asyncpg.Pool) -> None:
    sms_id = await _queue(pool)
    fake = FakeGateway("primary")
    assert await service_queue.send_due(pool, [fake], "w1", NOW) == 1
    assert await service_queue.send_due(pool, [fake], "w2", NOW + timedelta(hours=1)) == 0
    assert [m.to for m in fake.received] == [PHONE]
    assert await _status(pool, sms_id) == ("sent", 1)
    assert await pool.fetchval("SELECT gateway FROM service_sms") == "primary"


async def test_a_refused_sms_is_tried_again_later_then_given_up(pool: asyncpg.Pool) -> None:
    sms_id = await _queue(pool)
    refusing = FakeGateway("primary", reject_numbers=frozenset({PHONE}))
    now = NOW
    for attempt in range(1, service_queue.MAX_ATTEMPTS + 1):
        assert await service_queue.send_due(pool, [refusing], "w", now) == 0
        status, attempts = await _status(pool, sms_id)
        assert attempts == attempt
        # Not due again before its pause.
        assert await service_queue.send_due(pool, [refusing], "w", now) == 0
        assert (await _status(pool, sms_id))[1] == attempt
        now += timedelta(hours=1)
    assert status == "failed"


async def test_another_gateway_takes_what_the_first_refuses(pool: asyncpg.Pool) -> None:
    await _queue(pool)
    refusing = FakeGateway("primary", reject_numbers=frozenset({PHONE}))
    backup = FakeGateway("backup")
    assert await service_queue.send_due(pool, [refusing, backup], "w", NOW) == 1
    assert [m.to for m in backup.received] == [PHONE]


async def test_too_late_is_never_sent(pool: asyncpg.Pool) -> None:
    sms_id = await _queue(pool, valid_for=timedelta(minutes=10))
    fake = FakeGateway("primary")
    assert await service_queue.send_due(pool, [fake], "w", NOW + timedelta(minutes=11)) == 0
    assert fake.received == []
    assert await _status(pool, sms_id) == ("expired", 0)


async def test_a_lease_run_out_is_taken_over(pool: asyncpg.Pool) -> None:
    sms_id = await _queue(pool)
    # A daemon claimed it and died before sending: another takes it once the lease runs out.
    await pool.execute(
        "UPDATE service_sms SET status = 'sending', leased_by = 'dead', attempts = 1, "
        "lease_until = $1",
        NOW + timedelta(seconds=service_queue.LEASE_S),
    )
    fake = FakeGateway("primary")
    assert await service_queue.send_due(pool, [fake], "w", NOW) == 0
    later = NOW + timedelta(seconds=service_queue.LEASE_S + 1)
    assert await service_queue.send_due(pool, [fake], "w", later) == 1
    assert await _status(pool, sms_id) == ("sent", 2)


async def _queued(pool: asyncpg.Pool, count: int, now: datetime) -> None:
    async with pool.acquire() as conn:
        for i in range(count):
            await service_queue.queue(
                conn, f"+336990{i:05d}", "code 123456", purpose="signup_code", now=now
            )


async def _received(fake: FakeGateway, count: int, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while len(fake.received) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{len(fake.received)} of {count}"
        await asyncio.sleep(0.01)


async def test_a_batch_is_recorded_sent_in_one_go(pool: asyncpg.Pool) -> None:
    await _queued(pool, 7, NOW)
    fake = FakeGateway("primary")
    assert await service_queue.send_batch(pool, [fake], "w", NOW) == (7, 7)
    statuses = await pool.fetch("SELECT status, gateway, sent_at FROM service_sms")
    assert {(r["status"], r["gateway"], r["sent_at"]) for r in statuses} == {
        ("sent", "primary", NOW)
    }


async def test_the_daemon_task_sends_a_burst_and_what_is_queued_later_without_polling(
    pool: asyncpg.Pool,
) -> None:
    # More than a batch already due, then one more queued while it runs: with a poll an hour
    # long, only the full batch's "again at once" and the NOTIFY can have sent them.
    now = await pool.fetchval("SELECT now()")
    await _queued(pool, service_queue.BATCH * 2 + 10, now)
    fake, stop = FakeGateway("primary"), asyncio.Event()
    task = asyncio.create_task(service_queue.run(pool, [fake], stop, worker="w", poll_s=3600))
    try:
        await _received(fake, service_queue.BATCH * 2 + 10)
        async with pool.acquire() as conn:
            await service_queue.queue(conn, PHONE, "later", purpose="signup_code", now=now)
        await _received(fake, service_queue.BATCH * 2 + 11)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert fake.received[-1].to == PHONE
