"""/v1/schedules: previewed with their next firings, saved, read, paused; roles and territory."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from alertd.alerts.hazard_zones import make_circle, save_zone
from tests.api.conftest import Tokens, auth
from tests.support.alert_world import DUNKERQUE

Client = TestClient[Any, Any]
PARAMS = {"sector": "secteur 4", "date": "demain", "reason": "grève", "sender": "CUD"}


async def _sector(pool: asyncpg.Pool) -> int:
    zone = make_circle(DUNKERQUE[0], DUNKERQUE[1], 600.0)
    stored = await save_zone(pool, zone, tenant="59183", kind="waste_sector", name="S4", actor="t")
    await pool.execute("UPDATE subscribers SET topics = '{dechets}'")
    return stored.id


def _body(sector: int, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Collecte du lundi",
        "template": "waste_disrupted",
        "params": PARAMS,
        "zone_ids": [sector],
        "topics": ["dechets"],
        "cron": "0 19 * * mon",
        "skip_holidays": True,
        "except_dates": ["2030-01-07"],
        **changes,
    }


async def test_a_schedule_is_previewed_saved_read_and_paused(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    sector = await _sector(loaded)
    officer = auth(tokens.officer)
    resp = await client.post("/v1/schedules/preview", json=_body(sector), headers=officer)
    assert resp.status == 200, await resp.text()
    plan = await resp.json()
    assert len(plan["next_firings"]) == 5 and plan["recipients_now"] == 40
    assert await loaded.fetchval("SELECT count(*) FROM schedules") == 0  # a preview stores nothing
    resp = await client.post("/v1/schedules", json=_body(sector), headers=officer)
    assert resp.status == 201, await resp.text()
    made = await resp.json()
    assert made["created_by"] == "Officier" and made["status"] == "active"
    listed = await (await client.get("/v1/schedules", headers=auth(tokens.viewer))).json()
    assert [s["id"] for s in listed] == [made["id"]]
    shown = await client.get(f"/v1/schedules/{made['id']}", headers=officer)
    assert (await shown.json())["next_firings"] == made["next_firings"]
    paused = await client.post(f"/v1/schedules/{made['id']}/pause", json={}, headers=officer)
    assert (await paused.json())["status"] == "paused"
    again = await client.post(f"/v1/schedules/{made['id']}/pause", json={}, headers=officer)
    assert again.status == 409


async def test_bad_schedules_and_strangers_get_clear_4xx(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    sector = await _sector(loaded)
    officer = auth(tokens.officer)
    for body, status in (
        (_body(sector, cron="61 * * * *"), 400),
        (_body(sector, timezone="Mars/Olympus"), 400),
        (_body(sector, except_dates=["2030-13-01"]), 400),
        ({**_body(sector), "run_at": "tomorrow 06:30"}, 400),  # both once and recurring
        (_body(sector, cron=None), 422),
    ):
        resp = await client.post("/v1/schedules", json=body, headers=officer)
        assert resp.status == status, (body, await resp.text())
        assert "traceback" not in (await resp.text()).lower()
    resp = await client.post("/v1/schedules", json=_body(sector), headers=auth(tokens.viewer))
    assert resp.status == 403
    made = await (await client.post("/v1/schedules", json=_body(sector), headers=officer)).json()
    resp = await client.get(f"/v1/schedules/{made['id']}", headers=auth(tokens.gravelines))
    assert resp.status == 403
    assert await loaded.fetchval("SELECT count(*) FROM schedules") == 1


async def test_an_admin_sets_quiet_hours_and_a_late_notice_waits_for_the_morning(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    sector = await _sector(loaded)
    url = "/v1/tenants/59183/quiet-hours"
    refused = await client.post(url, json={"hours": "21:00-07:30"}, headers=auth(tokens.officer))
    assert refused.status == 403
    bad = await client.post(url, json={"hours": "21h-7h"}, headers=auth(tokens.admin))
    assert bad.status == 400 and "HH:MM-HH:MM" in (await bad.json())["detail"]
    resp = await client.post(
        url, json={"hours": "21:00-07:30", "policy": "defer"}, headers=auth(tokens.admin)
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["quiet_hours"] == "21:00-07:30"
    kept = await client.post(url, json={"policy": "defer"}, headers=auth(tokens.admin))
    assert (await kept.json())["quiet_hours"] == "21:00-07:30"  # absent: unchanged
    body = _body(sector, cron=None)
    del body["cron"], body["skip_holidays"], body["except_dates"]
    body["run_at"] = "2030-01-08 22:00"
    plan = await client.post("/v1/schedules/preview", json=body, headers=auth(tokens.officer))
    (firing,) = (await plan.json())["next_firings"]
    assert firing["fire_time"].startswith("2030-01-08 21:00")  # 22:00 in Paris, in UTC
    assert firing["due_at"].startswith("2030-01-09 06:30")  # 07:30 in Paris, the next morning
    none = await client.post(url, json={"hours": None}, headers=auth(tokens.admin))
    assert (await none.json())["quiet_hours"] is None
