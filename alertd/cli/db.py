"""``alertd db …``: the schema's migrations."""

from __future__ import annotations

import argparse

from alertd.cli.util import command, out, subcommands
from alertd.config import Config
from alertd.store.database import open_database, redact_url
from alertd.store.migrate import applied_versions, load_migrations, migrate


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


async def db_status(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config, migrate_now=False) as db:
        async with db.pool.acquire() as conn:
            applied = await applied_versions(conn)
        where = f"embedded, {config.database.data_dir}" if db.embedded else redact_url(db.dsn)
    out(f"database: {where}")
    for m in load_migrations():
        out(f"  {m.version:04d}_{m.name}: {'applied' if m.version in applied else 'PENDING'}")
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    db = subcommands(parser)
    command(db, "migrate", db_migrate, "apply pending schema migrations (safe to run twice)")
    command(db, "status", db_status, "show applied and pending migrations")
