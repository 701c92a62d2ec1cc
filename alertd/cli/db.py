"""``alertd db …``: the schema's migrations."""

from __future__ import annotations

import argparse

from alertd.cli.util import command, out, subcommands
from alertd.config import Config
from alertd.store.database import open_database, redact_url
from alertd.store.migrate import applied_versions, load_migrations, migrate
from alertd.store.roles import grant_app_role


async def db_migrate(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config, migrate_now=False) as db, db.pool.acquire() as conn:
        report = await migrate(conn)
    if report.applied:
        for m in report.applied:
            out(f"applied {m.version:04d}_{m.name}")
    out(
        f"schema at version {report.current_version}"
        + ("" if report.applied else " (already up to date, nothing changed)")
    )
    return 0


_ROLE = """
SELECT current_user AS me,
       coalesce((SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class
                 WHERE oid = to_regclass('audit_log')), false) AS owns_audit
"""
_OWNER_NOTE = (
    " (owns the schema: right for migrations; the daemon and the CLI should connect as the "
    "application's role, see `alertd db grant`)"
)


async def db_status(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config, migrate_now=False) as db:
        async with db.pool.acquire() as conn:
            applied = await applied_versions(conn)
            role = await conn.fetchrow(_ROLE)
        where = f"embedded, {config.database.data_dir}" if db.embedded else redact_url(db.dsn)
    out(f"database: {where}")
    if role is not None:
        out(f"role: {role['me']}" + (_OWNER_NOTE if role["owns_audit"] else ""))
    for m in load_migrations():
        out(f"  {m.version:04d}_{m.name}: {'applied' if m.version in applied else 'PENDING'}")
    return 0


async def db_grant(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config, migrate_now=True) as db, db.pool.acquire() as conn:
        grant = await grant_app_role(conn, args.app_role)
    out(
        f"role {grant.role} may now read and write the data of {grant.database} "
        f"({grant.tables} tables), only insert into and read the audit log, and change no "
        f"schema; {grant.owner} keeps the schema and runs the migrations"
    )
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    db = subcommands(parser)
    p = command(
        db,
        "grant",
        db_grant,
        "as the owner role: give the application's role (which the daemon and CLI use) its "
        "rights, and no more (safe to run twice)",
    )
    p.add_argument("--app-role", required=True, metavar="ROLE", help="e.g. alertd_app")
    command(db, "migrate", db_migrate, "apply pending schema migrations (safe to run twice)")
    command(db, "status", db_status, "show applied and pending migrations")
