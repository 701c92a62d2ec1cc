"""Benchmarks. Each prints one JSON line with its figures and the baseline measured in the same run.

``import``: N synthetic subscribers through ``alertd subscribers import`` (phone parsing with
libphonenumber, every check, dedupe, COPY, upsert), then the same file again (nothing changes), and
the floor: the same file loaded by PostgreSQL's own COPY into a plain table with no check at all.
It runs in a scratch database created and dropped on the configured server.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from alertd import tenants
from alertd.config import Config, with_overrides
from alertd.errors import DatabaseError
from alertd.store.database import connect, dsn_for, open_database
from alertd.subscribers import importer
from alertd.tools.synthetic import synthetic_rows, write_csvs

_BASELINE_TABLE = """
CREATE TABLE baseline_subscribers (
    phone text, postcode text, address text, lon double precision, lat double precision,
    language text, topics text)
"""


@asynccontextmanager
async def scratch_database(dsn: str, name: str) -> AsyncIterator[None]:
    """A database created on the server for one benchmark, dropped afterwards."""
    await _drop_create(dsn, name, create=True)
    try:
        yield
    finally:
        await _drop_create(dsn, name, create=False)


async def _drop_create(dsn: str, name: str, create: bool) -> None:
    conn = await connect(dsn_for(dsn, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await conn.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.PostgresError as exc:
        raise DatabaseError(f"the benchmark needs to create a scratch database: {exc}") from exc
    finally:
        await conn.close()


async def import_benchmark(config: Config, rows: int, keep: bool) -> dict[str, Any]:
    name = f"alertd_bench_{os.getpid()}"
    async with (
        open_database(config, migrate_now=False) as server,
        scratch_database(server.dsn, name),
    ):
        scratch = with_overrides(config, database={"url": dsn_for(server.dsn, name)})
        return await _run_import(scratch, rows, keep)


async def _run_import(config: Config, rows: int, keep: bool) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="alertd-bench-"))
    try:
        return await _measure_import(config, rows, folder, keep)
    finally:
        if not keep:
            await asyncio.to_thread(shutil.rmtree, folder, True)


async def _measure_import(config: Config, rows: int, folder: Path, keep: bool) -> dict[str, Any]:
    parent, communes = tenants.sample_territory()
    async with open_database(config) as db:
        await tenants.load_territory(db.pool, "bench")
        started = time.perf_counter()
        # Every resident under the intercommunality, so one file holds them all.
        rows_iter = ((parent.code, row) for _, row in synthetic_rows(rows, communes))
        path = (await asyncio.to_thread(write_csvs, folder, rows_iter))[parent.code]
        generate_s = time.perf_counter() - started

        first = await importer.import_csv(db.pool, path, parent.code, config.subscribers, "bench")
        again = await importer.import_csv(db.pool, path, parent.code, config.subscribers, "bench")

        await db.pool.execute(_BASELINE_TABLE)
        started = time.perf_counter()
        async with db.pool.acquire() as conn:
            await conn.copy_to_table("baseline_subscribers", source=path, format="csv", header=True)
        baseline_s = time.perf_counter() - started
        stored = await db.pool.fetchval("SELECT count(*) FROM subscribers")
    return {
        "benchmark": "subscribers_import",
        "rows": rows,
        "stored": stored,
        "seconds": round(first.seconds, 2),
        "rows_per_second": round(first.rows_per_second),
        "rejected": len(first.rejected),
        "reimport_seconds": round(again.seconds, 2),
        "reimport_unchanged": again.unchanged,
        "baseline": "COPY FROM STDIN of the same CSV into a plain table, no checks",
        "baseline_seconds": round(baseline_s, 2),
        "baseline_rows_per_second": round(rows / baseline_s) if baseline_s else None,
        "ratio_to_baseline": round(first.seconds / baseline_s, 2) if baseline_s else None,
        "workers": config.subscribers.import_workers,
        "generate_csv_seconds": round(generate_s, 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "max_rss_worker_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "csv": str(path) if keep else None,
    }
