"""Versioned SQL migrations, applied in order, each in its own transaction.

Files are ``alertd/migrations/NNNN_name.sql``. Applied versions are recorded in
``schema_migrations`` with a checksum, so an edited migration is caught rather than silently
diverging. A session-level advisory lock serialises concurrent starts: two daemons starting at once
both succeed, one applies, the other finds nothing left to do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from alertd.errors import MigrationError
from alertd.store.types import Conn

# Arbitrary but fixed: 'alertd' in ASCII. Every alertd process takes the same lock.
MIGRATION_LOCK_KEY = 0x616C65727464
_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""

# The daemons name their connections so (alertd.delivery.daemon): the migration can see them.
DAEMON_NAME = "alertd serve"
_RUNNING_DAEMONS = """
SELECT array_agg(DISTINCT application_name ORDER BY application_name) FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE $1
  AND application_name <> current_setting('application_name')
"""
_RECORD = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """The migrations shipped with this alertd, in version order."""
    found = []
    for entry in resources.files("alertd.store").joinpath("migrations").iterdir():
        match = _FILE_RE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migrations are not numbered 1..n without gaps: {versions}")
    return found


@dataclass(frozen=True, slots=True)
class MigrationReport:
    applied: list[Migration]
    current_version: int


async def migrate(conn: Conn, migrations: list[Migration] | None = None) -> MigrationReport:
    """Bring the schema up to date. Safe to call concurrently from several processes."""
    migrations = load_migrations() if migrations is None else migrations
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        try:
            # Nothing pending: no DDL at all, so the application's role (which may not create
            # anything) starts on an up-to-date schema.
            if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
                await conn.execute(_CREATE_TABLE)
            done = {r["version"]: r for r in await conn.fetch("SELECT * FROM schema_migrations")}
        except asyncpg.PostgresError as exc:
            raise MigrationError(
                f"cannot record migrations in this database: {exc}; the role in DATABASE_URL "
                "must own the database (or have CREATE on schema public)"
            ) from exc
        _check_applied(done, migrations)
        if done and any(m.version not in done for m in migrations):
            await _refuse_under_running_daemons(conn)
        applied = []
        for m in migrations:
            if m.version in done:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(_RECORD, m.version, m.name, m.checksum)
            except asyncpg.InsufficientPrivilegeError as exc:
                raise MigrationError(
                    f"migration {m.version:04d}_{m.name} needs the owner of the schema: "
                    f"{exc}; run `alertd db migrate` connected as the owner role (the "
                    "application's role may not change the schema)"
                ) from exc
            except asyncpg.PostgresError as exc:
                raise MigrationError(
                    f"migration {m.version:04d}_{m.name} failed and was rolled back: {exc}"
                ) from exc
            applied.append(m)
        return MigrationReport(applied, migrations[-1].version if migrations else 0)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


async def _refuse_under_running_daemons(conn: Conn) -> None:
    """A daemon of the previous version would go on running its SQL against the new schema (its
    claims and hand-overs fenced by columns it does not write): upgrades stop every daemon first."""
    running = await conn.fetchval(_RUNNING_DAEMONS, DAEMON_NAME + " %")
    if running:
        raise MigrationError(
            f"{len(running)} alertd daemon(s) still use this database ({', '.join(running)}): "
            "stop every `alertd serve` before upgrading the schema, then start them again"
        )


async def applied_versions(conn: Conn) -> set[int]:
    if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        return set()
    return {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}


async def check_schema(conn: Conn, migrations: list[Migration] | None = None) -> None:
    """Refuse to run on a schema that is not exactly the one this alertd knows."""
    migrations = load_migrations() if migrations is None else migrations
    if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        raise MigrationError(
            "this database has no alertd schema: run `alertd db migrate` "
            "(database.migrate_on_start is off)"
        )
    done = {r["version"]: r for r in await conn.fetch("SELECT * FROM schema_migrations")}
    _check_applied(done, migrations)
    pending = [m for m in migrations if m.version not in done]
    if pending:
        raise MigrationError(
            f"{len(pending)} schema migration(s) pending, first {pending[0].version:04d}_"
            f"{pending[0].name}: run `alertd db migrate` (database.migrate_on_start is off)"
        )


def _check_applied(done: dict[int, asyncpg.Record], migrations: list[Migration]) -> None:
    known = {m.version: m for m in migrations}
    newer = sorted(v for v in done if v not in known)
    if newer:
        raise MigrationError(
            f"the database schema is at version {max(newer)}, newer than this alertd knows "
            f"({max(known, default=0)}): upgrade alertd before starting it on this database"
        )
    for version, row in done.items():
        if row["checksum"] != known[version].checksum:
            raise MigrationError(
                f"migration {version:04d}_{row['name']} was changed after it was applied; "
                "ship schema changes as a new migration file instead"
            )
