"""RGPD rights of access and erasure."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from alertd.config import Config
from alertd.errors import NotFoundError
from alertd.subscribers import importer, rgpd

PHONE = "+33612345601"
DIGITS = "612345601"


@pytest.fixture
async def person(loaded: asyncpg.Pool, config: Config, tmp_path: Path) -> asyncpg.Pool:
    pool = loaded
    for code, postcode in (("59183", "59140"), ("59273", "59820")):
        path = tmp_path / f"{code}.csv"
        path.write_text(
            "phone,postcode,address,lon,lat\n"
            f"06 12 34 56 01,{postcode},1 rue de la Digue,2.3431,51.0292\n"
            f"06 12 34 56 99,{postcode},,,\n"
        )
        await importer.import_csv(pool, path, code, config.subscribers, "test")
    sub_id = await pool.fetchval("SELECT id FROM subscribers WHERE phone = $1 LIMIT 1", PHONE)
    tenant = await pool.fetchval("SELECT tenant_id FROM subscribers WHERE id = $1", sub_id)
    alert = await pool.fetchval(
        "INSERT INTO alerts (tenant_id, hazard, severity, texts) VALUES ($1, 'submersion', "
        "'life_safety', '{\"fr\": \"Submersion marine: montez a l etage\"}') RETURNING id",
        tenant,
    )
    await pool.execute(
        "INSERT INTO deliveries (alert_id, subscriber_id, status) VALUES ($1, $2, 'delivered')",
        alert,
        sub_id,
    )
    await pool.execute(
        "INSERT INTO inbound_messages (gateway, sender, body, alert_id) "
        "VALUES ('fake', $1, 'Merci, je suis a l etage', $2)",
        PHONE,
        alert,
    )
    return pool


async def _everything(pool: asyncpg.Pool) -> str:
    tables = [
        r["tablename"]
        for r in await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ]
    dump = []
    for table in tables:
        dump += [r[0] for r in await pool.fetch(f'SELECT t::text FROM "{table}" t')]
    return "\n".join(dump)


async def test_export_holds_all_their_data(person: asyncpg.Pool, config: Config) -> None:
    data = await rgpd.export_subscriber(person, "06 12 34 56 01", None, "FR", "test")
    json.dumps(data, default=str)  # serialisable as the CLI prints it
    assert data["phone"] == PHONE
    assert sorted(s["tenant_code"] for s in data["subscriptions"]) == ["59183", "59273"]
    sub = data["subscriptions"][0]
    assert (sub["address"], sub["lon"], sub["consent_channel"]) == (
        "1 rue de la Digue",
        2.3431,
        "import",
    )
    assert data["messages_sent"][0]["text"] == "Submersion marine: montez a l etage"
    assert data["messages_received"][0]["body"] == "Merci, je suis a l etage"
    exports = await person.fetch("SELECT * FROM audit_log WHERE action = 'subscriber.export'")
    assert len(exports) == 2
    assert all(DIGITS not in str(a["details"]) for a in exports)


async def test_erase_leaves_nothing_but_a_masked_audit_entry(person: asyncpg.Pool) -> None:
    assert DIGITS in await _everything(person)
    erased = await rgpd.erase_subscriber(person, "0612345601", None, "FR", "test")
    assert erased == 2
    everything = await _everything(person)
    assert DIGITS not in everything
    assert "rue de la Digue" not in everything
    entries = await person.fetch("SELECT * FROM audit_log WHERE action = 'subscriber.erase'")
    assert len(entries) == 2
    assert entries[0]["details"]["phone"] == "+*********01"
    # the neighbour is untouched
    assert await person.fetchval("SELECT count(*) FROM subscribers") == 2
    with pytest.raises(NotFoundError):
        await rgpd.export_subscriber(person, PHONE, None, "FR", "test")


async def test_erase_in_one_tenant_keeps_the_other(person: asyncpg.Pool) -> None:
    assert await rgpd.erase_subscriber(person, PHONE, "59273", "FR", "test") == 1
    left = await person.fetch("SELECT tenant_id FROM subscribers WHERE phone = $1", PHONE)
    assert len(left) == 1
    # their messages stay while they are still subscribed somewhere
    assert await person.fetchval("SELECT count(*) FROM inbound_messages") == 1


async def test_erase_of_unknown_phone_changes_nothing(person: asyncpg.Pool) -> None:
    before = await _everything(person)
    with pytest.raises(NotFoundError, match=r"\*\*78"):
        await rgpd.erase_subscriber(person, "06 99 99 99 78", None, "FR", "test")
    assert await _everything(person) == before
