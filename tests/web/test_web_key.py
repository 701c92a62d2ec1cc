"""The pages' secret is one per database, even for processes that start at the same moment."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from alertd.web import flows

THEIRS = bytes(range(32))


async def test_a_key_inserted_by_another_process_meanwhile_is_the_one_read(
    pool: asyncpg.Pool,
) -> None:
    other = await pool.acquire()
    try:
        tx = other.transaction()
        await tx.start()
        await other.execute(
            "INSERT INTO web_keys (name, key) VALUES ($1, $2)", flows.KEY_NAME, THEIRS
        )
        # Ours now waits on their row's uncommitted insert (its snapshot taken before).
        ours = asyncio.create_task(flows.web_key(pool))
        deadline = time.monotonic() + 10
        while not await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        ):
            assert time.monotonic() < deadline and not ours.done()
            await asyncio.sleep(0.01)
        await tx.commit()
    finally:
        await pool.release(other)
    assert await asyncio.wait_for(ours, 10) == THEIRS
    assert await flows.web_key(pool) == THEIRS
