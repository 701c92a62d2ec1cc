"""The consumer as a real provider meets it: events handed over and acknowledged only once
stored, sent again when the acknowledgement was lost, and a database that drops the connection
in the middle of a statement. On a real PostgreSQL, with the fake gateway's ``deliver_*``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from alertd.delivery import consumer, outbox
from alertd.store.lost import DATABASE_LOST
from gateways.base import Receipt, ReceiptStatus, SubmitResult
from gateways.fake import FakeGateway
from templates import Catalog
from tests.support.seed import seed_alert

WAIT = 10.0


@pytest.fixture
async def fake(loaded: asyncpg.Pool) -> AsyncIterator[tuple[FakeGateway, asyncio.Task[None]]]:
    gateway = FakeGateway("demo")
    consuming = asyncio.create_task(consumer.consume(loaded, gateway, Catalog()))
    yield gateway, consuming
    await gateway.close()
    await asyncio.wait_for(consuming, WAIT)


async def test_a_stop_the_provider_sends_again_is_stored_once_and_confirmed_once(
    loaded: asyncpg.Pool, fake: tuple[FakeGateway, asyncio.Task[None]]
) -> None:
    gateway, _ = fake
    await seed_alert(loaded, 1, enqueue=False)
    first = await gateway.deliver_inbound("+33730000001", "STOP", message_id="p-1")
    # Our acknowledgement was lost on the way: the provider sends the very same message again.
    again = await gateway.deliver_inbound("+33730000001", "STOP", message_id="p-1")
    assert (first, again) == (True, True)  # both acknowledged: the provider stops resending

    async def confirmed() -> None:
        while not gateway.received:  # noqa: ASYNC110 - a message at the gateway: no event says it
            await asyncio.sleep(0.02)

    await asyncio.wait_for(confirmed(), WAIT)
    await asyncio.sleep(0.2)  # a second confirmation would be on its way by now
    assert [m.to for m in gateway.received] == ["+33730000001"]
    assert await loaded.fetchval("SELECT count(*) FROM inbound_messages") == 1


async def test_a_connection_killed_while_a_receipt_is_stored_is_not_acknowledged(
    loaded: asyncpg.Pool, fake: tuple[FakeGateway, asyncio.Task[None]]
) -> None:
    """PostgreSQL ends the connection in the middle of the statement (AdminShutdown, as in a
    restart): the receipt is refused at once, so the provider sends it again, and the consumer
    carries on and stores it then."""
    gateway, consuming = fake
    await seed_alert(loaded, 1)
    [claimed] = await outbox.claim(loaded, 1, 60, "host:1")
    accepted = [SubmitResult.accepted(str(claimed.id), "M1")]
    await outbox.record(loaded, claimed.token, "demo", accepted)
    receipt = Receipt("demo", "M1", ReceiptStatus.DELIVERED, datetime.now(UTC))
    async with loaded.acquire() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE", claimed.id)
        storing = asyncio.create_task(gateway.deliver_receipt(receipt))
        blocked = await asyncio.wait_for(_a_backend_waiting_for_a_lock(loaded), WAIT)
        await loaded.execute("SELECT pg_terminate_backend($1)", blocked)
        # Refused well before the hand-over's own timeout (10 s): the consumer said so.
        assert await asyncio.wait_for(storing, 5.0) is False
    assert not consuming.done()
    assert await asyncio.wait_for(gateway.deliver_receipt(receipt), WAIT) is True
    status = await loaded.fetchval("SELECT status FROM deliveries WHERE id = $1", claimed.id)
    assert status == "delivered"


async def _a_backend_waiting_for_a_lock(pool: asyncpg.Pool) -> int:
    while True:
        pid = await pool.fetchval(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' LIMIT 1"
        )
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.02)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.AdminShutdownError(
            "terminating connection due to administrator command"
        ),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.InterfaceError("connection is closed"),
        ConnectionRefusedError(111, "refused"),
        TimeoutError(),
    ],
)
def test_every_kind_of_lost_database_is_waited_out_not_fatal(error: Exception) -> None:
    assert isinstance(error, DATABASE_LOST)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.UniqueViolationError("dup"),
        asyncpg.exceptions.DataError("bad"),
        KeyError(),
    ],
)
def test_a_failed_statement_on_a_live_server_is_not_a_lost_database(error: Exception) -> None:
    assert not isinstance(error, DATABASE_LOST)
