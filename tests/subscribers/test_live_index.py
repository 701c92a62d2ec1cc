"""The daemon's in-memory subscriber index: the same recipients as the database path, kept up to
date from the change log (late commits, lost NOTIFYs, pruning, erasure)."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from shapely.geometry import mapping

from alertd.alerts import hazard_zones, territory_data
from alertd.config import METROPOLE_EXTENT
from alertd.delivery import enqueue, live_sync
from alertd.delivery.live_index import AlertSpec, LiveIndex, Reach, preview
from alertd.errors import InputError

CENTRE = (2.3431, 51.0292)  # Dunkerque
ROWS = [  # phone, lon, lat, postcode, language, status, kind, topics, exercise
    ("+33600000001", 2.3431, 51.0292, "59140", "fr", "active", "mobile", [], False),
    ("+33600000002", 2.3440, 51.0295, "59140", "en", "active", "mobile", ["dechets"], True),
    ("+33600000003", None, None, "59140", "fr", "active", "mobile", [], False),
    ("+33600000004", 2.5000, 51.0800, "59140", "fr", "active", "mobile", [], False),
    ("+33600000005", 2.3432, 51.0293, "59140", "fr", "stopped", "mobile", [], False),
    ("+33328000006", 2.3433, 51.0291, "59140", "fr", "active", "landline", [], False),
    ("+33600000007", 2.3435, 51.0290, "59140", "nl", "active", "mobile", ["travaux"], False),
    ("+33600000008", None, None, "59240", "en", "active", "mobile", ["dechets"], True),
]
INSERT = (
    "INSERT INTO subscribers (tenant_id, phone, lon, lat, postcode, language, status, "
    "phone_kind, topics, exercise, consent_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now()) RETURNING id"
)


async def _add(conn: asyncpg.Pool | asyncpg.Connection, tenant: int, row: tuple) -> int:  # type: ignore[type-arg]
    return int(await conn.fetchval(INSERT, tenant, *row))


@pytest.fixture
async def town(loaded: asyncpg.Pool) -> tuple[asyncpg.Pool, int, dict]:  # type: ignore[type-arg]
    tenant = await loaded.fetchval("SELECT id FROM tenants WHERE code = '59183'")
    for row in ROWS:
        await _add(loaded, tenant, row)
    circle = hazard_zones.make_circle(*CENTRE, 1000)
    return loaded, tenant, dict(mapping(circle.geometry))


SPECS = [
    {"life_safety": True},
    {"life_safety": False, "topics": ("dechets",)},
    {"life_safety": False, "topics": ("travaux", "dechets")},
    {"life_safety": False, "topics": ("eau",)},
    {"life_safety": True, "exercise": True},
]


def _facts(reach: Reach) -> tuple[list[int], list[int], dict[int, str], int]:
    return (
        reach.by_address.tolist(),
        reach.by_postcode.tolist(),
        dict(reach.languages),
        reach.unplaced,
    )


async def _both(pool: asyncpg.Pool, index: LiveIndex, spec: AlertSpec) -> tuple:  # type: ignore[type-arg]
    from_db = await preview(None, spec, pool)
    from_memory = await preview(index, spec, pool)
    return _facts(from_db), _facts(from_memory)


async def _agree(pool: asyncpg.Pool, index: LiveIndex, tenant: int, zone: dict) -> int:  # type: ignore[type-arg]
    reached = 0
    for kw in SPECS:
        spec = AlertSpec(tenant, [zone], **kw)  # type: ignore[arg-type]
        db, memory = await _both(pool, index, spec)
        assert memory == db, kw
        reached += len(db[0]) + len(db[1])
    return reached


async def test_the_index_agrees_with_the_database(town: tuple) -> None:  # type: ignore[type-arg]
    pool, tenant, zone = town
    index = LiveIndex(pool)
    await index.load()
    assert index.size == 6  # not the stopped one, not the landline
    # Without postcode areas: the postcode-only residents are counted, not placed.
    db, memory = await _both(pool, index, AlertSpec(tenant, [zone]))
    assert memory == db
    assert db[3] == 2
    await territory_data.import_demo_areas(pool, "245900428", METROPOLE_EXTENT, "t")
    assert await _agree(pool, index, tenant, zone) > 0
    reach = await preview(index, AlertSpec(tenant, [zone]), pool)
    assert reach.by_language() == {"en": 2, "fr": 2, "nl": 1}
    # A commune's alert does not reach the intercommunality's other communes.
    other = await pool.fetchval("SELECT id FROM tenants WHERE code = '59155'")
    assert (await preview(index, AlertSpec(other, [zone]), pool)).recipients == 0


async def test_changes_are_applied_in_order(town: tuple) -> None:  # type: ignore[type-arg]
    pool, tenant, zone = town
    await territory_data.import_demo_areas(pool, "245900428", METROPOLE_EXTENT, "t")
    index = LiveIndex(pool)
    await index.load()
    new = await _add(
        pool,
        tenant,
        ("+33600000009", 2.3436, 51.0291, None, "de", "active", "mobile", ["eau"], True),
    )
    await pool.execute("UPDATE subscribers SET status = 'stopped' WHERE phone = '+33600000001'")
    await pool.execute(
        "UPDATE subscribers SET lon = 2.3431, lat = 51.0292 WHERE phone = '+33600000004'"
    )
    await pool.execute("UPDATE subscribers SET status = 'active' WHERE phone = '+33600000005'")
    await pool.execute("UPDATE subscribers SET topics = '{travaux}' WHERE phone = '+33600000002'")
    await pool.execute("DELETE FROM subscribers WHERE phone = '+33600000003'")
    assert await index.catch_up() == 6
    await _agree(pool, index, tenant, zone)
    reached = (await preview(index, AlertSpec(tenant, [zone]), pool)).languages
    assert new in reached
    assert "de" in reached.values()
    # The erased resident's earlier rows left the log with them.
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM subscriber_changes WHERE kind = 'upsert' "
            "AND subscriber_id NOT IN "
            "(SELECT id FROM subscribers)"
        )
        == 0
    )


async def test_a_transaction_committed_late_is_not_skipped(town: tuple, db_dsn: str) -> None:  # type: ignore[type-arg]
    pool, tenant, zone = town
    index = LiveIndex(pool)
    await index.load()
    slow = await asyncpg.connect(db_dsn)
    try:
        tx = slow.transaction()
        await tx.start()
        late = await _add(
            slow,
            tenant,
            ("+33600000010", 2.3437, 51.0292, None, "fr", "active", "mobile", [], False),
        )
        early = await _add(
            pool,
            tenant,
            ("+33600000011", 2.3438, 51.0292, None, "fr", "active", "mobile", [], False),
        )
        assert late < early  # the late one's log row has the lower id
        await index.catch_up()
        ids = (await preview(index, AlertSpec(tenant, [zone]), pool)).languages
        assert early in ids
        assert late not in ids
        await tx.commit()
    finally:
        await slow.close()
    await index.catch_up()
    assert late in (await preview(index, AlertSpec(tenant, [zone]), pool)).languages
    await _agree(pool, index, tenant, zone)


async def test_follow_applies_a_change_within_a_second_even_without_notify(
    town: tuple,  # type: ignore[type-arg]
) -> None:
    pool, tenant, _ = town
    index = LiveIndex(pool)
    await index.load()
    stop = asyncio.Event()
    task = asyncio.create_task(live_sync.follow(index, stop, poll_s=0.2))
    try:
        started = time.monotonic()
        await _add(
            pool,
            tenant,
            ("+33600000012", 2.3431, 51.0292, None, "fr", "active", "mobile", [], False),
        )
        while index.size < 7:
            assert time.monotonic() - started < 2.0, "the change never became visible"
            await asyncio.sleep(0.01)
        # Without a NOTIFY (as when it is lost), the poll still finds it.
        async with pool.acquire() as conn:
            await conn.execute("ALTER TABLE subscribers DISABLE TRIGGER subscriber_changes_insert")
            row = await _add(
                conn,
                tenant,
                ("+33600000013", 2.3431, 51.0292, None, "fr", "active", "mobile", [], False),
            )
            await conn.execute("ALTER TABLE subscribers ENABLE TRIGGER subscriber_changes_insert")
            await conn.execute(
                "INSERT INTO subscriber_changes (kind, subscriber_id, tenant_id, lon, lat, "
                "language, topics, status, phone_kind, exercise) "
                "VALUES ('upsert', $1, $2, 2.3431, 51.0292, 'fr', '{}', 'active', 'mobile', false)",
                row,
                tenant,
            )
        started = time.monotonic()
        while index.size < 8:
            assert time.monotonic() - started < 2.0, "a change without NOTIFY was never read"
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await task


async def test_pruned_past_its_last_read_the_index_reloads(town: tuple) -> None:  # type: ignore[type-arg]
    pool, tenant, zone = town
    index = LiveIndex(pool)
    await index.load()
    await _add(
        pool, tenant, ("+33600000014", 2.3431, 51.0292, None, "fr", "active", "mobile", [], False)
    )
    await asyncio.sleep(0.05)
    assert await live_sync.prune(pool, retention_s=0) >= 1
    assert await pool.fetchval("SELECT count(*) FROM subscriber_changes") == 0
    await index.catch_up()  # the log lost the change: it reloads, and has it
    assert index.size == 7
    await _agree(pool, index, tenant, zone)


async def test_truncate_resets_and_a_bad_zone_is_refused(town: tuple) -> None:  # type: ignore[type-arg]
    pool, tenant, _ = town
    index = LiveIndex(pool)
    await index.load()
    with pytest.raises(InputError, match="has no zone"):
        await preview(index, AlertSpec(tenant, []), pool)
    await pool.execute("TRUNCATE subscribers CASCADE")
    await index.catch_up()
    assert index.size == 0


async def test_resume_matches_from_the_index(town: tuple) -> None:  # type: ignore[type-arg]
    from alertd.delivery.live_index import matcher

    pool, tenant, _ = town
    zone_id = (
        await hazard_zones.save_zone(
            pool,
            hazard_zones.make_circle(*CENTRE, 1000),
            tenant="59183",
            kind="flood",
            name="c",
            actor="t",
        )
    ).id
    alert_id = await pool.fetchval(
        "INSERT INTO alerts (tenant_id, hazard, severity, status, sent_at) "
        "VALUES ($1, 'flood', 'life_safety', 'sending', now() - interval '1 minute') RETURNING id",
        tenant,
    )
    await pool.execute("INSERT INTO alert_zones VALUES ($1, $2)", alert_id, zone_id)
    index = LiveIndex(pool)
    await index.load()
    done = await enqueue.resume_interrupted(pool, after_s=0, matcher=matcher(index))
    assert [(r.alert_id, r.recipients) for r in done] == [(alert_id, 3)]
    assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE alert_id = $1", alert_id) == 3


async def test_a_lost_listener_reconnects_and_catches_up(town: tuple) -> None:  # type: ignore[type-arg]
    """The LISTEN connection killed: the change made meanwhile (its NOTIFY lost) is applied once
    the supervisor has started following again, and NOTIFY works again after."""
    from alertd.delivery import supervisor

    pool, tenant, zone = town
    index = LiveIndex(pool)
    await index.load()
    stop = asyncio.Event()
    task = asyncio.create_task(
        supervisor.supervise("index", lambda: live_sync.follow(index, stop, poll_s=0.3), pool, stop)
    )
    try:
        listener = None
        for _ in range(100):
            listener = await pool.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN%'"
            )
            if listener:
                break
            await asyncio.sleep(0.02)
        assert listener
        await pool.execute("SELECT pg_terminate_backend($1)", listener)
        await _add(
            pool,
            tenant,
            ("+33600000015", 2.3431, 51.0292, None, "fr", "active", "mobile", [], False),
        )
        started = time.monotonic()
        while index.size < 7:
            assert time.monotonic() - started < 5.0, "the change made while away never came"
            await asyncio.sleep(0.02)
        relistening = None
        while not relistening:
            assert time.monotonic() - started < 5.0, "nobody listens again"
            relistening = await pool.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN%' AND pid <> $1",
                listener,
            )
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task
    await _agree(pool, index, tenant, zone)


async def test_more_topics_than_the_index_holds_fall_back_to_the_database(
    town: tuple,  # type: ignore[type-arg]
) -> None:
    pool, tenant, zone = town
    index = LiveIndex(pool)
    await index.load()
    many = [f"t{i}" for i in range(64)]
    await _add(
        pool, tenant, ("+33600000016", 2.3431, 51.0292, None, "fr", "active", "mobile", many, False)
    )
    assert await index.catch_up() == 1
    assert index.unusable is not None
    assert not index.ready
    await index.catch_up()  # not loaded again and again
    spec = AlertSpec(tenant, [zone], life_safety=False, topics=("t63",))
    reach = await preview(index, spec)
    assert reach.recipients == 1  # from the database: nobody is missed
