"""Issue 14, case 11: an audit log you can prove.

The application's role (created here with a name unique to this test's database, dropped after:
other tests run at the same time on the same server) may insert into the audit log and read it,
never change, empty or unprotect it; the entries are hash-chained and `audit verify` finds any
gap or edit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from alertd import audit
from alertd.config import DatabaseConfig
from alertd.store.database import create_pool, dsn_for
from alertd.store.migrate import load_migrations, migrate
from alertd.store.roles import grant_app_role
from alertd.tenants import load_territory
from tests.support.cli import alertd


async def _connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    return conn


def dsn_as(dsn: str, user: str) -> str:
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


@pytest.fixture
async def app_role(db_dsn: str) -> AsyncIterator[str]:
    """A login role for this test's database only, dropped after the test."""
    name = f"{urlsplit(db_dsn).path.lstrip('/')}_app"
    admin = await asyncpg.connect(dsn_for(db_dsn, "postgres"))
    await admin.execute(f'CREATE ROLE "{name}" LOGIN')
    try:
        yield name
    finally:
        owner = await asyncpg.connect(db_dsn)
        try:
            await owner.execute(f'DROP OWNED BY "{name}"')  # its grants in this database
        finally:
            await owner.close()
        await admin.execute(f'DROP ROLE IF EXISTS "{name}"')
        await admin.close()


@pytest.fixture
async def app(db_dsn: str, app_role: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the application's role, after `alertd db grant` as the owner."""
    owner = await asyncpg.connect(db_dsn)
    try:
        grant = await grant_app_role(owner, app_role)
        assert grant.role == app_role and grant.tables > 10
    finally:
        await owner.close()
    conn = await _connect(dsn_as(db_dsn, app_role))
    try:
        yield conn
    finally:
        await conn.close()


TAMPERING = [
    "TRUNCATE audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_log_no_update ON audit_log",
    "DROP TRIGGER audit_log_chain ON audit_log",
    "UPDATE audit_log SET action = 'nothing.happened'",
    "DELETE FROM audit_log",
    "UPDATE audit_chain_head SET seq = 0",
    "DROP TABLE audit_log",
    "CREATE TABLE sneaky (id int)",
]


@pytest.mark.parametrize("statement", TAMPERING)
async def test_the_app_role_cannot_tamper_with_the_audit_log(
    app: asyncpg.Connection, statement: str
) -> None:
    await audit.record(app, actor="cli:test", action="test.entry", details={"n": 1})
    with pytest.raises(asyncpg.PostgresError):
        await app.execute(statement)
    assert await app.fetchval("SELECT count(*) FROM audit_log") == 1


async def test_the_app_role_does_its_normal_work(
    app: asyncpg.Connection, db_dsn: str, app_role: str
) -> None:
    pool = await create_pool(dsn_as(db_dsn, app_role), DatabaseConfig(pool_min=1, pool_max=2))
    try:
        await load_territory(pool, "cli:test")  # inserts tenants, audited
    finally:
        await pool.close()
    tenant = await app.fetchval("SELECT id FROM tenants WHERE code = '59183'")
    await app.execute(
        "INSERT INTO subscribers (tenant_id, phone, postcode, status, consent_at) "
        "VALUES ($1, '+33612345678', '59140', 'active', now())",
        tenant,
    )
    await app.execute("UPDATE subscribers SET language = 'en'")
    await app.execute("DELETE FROM subscribers")
    assert (await audit.verify(app)).ok
    # Starting on an up-to-date schema needs no DDL: the app role passes the migration step.
    assert (await migrate(app)).applied == []


def test_the_cli_runs_as_the_app_role_and_db_grant_says_what_it_did(
    db_dsn: str, app_role: str
) -> None:
    granted = alertd("db", "grant", "--app-role", app_role, dsn=db_dsn)
    assert granted.returncode == 0, granted.stderr
    assert f"role {app_role} may now read and write" in granted.stdout
    as_app = dsn_as(db_dsn, app_role)
    assert alertd("tenants", "load-sample", dsn=as_app).returncode == 0
    verified = alertd("audit", "verify", dsn=as_app)
    assert verified.returncode == 0, verified.stderr
    assert "audit log intact" in verified.stdout
    status = alertd("db", "status", dsn=as_app)
    assert f"role: {app_role}\n" in status.stdout
    assert "owns the schema" in alertd("db", "status", dsn=db_dsn).stdout
    # The app role cannot give itself rights.
    again = alertd("db", "grant", "--app-role", app_role, dsn=as_app)
    assert again.returncode == 65 and "run this as the role that owns" in again.stderr


def test_db_grant_names_a_missing_role(db_dsn: str) -> None:
    result = alertd("db", "grant", "--app-role", "no_such_role_here", dsn=db_dsn)
    assert result.returncode == 66
    assert "role no_such_role_here does not exist" in result.stderr


async def test_verify_finds_an_edit_a_gap_and_a_cut_tail(pool: asyncpg.Pool, db_dsn: str) -> None:
    for n in range(1, 6):
        await audit.record(pool, actor="cli:test", action="test.entry", details={"n": n})
    found = await _verify(pool)
    assert (found.ok, found.entries, found.head_seq) == (True, 5, 5)
    # What only a superuser or the owner can do, and the chain still shows.
    await pool.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
    await pool.execute("UPDATE audit_log SET details = '{\"n\": 99}' WHERE seq = 2")
    found = await _verify(pool)
    assert found.problem is not None and "entry 2" in found.problem and "changed" in found.problem
    cli = alertd("audit", "verify", dsn=db_dsn)
    assert cli.returncode == 65 and "the audit log is not intact" in cli.stderr
    await pool.execute("UPDATE audit_log SET details = '{\"n\": 2}' WHERE seq = 2")
    assert (await _verify(pool)).ok
    await pool.execute("DELETE FROM audit_log WHERE seq = 3")
    found = await _verify(pool)
    assert found.problem is not None and "entry 3 is missing" in found.problem
    await pool.execute("DELETE FROM audit_log WHERE seq >= 3")
    found = await _verify(pool)
    assert found.problem is not None and "the last entries were removed" in found.problem


async def test_truncate_is_refused_even_to_the_owner(pool: asyncpg.Pool) -> None:
    await audit.record(pool, actor="cli:test", action="test.entry")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await pool.execute("TRUNCATE audit_log")


async def test_entries_written_before_the_chain_are_chained_by_the_migration(
    empty_dsn: str,
) -> None:
    migrations = load_migrations()
    chain = next(m for m in migrations if m.name == "audit_chain")
    conn = await _connect(empty_dsn)
    try:
        await migrate(conn, [m for m in migrations if m.version < chain.version])
        for action in ("old.one", "old.two"):
            await conn.execute(
                "INSERT INTO audit_log (actor, action, details) VALUES ('cli:x', $1, '{}')", action
            )
        await migrate(conn, migrations)
        await audit.record(conn, actor="cli:x", action="new.one")
        found = await audit.verify(conn)
        assert (found.ok, found.entries) == (True, 3)
        actions = await conn.fetch("SELECT action FROM audit_log ORDER BY seq")
        assert [r["action"] for r in actions] == ["old.one", "old.two", "new.one"]
    finally:
        await conn.close()


async def _verify(pool: asyncpg.Pool) -> audit.Verification:
    async with pool.acquire() as conn:
        return await audit.verify(conn)
