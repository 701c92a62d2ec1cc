"""Residents' SMS keywords, as they write them, through the in-process fake gateway and the
inbound consumer: subscribe by postcode, come back after STOP, help, language, unserved
postcodes, per-tenant words, and no reply storm."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import asyncpg
import pytest

from alertd.delivery import consumer, inbound
from alertd.subscribers.keywords import read
from alertd.subscribers.sms_keywords import ReplyLimits, SmsKeywords
from gateways.base import Inbound, Message, SubmitResult
from gateways.fake import FakeGateway
from templates import Catalog

PHONE = "+33611223344"


class Listening(FakeGateway):
    """The fake gateway, telling the test each message it accepted."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.arrived: asyncio.Queue[Message] = asyncio.Queue()

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        results = await super().submit(messages)
        for message in messages:
            self.arrived.put_nowait(message)
        return results


@pytest.fixture
async def gateway(loaded: asyncpg.Pool) -> AsyncIterator[Listening]:
    fake = Listening("demo")
    consuming = asyncio.create_task(
        consumer.consume(loaded, fake, Catalog(), keywords=SmsKeywords(ReplyLimits(3, 1000)))
    )
    yield fake
    await fake.close()
    await asyncio.wait_for(consuming, 10)


async def _say(fake: Listening, text: str, sender: str = PHONE) -> Message:
    """The resident sends ``text``; the answer they get."""
    assert await fake.deliver_inbound(sender, text)
    return await asyncio.wait_for(fake.arrived.get(), 10)


async def _row(pool: asyncpg.Pool, phone: str = PHONE) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT s.*, t.name AS tenant FROM subscribers s JOIN tenants t ON t.id = s.tenant_id "
        "WHERE phone = $1",
        phone,
    )
    assert row is not None
    return row


@pytest.mark.parametrize(
    "text",
    [
        "ALERTE 59140",
        "alerte 59 140",
        "Inscription:59140",
        "inscription 59140.",
        "Alerte59140",
        "ALERTÉ 59140",
        "  start 59140 ",
    ],
)
async def test_a_keyword_and_a_postcode_subscribe_the_sender_and_the_answer_says_so(
    loaded: asyncpg.Pool, gateway: Listening, text: str
) -> None:
    answer = await _say(gateway, text)
    assert answer.to == PHONE
    assert "Dunkerque" in answer.text
    assert "59140" in answer.text
    assert "STOP" in answer.text
    row = await _row(loaded)
    assert (row["status"], row["postcode"], row["tenant"], row["language"]) == (
        "active",
        "59140",
        "Dunkerque",
        "fr",
    )
    assert row["consent_channel"] == "sms"
    stored = await loaded.fetchrow("SELECT kind, replied_at FROM inbound_messages")
    assert stored["kind"] == "subscribe"
    assert stored["replied_at"] is not None


async def test_english_and_a_commune_after_a_shared_postcode(
    loaded: asyncpg.Pool, gateway: Listening
) -> None:
    answer = await _say(gateway, "alerte 59279 Loon-Plage en")
    assert answer.text.startswith("Loon-Plage: you are subscribed")
    row = await _row(loaded)
    assert (row["tenant"], row["language"]) == ("Loon-Plage", "en")
    shared = await _say(gateway, "ALERTE 59279", "+33611223355")
    assert "urbaine de Dunkerque (59279)" in shared.text
    assert (await _row(loaded, "+33611223355"))["tenant"] == "Communauté urbaine de Dunkerque"
    # The reply says how to be placed with one's own commune, with one sharing the postcode.
    suggested = shared.text.split("ex. ", 1)[1].split(".")[0]
    assert suggested.startswith("ALERTE 59279 ")
    assert suggested.removeprefix("ALERTE 59279 ") in {"CRAYWICK", "DUNKERQUE", "LOON-PLAGE"}
    again = await _say(gateway, suggested, "+33611223355")
    assert (await _row(loaded, "+33611223355"))["tenant"] != "Communauté urbaine de Dunkerque"
    assert "ex. " not in again.text


