"""The shared core of a subscription: where a postcode belongs, enrol (new, again, moved, back
after STOP), consent kept as proof, leave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from alertd.errors import InputError
from alertd.subscribers import enrol as e
from tests.support.seed import seed_alert

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PHONE = "+33612345678"


async def test_a_postcode_of_one_commune_places_the_resident_in_it(loaded: asyncpg.Pool) -> None:
    placed = await e.place(loaded, "59140")
    assert (placed.tenant_code, placed.tenant_name) == ("59183", "Dunkerque")
    assert placed.communes == (("59183", "Dunkerque"),)


async def test_a_shared_postcode_places_with_the_intercommunality_unless_a_commune_is_named(
    loaded: asyncpg.Pool,
) -> None:
    shared = await e.place(loaded, "59279")
    assert shared.tenant_code == "245900428"
    assert {name for _, name in shared.communes} == {"Dunkerque", "Loon-Plage", "Craywick"}
    assert (await e.place(loaded, "59279", "loon plage")).tenant_code == "59359"
    assert (await e.place(loaded, "59820", "SAINT-GEORGES SUR L'AA")).tenant_code == "59532"
    assert (await e.place(loaded, "59820", "59273")).tenant_name == "Gravelines"
    assert (await e.place(loaded, "59820", "Paris")).tenant_code == "245900428"


async def test_an_unserved_postcode_names_those_served(loaded: asyncpg.Pool) -> None:
    with pytest.raises(e.NotServedError) as raised:
        await e.place(loaded, "75001")
    assert "75001" in str(raised.value)
    assert "59140" in str(raised.value)
    assert "59140" in raised.value.served


def _enrolment(placement: e.Placement, **kw: object) -> e.Enrolment:
    fields: dict[str, object] = {
        "phone": PHONE,
        "placement": placement,
        "language": "fr",
        "topics": frozenset({"dechets"}),
        "channel": "web",
    }
    fields.update(kw)
    return e.Enrolment(**fields)  # type: ignore[arg-type]


async def _consents(pool: asyncpg.Pool) -> list[tuple[str, bool, str]]:
    rows = await pool.fetch("SELECT scope, given, channel FROM subscriber_consents ORDER BY id")
    return [(r["scope"], r["given"], r["channel"]) for r in rows]


async def test_enrol_records_the_subscription_and_each_consent_as_proof(
    loaded: asyncpg.Pool,
) -> None:
    placed = await e.place(loaded, "59140")
    async with loaded.acquire() as conn, conn.transaction():
        done = await e.enrol(conn, _enrolment(placed), now=NOW)
    assert (done.before, done.topics_added, done.topics_removed) == (
        "new",
        frozenset({"dechets"}),
        frozenset(),
    )
    row = await loaded.fetchrow("SELECT * FROM subscribers WHERE id = $1", done.subscriber_id)
    assert (row["status"], row["consent_channel"], row["consent_at"]) == ("active", "web", NOW)
    assert (row["postcode"], row["topics"]) == ("59140", ["dechets"])
    assert await _consents(loaded) == [("alerts", True, "web"), ("dechets", True, "web")]
    audit = await loaded.fetchrow(
        "SELECT actor, details FROM audit_log WHERE action = $1", "subscriber.enrol"
    )
    assert audit["actor"] == "resident:web"
    assert PHONE not in str(audit["details"])


async def test_enrol_again_changes_topics_and_language_and_says_what_changed(
    loaded: asyncpg.Pool,
) -> None:
    placed = await e.place(loaded, "59140")
    async with loaded.acquire() as conn, conn.transaction():
        first = await e.enrol(conn, _enrolment(placed), now=NOW)
        later = NOW + timedelta(days=1)
        again = await e.enrol(
            conn,
            _enrolment(placed, language="en", topics=frozenset({"travaux"}), channel="sms"),
            now=later,
        )
    assert again.subscriber_id == first.subscriber_id
    assert again.before == "active"
    assert (again.topics_added, again.topics_removed) == ({"travaux"}, {"dechets"})
    row = await loaded.fetchrow("SELECT * FROM subscribers WHERE id = $1", first.subscriber_id)
    # The consent to alerts was given on the first day, by the page: that stays the proof.
    assert (row["language"], row["consent_at"], row["consent_channel"]) == ("en", NOW, "web")
    assert (await _consents(loaded))[2:] == [("travaux", True, "sms"), ("dechets", False, "sms")]


async def test_a_move_within_the_territory_keeps_one_row(loaded: asyncpg.Pool) -> None:
    async with loaded.acquire() as conn, conn.transaction():
        first = await e.enrol(conn, _enrolment(await e.place(conn, "59140")), now=NOW)
        moved = await e.enrol(conn, _enrolment(await e.place(conn, "59760")), now=NOW)
    assert moved.subscriber_id == first.subscriber_id
    rows = await loaded.fetch(
        "SELECT t.name FROM subscribers s JOIN tenants t ON t.id = s.tenant_id WHERE phone = $1",
        PHONE,
    )
    assert [r["name"] for r in rows] == ["Grande-Synthe"]
    # Consent is given to a tenant: withdrawn from the one left, given to the new one.
    consents = await loaded.fetch(
        "SELECT t.name, c.scope, c.given FROM subscriber_consents c "
        "JOIN tenants t ON t.id = c.tenant_id ORDER BY c.id"
    )
    assert [tuple(r) for r in consents] == [
        ("Dunkerque", "alerts", True),
        ("Dunkerque", "dechets", True),
        ("Dunkerque", "alerts", False),
        ("Dunkerque", "dechets", False),
        ("Grande-Synthe", "alerts", True),
        ("Grande-Synthe", "dechets", True),
    ]
    assert (moved.topics_added, moved.topics_removed) == (frozenset(), frozenset())


async def test_a_stopped_resident_comes_back_and_consent_is_given_again(
    loaded: asyncpg.Pool,
) -> None:
    placed = await e.place(loaded, "59140")
    async with loaded.acquire() as conn, conn.transaction():
        first = await e.enrol(conn, _enrolment(placed), now=NOW)
        assert await e.leave(conn, PHONE, channel="sms", now=NOW) == [first.subscriber_id]
        assert await e.leave(conn, PHONE, channel="sms", now=NOW) == []
        back = await e.enrol(conn, _enrolment(placed, channel="sms"), now=NOW)
    assert (back.before, back.topics_added) == ("stopped", {"dechets"})
    assert await _consents(loaded) == [
        ("alerts", True, "web"),
        ("dechets", True, "web"),
        ("alerts", False, "sms"),
        ("dechets", False, "sms"),
        ("alerts", True, "sms"),
        ("dechets", True, "sms"),
    ]


async def test_leave_cancels_what_is_queued_in_the_same_transaction(
    loaded: asyncpg.Pool,
) -> None:
    alert_id = await seed_alert(loaded, 2)
    phone = await loaded.fetchval("SELECT phone FROM subscribers ORDER BY id LIMIT 1")
    async with loaded.acquire() as conn, conn.transaction():
        assert len(await e.leave(conn, phone, channel="web", now=NOW)) == 1
    statuses = await loaded.fetch(
        "SELECT status FROM deliveries WHERE alert_id = $1 ORDER BY subscriber_id", alert_id
    )
    assert [r["status"] for r in statuses] == ["cancelled", "queued"]


async def test_bad_input_changes_nothing(loaded: asyncpg.Pool) -> None:
    placed = await e.place(loaded, "59140")
    for bad in (
        _enrolment(placed, language="de"),
        _enrolment(placed, topics=frozenset({"meteo"})),
        _enrolment(placed, channel="guichet"),
        _enrolment(placed, lon=2.3),
    ):
        with pytest.raises(InputError):
            async with loaded.acquire() as conn, conn.transaction():
                await e.enrol(conn, bad, now=NOW)
    assert await loaded.fetchval("SELECT count(*) FROM subscribers") == 0
    assert await loaded.fetchval("SELECT count(*) FROM subscriber_consents") == 0


async def test_consent_records_are_never_changed(loaded: asyncpg.Pool) -> None:
    async with loaded.acquire() as conn, conn.transaction():
        await e.enrol(conn, _enrolment(await e.place(conn, "59140")), now=NOW)
    with pytest.raises(asyncpg.RaiseError):
        await loaded.execute("UPDATE subscriber_consents SET given = false")


async def test_the_desk_records_its_operator(loaded: asyncpg.Pool) -> None:
    tenant = await loaded.fetchval("SELECT id FROM tenants WHERE code = '59183'")
    operator = await loaded.fetchval(
        "INSERT INTO operators (tenant_id, name, role, token_hash, token_prefix) "
        "VALUES ($1, 'Agent', 'operator', '\\x01', 'x') RETURNING id",
        tenant,
    )
    async with loaded.acquire() as conn, conn.transaction():
        await e.enrol(
            conn,
            _enrolment(await e.place(conn, "59140"), channel="guichet", operator_id=operator),
            now=NOW,
        )
    assert (
        await loaded.fetchval(
            "SELECT count(*) FROM subscriber_consents "
            "WHERE operator_id = $1 AND channel = 'guichet'",
            operator,
        )
        == 2
    )
    assert await loaded.fetchval("SELECT consent_channel FROM subscribers") == "guichet"
    assert (
        await loaded.fetchval("SELECT actor FROM audit_log WHERE action = 'subscriber.enrol'")
        == f"operator:{operator}"
    )
