"""Test fixtures: a real PostgreSQL, one fresh migrated database per test.

The server is the one in DATABASE_URL when set (CI points it at the machine's PostgreSQL), else an
embedded one started once for the session. The schema is migrated once into a template database;
each test gets ``CREATE DATABASE … TEMPLATE``, which copies files instead of replaying migrations.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from alertd.config import Config, DatabaseConfig, load_config, with_overrides
from alertd.store.database import EmbeddedPostgres, create_pool, dsn_for
from alertd.store.migrate import migrate

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    """A DSN for an administrative connection to the test server."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="alertd-test-pg-"))
    server = EmbeddedPostgres(folder / "data")
    server.start()
    try:
        yield server.uri("postgres")
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def _admin(server_dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn_for(server_dsn, "postgres"))


@pytest.fixture(scope="session")
async def template_db(server_dsn: str) -> AsyncIterator[str]:
    name = f"alertd_tpl_{os.getpid()}"
    admin = await _admin(server_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(dsn_for(server_dsn, name))
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield name
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def _scratch_database(server_dsn: str, template: str | None) -> AsyncIterator[str]:
    name = f"alertd_t_{uuid.uuid4().hex[:12]}"
    admin = await _admin(server_dsn)
    try:
        suffix = f' TEMPLATE "{template}"' if template else ""
        await admin.execute(f'CREATE DATABASE "{name}"{suffix}')
        yield dsn_for(server_dsn, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def db_dsn(server_dsn: str, template_db: str) -> AsyncIterator[str]:
    """A DSN to a fresh, migrated database of this test's own."""
    async with _scratch_database(server_dsn, template_db) as dsn:
        yield dsn


@pytest.fixture
async def empty_dsn(server_dsn: str) -> AsyncIterator[str]:
    """A DSN to an empty database (no schema), for migration tests."""
    async with _scratch_database(server_dsn, None) as dsn:
        yield dsn


@pytest.fixture
def config(db_dsn: str) -> Config:
    base = load_config({})
    return with_overrides(base, database={"url": db_dsn, "pool_min": 1, "pool_max": 4})


@pytest.fixture
async def pool(config: Config) -> AsyncIterator[asyncpg.Pool]:
    db: DatabaseConfig = config.database
    assert db.url is not None
    pool = await create_pool(db.url, db)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared test data folder {SHARED_DATA} is absent (a fresh clone)")
    return SHARED_DATA


@pytest.fixture
async def loaded(pool: asyncpg.Pool) -> asyncpg.Pool:
    """A pool on a database holding the sample territory (the CUD and its 17 communes)."""
    from alertd.tenants import load_territory

    await load_territory(pool, "test")
    return pool


@pytest.fixture
def fake_provider(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """`alertd fake-provider` as its own process (account ACtest, token tok): its port, and the
    log where it appends every message it accepts."""
    from tests.support.provider import provider_process

    log = tmp_path / "accepted.jsonl"
    with provider_process(log) as port:
        yield port, log