@pytest.mark.parametrize("text", ["ALERTE 75001", "inscription 5914", "ALERTE 59 14"])
async def test_an_unserved_postcode_gets_the_list_of_those_served(
    loaded: asyncpg.Pool, gateway: Listening, text: str
) -> None:
    answer = await _say(gateway, text)
    assert "n'est pas desservi" in answer.text
    assert "59140" in answer.text
    assert "59760" not in answer.text or "…" not in answer.text
    assert await loaded.fetchval("SELECT count(*) FROM subscribers") == 0


async def test_start_or_alerte_alone_after_a_stop_comes_back_as_before(
    loaded: asyncpg.Pool, gateway: Listening
) -> None:
    await _say(gateway, "ALERTE 59760 EN")
    await loaded.execute("UPDATE subscribers SET topics = '{dechets}'")
    assert "no longer" in (await _say(gateway, "STOP")).text
    assert (await _row(loaded))["status"] == "stopped"
    back = await _say(gateway, "Start")
    assert back.text.startswith("Grande-Synthe: your subscription to SMS alerts is active")
    row = await _row(loaded)
    assert (row["status"], row["tenant"], row["topics"], row["language"]) == (
        "active",
        "Grande-Synthe",
        ["dechets"],
        "en",
    )
    scopes = await loaded.fetch("SELECT scope, given, channel FROM subscriber_consents ORDER BY id")
    assert [tuple(r) for r in scopes][-4:] == [
        ("alerts", False, "sms"),
        ("dechets", False, "sms"),
        ("alerts", True, "sms"),
        ("dechets", True, "sms"),
    ]
    await _say(gateway, "stop")
    assert "active" in (await _say(gateway, "ALERTE")).text
    assert (await _row(loaded))["status"] == "active"


async def test_start_from_a_number_known_nowhere_explains_how(
    loaded: asyncpg.Pool, gateway: Listening
) -> None:
    answer = await _say(gateway, "START")
    assert "ALERTE 59" in answer.text
    assert await loaded.fetchval("SELECT count(*) FROM subscribers") == 0


@pytest.mark.parametrize(
    ("text", "english"), [("AIDE", False), ("aide ?", False), ("Help", True), ("INFO", False)]
)
async def test_help_explains(
    loaded: asyncpg.Pool, gateway: Listening, text: str, english: bool
) -> None:
    answer = await _say(gateway, text)
    assert ("To subscribe" if english else "Pour vous inscrire") in answer.text
    assert "STOP" in answer.text
    assert await loaded.fetchval("SELECT kind FROM inbound_messages") == "help"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("LANGUE EN", "en"),
        ("langue anglais", "en"),
        ("Language: English", "en"),
        ("LANGUE FR", "fr"),
    ],
)
async def test_language_switches_and_is_answered_in_the_new_language(
    loaded: asyncpg.Pool, gateway: Listening, text: str, language: str
) -> None:
    await _say(gateway, "ALERTE 59140" + (" EN" if language == "fr" else ""))
    answer = await _say(gateway, text)
    assert ("now be in English" if language == "en" else "en francais") in answer.text
    assert (await _row(loaded))["language"] == language


async def test_a_language_word_without_a_language_explains(
    loaded: asyncpg.Pool, gateway: Listening
) -> None:
    answer = await _say(gateway, "LANGUE")
    assert "LANGUE EN" in answer.text
    assert await loaded.fetchval("SELECT count(*) FROM subscribers") == 0


async def test_a_keyword_loop_gets_a_few_answers_an_hour_then_none(
    loaded: asyncpg.Pool, gateway: Listening
) -> None:
    for _ in range(3):
        await _say(gateway, "AIDE")
    for _ in range(3):  # an auto-responder: handled, not answered
        assert await gateway.deliver_inbound(PHONE, "AIDE")
    # Another number is answered: the first answer to arrive now is theirs.
    assert (await _say(gateway, "AIDE", "+33611223399")).to == "+33611223399"
    assert gateway.arrived.empty()
    replied = await loaded.fetchval(
        "SELECT count(*) FROM inbound_messages WHERE sender = $1 AND replied_at IS NOT NULL",
        PHONE,
    )
    assert replied == 3


