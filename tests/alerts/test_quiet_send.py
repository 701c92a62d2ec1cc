"""Quiet hours hold information sent by hand, not only scheduled notices: a waste notice sent at
23:00 was refused only when scheduled; sent at once, it woke residents. Life-safety ignores them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from alertd.alerts import lifecycle
from alertd.alerts.quiet import check_send_now
from alertd.errors import ConflictError
from tests.support.alert_world import DUNKERQUE, World, build_world, circle, draft

NEAR_ZONE = circle(DUNKERQUE, 500)  # the 40 near residents
WASTE = {"sector": "Rosendaël", "date": "demain", "reason": "grève", "sender": "CUD"}
PARIS = ZoneInfo("Europe/Paris")


def _row(severity: str, start: time | None, end: time | None) -> dict[str, Any]:
    return {
        "id": 7,
        "severity": severity,
        "quiet_start": start,
        "quiet_end": end,
        "timezone": "Europe/Paris",
        "tenant_name": "Dunkerque",
    }


@pytest.mark.parametrize(
    ("utc", "held"),
    [
        ("2026-12-01T21:59", True),  # 22:59 in Paris, winter
        ("2026-12-01T06:29", True),  # 07:29
        ("2026-12-01T06:30", False),  # 07:30: the end is not in them
        ("2026-12-01T19:59", False),  # 20:59
        ("2026-07-01T19:00", True),  # 21:00 summer time: the start is
    ],
)
def test_inside_the_quiet_hours_across_midnight_in_the_tenants_time(utc: str, held: bool) -> None:
    now = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    row = _row("information", time(21), time(7, 30))
    if held:
        with pytest.raises(ConflictError, match=r"quiet hours \(21:00-07:30\).*after 07:30"):
            check_send_now(row, now)
    else:
        check_send_now(row, now)


def test_life_safety_and_a_tenant_without_quiet_hours_are_never_held() -> None:
    night = datetime(2026, 12, 1, 23, tzinfo=UTC)
    check_send_now(_row("life_safety", time(21), time(7, 30)), night)
    check_send_now(_row("information", None, None), night)


@pytest.fixture
async def world(loaded: asyncpg.Pool) -> World:
    built = await build_world(loaded)
    await loaded.execute("UPDATE subscribers SET topics = '{dechets}'")
    # Quiet hours around this very moment, in Dunkerque's time.
    local = datetime.now(PARIS)
    start = (local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    await loaded.execute(
        "UPDATE tenants SET quiet_start = $1, quiet_end = $2 WHERE code = '59183'", start, end
    )
    return built


async def _waste(w: World) -> int:
    notice = lifecycle.Draft("waste_disrupted", WASTE, geometry=NEAR_ZONE, topics=["dechets"])
    return await lifecycle.create(w.ctx, w.officer, notice, "t")


async def _deliveries(w: World) -> int:
    return int(await w.ctx.pool.fetchval("SELECT count(*) FROM deliveries"))


async def test_information_sent_by_hand_in_quiet_hours_is_refused_and_left_a_draft(
    world: World,
) -> None:
    alert_id = await _waste(world)
    with pytest.raises(ConflictError, match=r"inside its quiet hours.*alertd schedule create"):
        await lifecycle.send(world.ctx, world.officer, alert_id, "t")
    status = await world.ctx.pool.fetchval("SELECT status FROM alerts WHERE id = $1", alert_id)
    assert (status, await _deliveries(world)) == ("draft", 0)
    await world.ctx.pool.execute("UPDATE tenants SET quiet_start = NULL, quiet_end = NULL")
    sent = await lifecycle.send(world.ctx, world.officer, alert_id, "t")
    assert (sent.status, sent.recipients, await _deliveries(world)) == ("sent", 40, 40)


async def test_a_life_safety_alert_in_quiet_hours_goes_at_once(world: World) -> None:
    alert_id = await lifecycle.create(world.ctx, world.officer, draft(NEAR_ZONE), "t")
    sent = await lifecycle.send(world.ctx, world.officer, alert_id, "t")
    assert (sent.status, await _deliveries(world)) == ("sent", 40)


async def test_approving_information_in_quiet_hours_is_refused_and_it_stays_pending(
    world: World,
) -> None:
    await world.ctx.pool.execute("UPDATE tenants SET quiet_start = NULL, quiet_end = NULL")
    await world.ctx.pool.execute("UPDATE tenants SET approval_threshold = 10")
    alert_id = await _waste(world)
    asked = await lifecycle.send(world.ctx, world.officer, alert_id, "t")
    assert asked.status == "pending_approval"
    local = datetime.now(PARIS)
    await world.ctx.pool.execute(
        "UPDATE tenants SET quiet_start = $1, quiet_end = $2",
        (local - timedelta(hours=1)).time(),
        (local + timedelta(hours=1)).time(),
    )
    with pytest.raises(ConflictError, match="quiet hours"):
        await lifecycle.approve(world.ctx, world.approver, alert_id, "t")
    status = await world.ctx.pool.fetchval("SELECT status FROM alerts WHERE id = $1", alert_id)
    assert (status, await _deliveries(world)) == ("pending_approval", 0)


async def test_the_schedulers_firing_is_not_held_again(world: World) -> None:
    """Its due time was moved out of the quiet hours by its rule; a late firing goes."""
    alert_id = await _waste(world)
    sent = await lifecycle.send(world.ctx, world.officer, alert_id, "t", quiet_hours=False)
    assert (sent.status, await _deliveries(world)) == ("sent", 40)
