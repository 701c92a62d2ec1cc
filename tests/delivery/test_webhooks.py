"""What comes back through the webhooks is stored before the provider is told it was received:
the answer comes once the row is in the database, and a 5xx when it cannot be stored, so that
the provider sends it again; a daemon that died in between loses nothing that is not resent."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import asyncpg
import pytest

from alertd.delivery import consumer
from gateways import events
from templates import Catalog
from tests.gateways.test_http import SENDER, post_signed, twilio_world
from tests.support.seed import seed_alert

SUBMITTED = (
    "UPDATE deliveries SET status = 'submitted', gateway = 'twilio', gateway_message_id = $2, "
    "submitted_at = now() WHERE subscriber_id = (SELECT id FROM subscribers WHERE phone = $1)"
)
STATUS_OF = (
    "SELECT d.status FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
    "WHERE s.phone = $1"
)


def stop_from(sender: str, sid: str) -> dict[str, str]:
    return {"MessageSid": sid, "From": sender, "To": SENDER, "Body": "Stop merci"}


async def test_webhooks_answer_once_the_row_is_in_the_database(
    loaded: asyncpg.Pool, tmp_path: Path
) -> None:
    await seed_alert(loaded, 2)
    await loaded.execute(SUBMITTED, "+33730000002", "SMout2")
    async with twilio_world(tmp_path) as world:
        consuming = asyncio.create_task(consumer.consume(loaded, world.gateway, Catalog()))
        inbound = f"{world.hooks}/inbound"
        assert await post_signed(inbound, stop_from("0730000001", "SMin1")) == 200
        # Answered, so stored: nothing to wait for.
        row = await loaded.fetchrow("SELECT sender, kind FROM inbound_messages")
        assert row is not None and tuple(row) == ("+33730000001", "stop")
        assert await loaded.fetchval(STATUS_OF, "+33730000001") == "cancelled"
        receipt = {"MessageSid": "SMout2", "MessageStatus": "delivered"}
        assert await post_signed(f"{world.hooks}/status", receipt) == 204
        assert await loaded.fetchval(STATUS_OF, "+33730000002") == "delivered"
        await world.gateway.close()
        await asyncio.wait_for(consuming, 10)


async def test_a_webhook_gets_a_5xx_when_the_daemon_cannot_store_and_the_retry_is_kept(
    loaded: asyncpg.Pool, db_dsn: str, tmp_path: Path
) -> None:
    await seed_alert(loaded, 1, enqueue=False)
    broken = await asyncpg.create_pool(db_dsn, min_size=0, max_size=1)
    await broken.close()  # PostgreSQL out of reach, as the daemon sees it
    async with twilio_world(tmp_path) as world:
        inbound = f"{world.hooks}/inbound"
        failing = asyncio.create_task(consumer.consume(broken, world.gateway, Catalog()))
        assert await post_signed(inbound, stop_from("+33730000001", "SMin1")) == 503
        assert not failing.done()  # the consumer carries on
        failing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await failing
        assert await loaded.fetchval("SELECT count(*) FROM inbound_messages") == 0
        # The provider sends it again, to a daemon that can store it.
        consuming = asyncio.create_task(consumer.consume(loaded, world.gateway, Catalog()))
        assert await post_signed(inbound, stop_from("+33730000001", "SMin1")) == 200
        assert await loaded.fetchval("SELECT count(*) FROM inbound_messages") == 1
        status = await loaded.fetchval("SELECT status FROM subscribers")
        assert status == "stopped"
        await world.gateway.close()
        await asyncio.wait_for(consuming, 10)


async def test_nothing_is_acknowledged_while_no_daemon_stores_it(
    loaded: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon died between receiving a receipt and storing it: the provider was not told
    it was received, so it sends it again, and the restarted daemon stores it."""
    monkeypatch.setattr(events, "ACK_TIMEOUT_S", 0.3)
    await seed_alert(loaded, 1)
    await loaded.execute(SUBMITTED, "+33730000001", "SMout1")
    receipt = {"MessageSid": "SMout1", "MessageStatus": "delivered"}
    async with twilio_world(tmp_path) as world:
        assert await post_signed(f"{world.hooks}/status", receipt) == 503
        assert await loaded.fetchval(STATUS_OF, "+33730000001") == "submitted"
        monkeypatch.setattr(events, "ACK_TIMEOUT_S", 10.0)
        consuming = asyncio.create_task(consumer.consume(loaded, world.gateway, Catalog()))
        assert await post_signed(f"{world.hooks}/status", receipt) == 204
        assert await loaded.fetchval(STATUS_OF, "+33730000001") == "delivered"
        await world.gateway.close()
        await asyncio.wait_for(consuming, 10)
