"""The pages' SMS from a page process: queued for the daemon, a code's SMS never sent once its
code is dead."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
from structlog.testing import capture_logs

from alertd.config import Config
from alertd.delivery import service_queue
from alertd.web.sender import QueuedSender
from gateways.fake import FakeGateway
from templates import Catalog

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PHONE = "+33612345678"
TTL = timedelta(minutes=10)


def _sender(config: Config, pool: asyncpg.Pool) -> QueuedSender:
    return QueuedSender(pool, Catalog(config.templates.directory), code_ttl=TTL, clock=lambda: T0)


async def test_a_code_queued_is_sent_while_the_code_lives(
    config: Config, pool: asyncpg.Pool
) -> None:
    sender = _sender(config, pool)
    assert await sender.send(PHONE, "123456", "fr", "Dunkerque")
    fake = FakeGateway("primary")
    just_in_time = T0 + TTL - timedelta(seconds=1)
    assert await service_queue.send_due(pool, [fake], "w", just_in_time) == 1
    [message] = fake.received
    assert message.to == PHONE and "123456" in message.text
    row = await pool.fetchrow("SELECT purpose, status FROM service_sms")
    assert (row["purpose"], row["status"]) == ("signup_code", "sent")


async def test_a_code_queued_expires_with_the_code(config: Config, pool: asyncpg.Pool) -> None:
    sender = _sender(config, pool)
    assert await sender.send(PHONE, "123456", "fr", "Dunkerque")
    assert await sender.confirm(PHONE, "fr", "Dunkerque")
    fake = FakeGateway("primary")
    dead = T0 + TTL + timedelta(seconds=1)
    # The code's SMS is dead with its code; the confirmation lives the queue's day.
    assert await service_queue.send_due(pool, [fake], "w", dead) == 1
    assert [m.text for m in fake.received if "123456" in m.text] == []
    rows = await pool.fetch("SELECT purpose, status FROM service_sms ORDER BY id")
    assert [(r["purpose"], r["status"]) for r in rows] == [
        ("signup_code", "expired"),
        ("signup_confirmed", "sent"),
    ]
    await sender.aclose()


async def test_a_queue_out_of_reach_is_logged_with_the_number_masked(
    config: Config, pool: asyncpg.Pool
) -> None:
    sender = _sender(config, pool)
    await pool.close()
    with capture_logs() as logs:
        assert not await sender.send(PHONE, "123456", "fr", "Dunkerque")
    [failed] = [e for e in logs if e["event"] == "signup.code_not_sent"]
    assert failed["log_level"] == "error" and "612345678" not in repr(logs)


async def test_a_rush_is_queued_in_few_statements_and_every_sms_lands(
    config: Config, pool: asyncpg.Pool
) -> None:
    sender = _sender(config, pool)
    phones = [f"+336123450{i:02d}" for i in range(40)]
    # Asked in one go (one turn of the loop): one statement, or two should the writer start
    # between them.
    tasks = [sender.send(phone, "123456", "fr", "Dunkerque") for phone in phones]
    assert all(await asyncio.gather(*tasks))
    rows = await pool.fetch("SELECT phone, xmin::text AS tx FROM service_sms")
    assert sorted(r["phone"] for r in rows) == phones
    assert len({r["tx"] for r in rows}) <= 2
    await sender.aclose()
