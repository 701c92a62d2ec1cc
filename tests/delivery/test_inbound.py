"""What residents send back: STOP (as they write it, from whatever form of their number the
gateway gives) cancels what is queued for them at once; input PostgreSQL refuses never kills
the consumer."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import asyncpg
import pytest

from alertd.delivery import consumer, inbound
from alertd.delivery.dispatch import Dispatcher
from gateways.base import Inbound
from gateways.fake import FakeGateway
from templates import Catalog
from tests.support.seed import seed_alert


@pytest.mark.parametrize(
    "text", ["STOP ALERTE", "stop svp", "Stop merci", "STOP!", "arrêt", "ARRET", "Arrêt merci"]
)
def test_stop_followed_by_anything_is_stop(text: str) -> None:
    assert inbound.is_stop(text)


def test_a_tenant_list_of_words_is_used_when_given() -> None:
    assert inbound.is_stop("Halt bitte", {"STOP", "HALT"})
    assert not inbound.is_stop("Halt bitte")


# The senders as gateways deliver them: national, international without its plus, spaced.
STOPS = [
    ("0730000001", "STOP ALERTE"),
    ("33730000002", "stop svp"),
    ("+33 7 30 00 00 03", "Stop merci"),
    ("0033730000004", "arrêt"),
    ("+33730000005", "ARRET."),
]


async def test_stop_in_any_form_cancels_what_is_queued_and_nothing_more_is_sent(
    loaded: asyncpg.Pool,
) -> None:
    alert_id = await seed_alert(loaded, 6)
    for sender, text in STOPS:
        message = Inbound("demo", sender, None, text, datetime.now(UTC), f"in-{sender}")
        async with loaded.acquire() as conn, conn.transaction():
            assert (await inbound.handle(conn, message, Catalog())).kind == "stop"
    stopped = await loaded.fetch("SELECT phone FROM subscribers WHERE status = 'stopped'")
    assert sorted(r["phone"] for r in stopped) == [f"+3373000000{i}" for i in range(1, 6)]
    senders = await loaded.fetch("SELECT DISTINCT sender FROM inbound_messages")
    assert {r["sender"] for r in senders} == {f"+3373000000{i}" for i in range(1, 6)}
    fake = FakeGateway("demo")
    await Dispatcher(loaded, [fake], worker="w1").drain()
    assert [m.to for m in fake.received] == ["+33730000006"]
    statuses = await loaded.fetch(
        "SELECT status, count(*) AS n FROM deliveries WHERE alert_id = $1 GROUP BY 1", alert_id
    )
    assert {r["status"]: r["n"] for r in statuses} == {"cancelled": 5, "submitted": 1}
    counted = await loaded.fetchval(
        "SELECT sum(n) FROM delivery_counts WHERE alert_id = $1 AND status = 'cancelled'",
        alert_id,
    )
    assert counted == 5


async def test_an_inbound_with_a_nul_is_stored_cleaned_and_the_consumer_carries_on(
    loaded: asyncpg.Pool,
) -> None:
    await seed_alert(loaded, 2, enqueue=False)
    fake = FakeGateway("demo")
    consuming = asyncio.create_task(consumer.consume(loaded, fake, Catalog()))
    fake.inject_inbound("+33730000001", "hello\x00")
    fake.inject_inbound("+33730000002\x00", "STOP\x00 \ud800")

    async def stored() -> None:
        while await loaded.fetchval("SELECT count(*) FROM inbound_messages") < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    await asyncio.wait_for(stored(), 10)
    assert not consuming.done()
    rows = await loaded.fetch("SELECT sender, body, kind FROM inbound_messages ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("+33730000001", "hello", "reply"),
        ("+33730000002", "STOP ?", "stop"),
    ]
    await fake.close()
    await asyncio.wait_for(consuming, 10)


async def test_a_stop_from_a_national_number_is_confirmed_to_its_e164_form(
    loaded: asyncpg.Pool,
) -> None:
    await seed_alert(loaded, 1, enqueue=False)
    fake = FakeGateway("demo")
    consuming = asyncio.create_task(consumer.consume(loaded, fake, Catalog()))
    fake.inject_inbound("0730000001", "Stop merci")

    async def confirmed() -> None:
        while not fake.received:  # noqa: ASYNC110 - a message at the gateway: no event says it
            await asyncio.sleep(0.02)

    await asyncio.wait_for(confirmed(), 10)
    await fake.close()
    await asyncio.wait_for(consuming, 10)
    assert [m.to for m in fake.received] == ["+33730000001"]


async def test_a_national_sender_is_read_in_the_configured_region(loaded: asyncpg.Pool) -> None:
    # A deployment whose residents are Belgian (subscribers.default_region = "BE"): a STOP from
    # 0470 12 34 56 is +32 470 12 34 56, not a French number.
    tenant = await loaded.fetchval("SELECT id FROM tenants WHERE code = '59183'")
    await loaded.execute(
        "INSERT INTO subscribers (tenant_id, phone, postcode, status, consent_at) "
        "VALUES ($1, '+32470123456', '59140', 'active', now())",
        tenant,
    )
    fake = FakeGateway("demo")
    consuming = asyncio.create_task(consumer.consume(loaded, fake, Catalog(), region="BE"))
    fake.inject_inbound("0470 12 34 56", "STOP")

    async def confirmed() -> None:
        while not fake.received:  # noqa: ASYNC110 - a message at the gateway: no event says it
            await asyncio.sleep(0.02)

    await asyncio.wait_for(confirmed(), 10)
    await fake.close()
    await asyncio.wait_for(consuming, 10)
    assert [m.to for m in fake.received] == ["+32470123456"]
    status = await loaded.fetchval("SELECT status FROM subscribers WHERE phone = '+32470123456'")
    assert status == "stopped"


async def test_a_consumer_stopped_at_shutdown_stores_what_it_received_first(
    loaded: asyncpg.Pool,
) -> None:
    """The daemon stops its consumers before it closes the gateways: what they had received is
    stored, not dropped."""
    fake = FakeGateway("demo")
    consuming = asyncio.create_task(consumer.consume(loaded, fake, Catalog()))
    for i in range(50):
        fake.inject_inbound(f"+3361{i:07d}", f"reply {i}")

    async def started() -> None:
        while not await loaded.fetchval("SELECT count(*) FROM inbound_messages"):  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(started(), 10)
    consuming.cancel()  # what the daemon's shutdown does
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(consuming, 10)
    assert await loaded.fetchval("SELECT count(*) FROM inbound_messages") == 50


async def test_a_tenant_stop_word_stops_its_residents_and_no_one_else(
    loaded: asyncpg.Pool,
) -> None:
    """'Fin' is a STOP word of Dunkerque only: it stops a resident of Dunkerque, and is a reply
    from a number that is not subscribed there."""
    await seed_alert(loaded, 1, enqueue=False)
    await loaded.execute("UPDATE tenants SET stop_words = '{STOP,FIN}' WHERE code = '59183'")
    now = datetime.now(UTC)
    async with loaded.acquire() as conn, conn.transaction():
        resident = await inbound.handle(
            conn, Inbound("demo", "+33730000001", None, "Fin merci", now, "in-1"), Catalog()
        )
        stranger = await inbound.handle(
            conn, Inbound("demo", "+33612345678", None, "fin", now, "in-2"), Catalog()
        )
        arret = await inbound.handle(
            conn, Inbound("demo", "+33612345679", None, "Arrêt", now, "in-3"), Catalog()
        )
    assert (resident.kind, stranger.kind, arret.kind) == ("stop", "reply", "stop")
    assert resident.confirmation is not None
    status = await loaded.fetchval("SELECT status FROM subscribers WHERE phone = '+33730000001'")
    assert status == "stopped"
    kinds = await loaded.fetch("SELECT kind FROM inbound_messages ORDER BY id")
    assert [r["kind"] for r in kinds] == ["stop", "reply", "stop"]


async def test_the_same_inbound_sent_twice_is_stored_once_and_confirmed_once(
    loaded: asyncpg.Pool,
) -> None:
    """The provider sends again what it thinks was not received (our 2xx got lost after the
    commit): one row, one confirmation, one audit entry; a reply is stored once too."""
    await seed_alert(loaded, 1, enqueue=False)
    stop = Inbound("demo", "+33730000001", None, "STOP", datetime.now(UTC), "in-1")
    reply = Inbound("demo", "+33612345678", None, "merci", datetime.now(UTC), "in-2")
    other_gateway = Inbound("ovh", "+33612345678", None, "merci", datetime.now(UTC), "in-2")
    handled = []
    for message in (stop, stop, reply, reply, other_gateway):
        async with loaded.acquire() as conn, conn.transaction():
            handled.append(await inbound.handle(conn, message, Catalog()))
    assert [h.kind for h in handled] == ["stop", "duplicate", "reply", "duplicate", "reply"]
    assert [h.confirmation is not None for h in handled] == [True, False, False, False, False]
    rows = await loaded.fetch("SELECT gateway, gateway_message_id FROM inbound_messages")
    assert sorted((r["gateway"], r["gateway_message_id"]) for r in rows) == [
        ("demo", "in-1"),
        ("demo", "in-2"),
        ("ovh", "in-2"),
    ]
    audited = await loaded.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'subscriber.stop'"
    )
    assert audited == 1
