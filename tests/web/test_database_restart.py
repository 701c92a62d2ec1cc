"""PostgreSQL restarted under the sign-up pages (a PostgreSQL of the test's own): while it is
down a resident gets a page in words (503, "try again in a few minutes"), never a traceback nor
a bare 500; once it is back the pages' pool makes new connections and the same resident signs
up, without the pages being restarted."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from alertd.config import Config, with_overrides
from alertd.store.database import create_pool
from alertd.store.migrate import migrate
from alertd.tenants import load_territory
from tests.support.own_postgres import own_postgres
from tests.web.client import Resident
from tests.web.site import site

PHONE = "+33612345678"
FORM = {"phone": "06 12 34 56 78", "postcode": "59140", "language": "fr"}


@pytest.mark.timeout(180)
async def test_the_pages_across_a_postgresql_restart(config: Config) -> None:
    async with own_postgres() as (server, dsn):
        cfg = with_overrides(config, database={"url": dsn, "pool_min": 1, "pool_max": 4})
        pool = await create_pool(dsn, cfg.database)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
            await load_territory(pool, "test")
            async with site(cfg, pool) as s:
                r = Resident(s.url)
                try:
                    await r.get("/fr/subscribe")
                    assert (await r.post("/fr/subscribe", FORM))[0] == 200
                    await asyncio.to_thread(server.stop)
                    with capture_logs() as logs:
                        status, body, _ = await r.post(
                            "/fr/subscribe/choices", {**FORM, "consent": "yes"}
                        )
                    assert status == 503, body
                    assert "Réessayez dans quelques minutes" in body
                    events = [e["event"] for e in logs]
                    assert "signup.unavailable" in events
                    assert "signup.bug" not in events and "signup.failed" not in events
                    await asyncio.to_thread(server.start)
                    # The resident tries again: the form, then the code, then done.
                    with capture_logs() as after:
                        await r.get("/fr/subscribe")
                        assert (await r.post("/fr/subscribe", FORM))[0] == 200
                        status, body, path = await r.post(
                            "/fr/subscribe/choices", {**FORM, "consent": "yes"}
                        )
                        assert (status, path) == (200, "/fr/code"), body
                        code = await s.phones.code_for(PHONE, 0)
                        status, body, path = await r.post("/fr/code", {"code": code})
                        assert (status, path) == (200, "/fr/done"), body
                    assert [e for e in after if e["log_level"] == "error"] == []
                finally:
                    await r.close()
            assert (
                await pool.fetchval("SELECT status FROM subscribers WHERE phone = $1", PHONE)
                == "active"
            )
        finally:
            await pool.close()
