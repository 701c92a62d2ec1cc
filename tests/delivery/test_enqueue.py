"""From an alert's zone to its deliveries."""

from __future__ import annotations

import asyncpg
import pytest

from alertd.alerts import hazard_zones, territory_data
from alertd.config import METROPOLE_EXTENT
from alertd.delivery import enqueue
from alertd.errors import InputError
from tests.support.seed import seed_alert

CENTRE = (2.3431, 51.0292)  # Dunkerque


@pytest.fixture
async def town(loaded: asyncpg.Pool) -> tuple[asyncpg.Pool, int]:
    tenant = await loaded.fetchval("SELECT id FROM tenants WHERE code = '59183'")
    rows = [  # phone, lon, lat, postcode, language, status, kind, topics, exercise
        ("+33600000001", 2.3431, 51.0292, "59140", "fr", "active", "mobile", [], False),
        ("+33600000002", 2.3440, 51.0295, "59140", "en", "active", "mobile", ["dechets"], True),
        ("+33600000003", None, None, "59140", "fr", "active", "mobile", [], False),
        ("+33600000004", 2.5000, 51.0800, "59140", "fr", "active", "mobile", [], False),
        ("+33600000005", 2.3432, 51.0293, "59140", "fr", "stopped", "mobile", [], False),
        ("+33328000006", 2.3433, 51.0291, "59140", "fr", "active", "landline", [], False),
    ]
    for phone, lon, lat, pc, lang, status, kind, topics, exercise in rows:
        await loaded.execute(
            "INSERT INTO subscribers (tenant_id, phone, lon, lat, postcode, language, status, "
            "phone_kind, topics, exercise, consent_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())",
            tenant,
            phone,
            lon,
            lat,
            pc,
            lang,
            status,
            kind,
            topics,
            exercise,
        )
    zone = await hazard_zones.save_zone(
        loaded,
        hazard_zones.make_circle(*CENTRE, 1000),
        tenant="59183",
        kind="flood",
        name="Centre",
        actor="t",
    )
    return loaded, zone.id


async def _alert(
    pool: asyncpg.Pool,
    zone_id: int,
    severity: str = "life_safety",
    topics: tuple[str, ...] = (),
    exercise: bool = False,
) -> int:
    alert_id = int(
        await pool.fetchval(
            "INSERT INTO alerts (tenant_id, hazard, severity, topics, exercise) "
            "SELECT tenant_id, 'flood', $2, $3, $4 FROM zones WHERE id = $1 RETURNING id",
            zone_id,
            severity,
            list(topics),
            exercise,
        )
    )
    await pool.execute("INSERT INTO alert_zones VALUES ($1, $2)", alert_id, zone_id)
    return alert_id


async def _recipients(pool: asyncpg.Pool, alert_id: int) -> dict[str, tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT s.phone, d.matched_by, d.language FROM deliveries d "
        "JOIN subscribers s ON s.id = d.subscriber_id WHERE d.alert_id = $1",
        alert_id,
    )
    return {r["phone"]: (r["matched_by"], r["language"]) for r in rows}


async def test_inside_by_address_and_postcode_once_each(town: tuple[asyncpg.Pool, int]) -> None:
    pool, zone_id = town
    alert_id = await _alert(pool, zone_id)
    await territory_data.import_demo_areas(pool, "245900428", METROPOLE_EXTENT, "t")
    done = await enqueue.enqueue_alert(pool, alert_id)
    assert (done.by_address, done.by_postcode, done.written) == (2, 1, 3)
    assert await _recipients(pool, alert_id) == {
        "+33600000001": ("address", "fr"),
        "+33600000002": ("address", "en"),
        "+33600000003": ("postcode", "fr"),
    }  # not the one outside, not the stopped one, not the landline
    again = await enqueue.enqueue_alert(pool, alert_id)
    assert again.written == 0
    assert await pool.fetchval("SELECT count(*) FROM deliveries") == 3


async def test_exercises_reach_only_participants(town: tuple[asyncpg.Pool, int]) -> None:
    pool, zone_id = town
    alert_id = await _alert(pool, zone_id, exercise=True)
    await enqueue.enqueue_alert(pool, alert_id)
    assert set(await _recipients(pool, alert_id)) == {"+33600000002"}


async def test_information_follows_topics(town: tuple[asyncpg.Pool, int]) -> None:
    pool, zone_id = town
    alert_id = await _alert(pool, zone_id, severity="information", topics=("travaux",))
    await enqueue.enqueue_alert(pool, alert_id)
    # information goes only to those who chose its topic: nobody here chose "travaux"
    assert set(await _recipients(pool, alert_id)) == set()
    dechets = await _alert(pool, zone_id, severity="information", topics=("dechets",))
    await enqueue.enqueue_alert(pool, dechets)
    assert set(await _recipients(pool, dechets)) == {"+33600000002"}


async def test_an_alert_without_a_zone_is_refused(town: tuple[asyncpg.Pool, int]) -> None:
    pool, _ = town
    alert_id = await pool.fetchval(
        "INSERT INTO alerts (tenant_id, hazard, severity) SELECT id, 'flood', 'life_safety' "
        "FROM tenants WHERE code = '59183' RETURNING id"
    )
    with pytest.raises(InputError, match="has no zone"):
        await enqueue.enqueue_alert(pool, alert_id)


async def test_the_first_batch_is_small_so_sending_starts_at_once(loaded: asyncpg.Pool) -> None:
    """The daemons can send only what is committed: the first commit holds FIRST_BATCH rows,
    not BATCH, so the first SMS leaves while the rest is written."""
    alert_id = await seed_alert(loaded, 2_500, enqueue=False)
    ids = [r["id"] for r in await loaded.fetch("SELECT id FROM subscribers ORDER BY id")]
    await loaded.execute(
        """
        CREATE TABLE batches (n bigint);
        CREATE FUNCTION count_batch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO batches SELECT count(*) FROM added; RETURN NULL; END $$;
        CREATE TRIGGER count_batch AFTER INSERT ON deliveries REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION count_batch();
        """
    )
    matched = enqueue.Matched(ids[:2_000], ids[2_000:], dict.fromkeys(ids, "fr"))
    assert await enqueue.write(loaded, alert_id, 1, matched) == 2_500
    sizes = [r["n"] for r in await loaded.fetch("SELECT n FROM batches")]
    assert sizes[0] == enqueue.FIRST_BATCH < enqueue.BATCH
    assert sum(sizes) == 2_500
