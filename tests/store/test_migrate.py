from __future__ import annotations

import asyncio

import asyncpg
import pytest

from alertd.errors import MigrationError
from alertd.store.migrate import Migration, load_migrations, migrate

TABLES = {
    "tenants",
    "operators",
    "subscribers",
    "subscriber_changes",
    "subscriber_changes_pruned",
    "zones",
    "alerts",
    "alert_zones",
    "deliveries",
    "delivery_attempts",
    "delivery_parts",
    "inbound_messages",
    "schedules",
    "schedule_firings",
    "audit_log",
    "audit_chain_head",
    "fake_gateways",
    "delivery_counts",
    "handovers",
    "tenant_postcode_areas",
    "api_idempotency_keys",
    "subscriber_consents",
    "addresses",
    "service_sms",
    "signup_flows",
    "signup_limits",
    "web_keys",
    "gateway_shares",
    "schema_migrations",
}


async def _tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


async def test_migrate_twice_changes_nothing_the_second_time(empty_dsn: str) -> None:
    conn = await asyncpg.connect(empty_dsn)
    try:
        first = await migrate(conn)
        assert [m.version for m in first.applied] == [m.version for m in load_migrations()]
        assert await _tables(conn) == TABLES
        recorded = await conn.fetch("SELECT version, applied_at FROM schema_migrations")
        second = await migrate(conn)
        assert second.applied == []
        assert second.current_version == first.current_version
        assert await conn.fetch("SELECT version, applied_at FROM schema_migrations") == recorded
    finally:
        await conn.close()


async def test_two_at_once_neither_fails(empty_dsn: str) -> None:
    conns = [await asyncpg.connect(empty_dsn) for _ in range(3)]
    try:
        reports = await asyncio.gather(*(migrate(c) for c in conns))
        applied = sorted(len(r.applied) for r in reports)
        assert applied == [0, 0, len(load_migrations())]
        assert await conns[0].fetchval("SELECT count(*) FROM schema_migrations") == len(
            load_migrations()
        )
    finally:
        for c in conns:
            await c.close()


async def test_a_failing_migration_rolls_back_and_says_which(empty_dsn: str) -> None:
    good = load_migrations()
    bad = Migration(len(good) + 1, "broken", "CREATE TABLE half_done (id int); SELECT 1/0;")
    conn = await asyncpg.connect(empty_dsn)
    try:
        with pytest.raises(MigrationError, match=f"{bad.version:04d}_broken failed"):
            await migrate(conn, [*good, bad])
        assert "half_done" not in await _tables(conn)
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == len(good)
        # the advisory lock was released: migrating again works at once
        assert (await migrate(conn, good)).applied == []
    finally:
        await conn.close()


async def test_an_edited_migration_is_refused(empty_dsn: str) -> None:
    conn = await asyncpg.connect(empty_dsn)
    try:
        await migrate(conn)
        edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in load_migrations()]
        with pytest.raises(MigrationError, match="was changed after it was applied"):
            await migrate(conn, edited)
    finally:
        await conn.close()


async def test_a_newer_schema_is_refused(empty_dsn: str) -> None:
    conn = await asyncpg.connect(empty_dsn)
    try:
        await migrate(conn)
        await conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x')")
        with pytest.raises(MigrationError, match="upgrade alertd"):
            await migrate(conn)
    finally:
        await conn.close()


async def test_a_role_without_rights_gets_an_actionable_error(empty_dsn: str) -> None:
    admin = await asyncpg.connect(empty_dsn)
    try:
        await admin.execute("DROP ROLE IF EXISTS alertd_weak")
        await admin.execute("CREATE ROLE alertd_weak LOGIN")
        await admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(empty_dsn)
        host = parts.netloc.split("@", 1)[-1]
        weak = await asyncpg.connect(urlunsplit(parts._replace(netloc=f"alertd_weak@{host}")))
        try:
            with pytest.raises(MigrationError, match="must own the database"):
                await migrate(weak)
        finally:
            await weak.close()
    finally:
        await admin.execute("DROP OWNED BY alertd_weak")
        await admin.execute("DROP ROLE alertd_weak")
        await admin.close()


async def test_inbound_duplicates_stored_before_0008_are_removed_keeping_the_first(
    empty_dsn: str,
) -> None:
    """The unique index on (gateway, message id) is built on a database that already holds a
    provider's resends: the migration keeps the first of each and cannot fail on them."""
    before = [m for m in load_migrations() if m.version < 8]
    conn = await asyncpg.connect(empty_dsn)
    try:
        await migrate(conn, before)
        await conn.execute(
            "INSERT INTO inbound_messages (gateway, sender, body, gateway_message_id) VALUES "
            "('ovh', '+33612345678', 'STOP', 'm1'), ('ovh', '+33612345678', 'STOP', 'm1'), "
            "('smpp', '+33612345678', 'STOP', 'm1'), ('ovh', '+33612345678', 'x', NULL), "
            "('ovh', '+33612345678', 'x', NULL), ('ovh', '+33612345678', 'STOP', 'm1')"
        )
        await migrate(conn)
        kept = await conn.fetch("SELECT id FROM inbound_messages ORDER BY id")
        assert [r["id"] for r in kept] == [1, 3, 4, 5]
        stop_words = await conn.fetchval(
            "SELECT column_default FROM information_schema.columns "
            "WHERE table_name = 'tenants' AND column_name = 'stop_words'"
        )
        assert "STOP" in stop_words
    finally:
        await conn.close()


async def test_an_upgrade_is_refused_while_a_daemon_uses_the_database(empty_dsn: str) -> None:
    """A daemon of the old version would run its SQL against the new schema: stop it first."""
    *old, new = load_migrations()
    conn = await asyncpg.connect(empty_dsn)
    daemon = await asyncpg.connect(
        empty_dsn, server_settings={"application_name": "alertd serve host-a:123"}
    )
    try:
        await migrate(conn, old)
        with pytest.raises(MigrationError, match=r"1 alertd daemon\(s\).*host-a:123.*stop"):
            await migrate(conn, [*old, new])
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == old[-1].version
        await daemon.close()
        assert [m.version for m in (await migrate(conn, [*old, new])).applied] == [new.version]
    finally:
        await daemon.close()
        await conn.close()


async def test_a_daemon_starting_on_an_up_to_date_schema_is_not_refused(empty_dsn: str) -> None:
    conn = await asyncpg.connect(empty_dsn)
    daemon = await asyncpg.connect(
        empty_dsn, server_settings={"application_name": "alertd serve host-a:123"}
    )
    try:
        await migrate(conn)
        assert (await migrate(conn)).applied == []  # nothing pending: nothing to refuse
    finally:
        await daemon.close()
        await conn.close()
