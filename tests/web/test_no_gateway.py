"""No gateway can take the code's SMS: the page answers as for any number (the code page: it
must not tell, by its words or its speed, whether a number is known), the failure is logged for
the duty officer with the number masked, nothing but the pending code is written, and "send me
a new code" works once a gateway is back."""

from __future__ import annotations

import asyncio

import asyncpg
from structlog.testing import capture_logs

from alertd.config import Config
from tests.web.client import Resident
from tests.web.site import Site, site

PHONE = "+33612345678"


async def _not_sent(s: Site, logs: list[dict[str, object]]) -> None:
    """Until the sender has given up (the phones' gateway wakes us after each attempt, and the
    sender logs before it yields again)."""
    async with s.phones._arrived:
        await asyncio.wait_for(
            s.phones._arrived.wait_for(
                lambda: any(e["event"] == "signup.code_not_sent" for e in logs)
            ),
            10.0,
        )


async def test_a_code_no_gateway_takes_leaves_nothing_half_written(
    config: Config, loaded: asyncpg.Pool
) -> None:
    async with site(config, loaded) as s:
        s.phones.outage = True
        r = Resident(s.url)
        try:
            await r.get("/fr/subscribe")
            form = {"phone": "06 12 34 56 78", "postcode": "59140", "language": "fr"}
            assert (await r.post("/fr/subscribe", form))[0] == 200
            with capture_logs() as logs:
                status, body, path = await r.post(
                    "/fr/subscribe/choices", {**form, "consent": "yes"}
                )
                await _not_sent(s, logs)
            assert (status, path) == (200, "/fr/code"), body
            assert s.phones.to(PHONE) == []
            failed = next(e for e in logs if e["event"] == "signup.code_not_sent")
            assert "612345678" not in repr(logs)
            assert failed["log_level"] == "error"
            assert await s.pool.fetchval("SELECT count(*) FROM subscribers") == 0
            assert (
                await s.pool.fetchval(
                    "SELECT count(*) FROM signup_flows WHERE phone = $1 AND confirmed_at IS NULL",
                    PHONE,
                )
                == 1
            )
            s.phones.outage = False
            status, _, path = await r.post("/fr/code/new", {})
            assert (status, path) == (200, "/fr/code")
            code = await s.phones.code_for(PHONE, 0)
            status, _, path = await r.post("/fr/code", {"code": code})
            assert (status, path) == (200, "/fr/done")
            assert (
                await s.pool.fetchval("SELECT status FROM subscribers WHERE phone = $1", PHONE)
                == "active"
            )
        finally:
            await r.close()
