"""Issue 14, cases 6 and 10: expiry counts from sending, an alert that waited past it is refused;
topics are a list per tenant, information alerts reach only those who chose the topic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from alertd import tenants
from alertd.alerts import lifecycle
from alertd.errors import ConflictError, InputError
from tests.support.alert_world import DUNKERQUE, World, build_world, circle, draft

NEAR_ZONE = circle(DUNKERQUE, 500)  # the 40 near residents
WIDE_ZONE = circle(DUNKERQUE, 2_500)  # 60
SIX_HOURS = timedelta(hours=6)


@pytest.fixture
async def world(loaded: asyncpg.Pool) -> World:
    built = await build_world(loaded)
    await loaded.execute("UPDATE tenants SET approval_threshold = 50 WHERE code = '59183'")
    return built


async def _drafted_ago(w: World, zone: dict[str, object], ago: timedelta) -> int:
    alert_id = await lifecycle.create(w.ctx, w.officer, draft(zone), "t")
    await w.ctx.pool.execute(
        "UPDATE alerts SET created_at = created_at - $2::interval WHERE id = $1", alert_id, ago
    )
    return alert_id


async def test_expiry_counts_from_sending_and_the_preview_says_until_when(world: World) -> None:
    """Case 6: drafted 2 h before it was sent, a 6 h alert is valid 6 h after the send."""
    alert_id = await _drafted_ago(world, NEAR_ZONE, timedelta(hours=2))
    shown = await lifecycle.preview(world.ctx, world.officer, alert_id)
    assert shown.expires_at is not None and shown.timezone == "Europe/Paris"
    assert abs(shown.expires_at - (datetime.now(UTC) + SIX_HOURS)) < timedelta(minutes=1)
    await lifecycle.send(world.ctx, world.officer, alert_id, "t")
    row = await world.ctx.pool.fetchrow("SELECT sent_at, expires_at FROM alerts")
    assert row["expires_at"] - row["sent_at"] == SIX_HOURS


async def test_an_alert_that_waited_for_approval_past_its_validity_is_refused(
    world: World,
) -> None:
    """Case 6: it was sent, failed as expired, with no reason."""
    alert_id = await _drafted_ago(world, WIDE_ZONE, timedelta())
    assert (await lifecycle.send(world.ctx, world.officer, alert_id, "t")).status == (
        "pending_approval"
    )
    await world.ctx.pool.execute(
        "UPDATE alerts SET created_at = created_at - interval '7 hours' WHERE id = $1", alert_id
    )
    with pytest.raises(ConflictError, match=r"waited longer than its validity \(6 h\)"):
        await lifecycle.approve(world.ctx, world.approver, alert_id, "t")
    assert await world.ctx.pool.fetchval("SELECT count(*) FROM deliveries") == 0
    late = await _drafted_ago(world, NEAR_ZONE, timedelta(hours=7))
    with pytest.raises(ConflictError, match="out of date"):
        await lifecycle.send(world.ctx, world.officer, late, "t")


async def test_information_goes_only_to_those_who_chose_its_topic(world: World) -> None:
    """Case 10: a resident with no topics received every information alert."""
    chose = world.near[:10]
    await world.ctx.pool.execute(
        "UPDATE subscribers SET topics = '{dechets}' WHERE id = ANY($1::bigint[])", chose
    )
    params = {"sector": "Rosendaël", "date": "demain", "reason": "grève", "sender": "CUD"}
    waste = lifecycle.Draft("waste_disrupted", params, geometry=NEAR_ZONE, topics=["dechets"])
    alert_id = await lifecycle.create(world.ctx, world.officer, waste, "t")
    assert (await lifecycle.preview(world.ctx, world.officer, alert_id)).recipients == 10
    with pytest.raises(InputError, match=r"unknown topic\(s\) dechetz"):
        await lifecycle.create(
            world.ctx,
            world.officer,
            lifecycle.Draft(waste.template, waste.params, geometry=NEAR_ZONE, topics=["dechetz"]),
            "t",
        )
    with pytest.raises(InputError, match="give --topic"):
        await lifecycle.create(
            world.ctx,
            world.officer,
            lifecycle.Draft(waste.template, waste.params, geometry=NEAR_ZONE),
            "t",
        )
    # Life-safety reaches everyone inside, whatever their topics.
    danger = await lifecycle.create(world.ctx, world.officer, draft(NEAR_ZONE), "t")
    assert (await lifecycle.preview(world.ctx, world.officer, danger)).recipients == 40


async def test_a_tenant_sets_its_own_list_of_topics(world: World) -> None:
    topics = await tenants.set_topics(world.ctx.pool, "245900428", "Marche, dechets", "t")
    assert topics == ("dechets", "marche")
    params = {"sector": "Centre", "date": "demain", "reason": "marché", "sender": "CUD"}
    with pytest.raises(InputError, match=r"unknown topic\(s\) travaux"):
        await lifecycle.create(
            world.ctx,
            world.officer,
            lifecycle.Draft("waste_disrupted", params, geometry=NEAR_ZONE, topics=["travaux"]),
            "t",
        )
    with pytest.raises(InputError, match="lowercase letters"):
        await tenants.set_topics(world.ctx.pool, "245900428", "déchets verts", "t")
