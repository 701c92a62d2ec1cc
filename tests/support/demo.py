"""The database the demo uses next to a test's own (``<name>_demo``), dropped afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from alertd.config import load_config
from alertd.store.database import dsn_for
from alertd.tools.demo import demo_database


@pytest.fixture
async def demo_dsn(db_dsn: str) -> AsyncIterator[str]:
    name = demo_database(load_config({"DATABASE_URL": db_dsn}))
    yield dsn_for(db_dsn, name)
    admin = await asyncpg.connect(dsn_for(db_dsn, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