async def test_a_tenant_limit_holds_across_numbers(loaded: asyncpg.Pool) -> None:
    hook = SmsKeywords(ReplyLimits(per_number_hour=5, per_tenant_hour=2))
    answers = []
    for i in range(4):
        message = Inbound(
            "demo", f"+3361122330{i}", None, "ALERTE 59140", datetime.now(UTC), f"m{i}"
        )
        async with loaded.acquire() as conn, conn.transaction():
            handled = await inbound.handle(conn, message, Catalog(), keywords=hook)
        answers.append(handled.confirmation)
    assert [a is not None for a in answers] == [True, True, False, False]
    # Subscribed all the same: only the answers are held back.
    assert await loaded.fetchval("SELECT count(*) FROM subscribers WHERE status = 'active'") == 4


async def test_a_reply_to_an_alert_that_starts_with_a_keyword_stays_a_reply(
    loaded: asyncpg.Pool, gateway: Listening
) -> None:
    await _say(gateway, "ALERTE 59140")
    assert await gateway.deliver_inbound(PHONE, "Alerte reçue, merci")
    assert await gateway.deliver_inbound(PHONE, "Bonjour")
    # Only the next keyword's answer arrives: the two messages above got none.
    assert "Pour vous inscrire" in (await _say(gateway, "AIDE")).text
    kinds = await loaded.fetch("SELECT kind FROM inbound_messages ORDER BY id")
    assert [r["kind"] for r in kinds] == ["subscribe", "reply", "reply", "help"]


async def test_tenant_words_replace_the_defaults(loaded: asyncpg.Pool, gateway: Listening) -> None:
    await loaded.execute(
        "UPDATE tenants SET subscribe_words = '{ABONNEMENT}', help_words = '{SOS}'"
    )
    assert "Dunkerque" in (await _say(gateway, "abonnement 59140")).text
    assert await gateway.deliver_inbound("+33611220000", "ALERTE 59140")  # not a word here
    assert "ABONNEMENT" in (await _say(gateway, "sos", "+33611220001")).text
    assert await loaded.fetchval("SELECT count(*) FROM subscribers") == 1


async def test_stop_still_works_as_before_and_withdraws_consent(
    loaded: asyncpg.Pool, gateway: Listening
) -> None:
    await _say(gateway, "ALERTE 59140")
    answer = await _say(gateway, "Arrêt merci")
    assert "START" in answer.text
    assert (await _row(loaded))["status"] == "stopped"
    withdrawn = await loaded.fetchval(
        "SELECT count(*) FROM subscriber_consents WHERE NOT given AND scope = 'alerts'"
    )
    assert withdrawn == 1


def test_reading_is_forgiving() -> None:
    assert read("Alerte 59 1 40 Saint-Georges-sur-l'Aa EN") is not None
    command = read("Alerte 59 820 Saint-Georges-sur-l'Aa EN")
    assert command is not None
    assert (command.postcode, command.commune, command.language) == (
        "59820",
        "saint georges sur l aa",
        "en",
    )
    assert read("STOP") is None
    assert read("Stoppez la pluie") is None
    assert read("") is None


async def test_a_keyword_that_cannot_be_carried_out_leaves_a_reply_and_the_consumer_runs(
    loaded: asyncpg.Pool, gateway: Listening
) -> None:
    # A number nobody can subscribe, then a topic the tenant no longer offers is kept: neither
    # stops the consumer, and nothing is half-written.
    assert await gateway.deliver_inbound("+1234", "ALERTE 59140")
    await _say(gateway, "ALERTE 59140")
    await loaded.execute("UPDATE subscribers SET topics = '{dechets}'")
    await loaded.execute(
        "ALTER TABLE subscribers ADD CONSTRAINT no_move CHECK (postcode <> '59760')"
    )
    assert await gateway.deliver_inbound(PHONE, "ALERTE 59760")
    assert "Pour vous inscrire" in (await _say(gateway, "AIDE", "+33611223399")).text
    row = await _row(loaded)
    assert (row["postcode"], row["topics"]) == ("59140", ["dechets"])
    kinds = await loaded.fetch("SELECT sender, kind FROM inbound_messages ORDER BY id")
    assert [r["kind"] for r in kinds] == ["reply", "subscribe", "reply", "help"]
    consents = await loaded.fetchval("SELECT count(*) FROM subscriber_consents")
    assert consents == 1  # the first sign-up's consent to alerts, nothing of the refused move
