"""Issue 14, cases 7 and 8: follow-ups previewed like alerts (texts, holders, newcomers, leavers,
segments, cost) before anything is written; after a cancel, a correction or an all-clear still
reaches exactly those who received something."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest

from alertd.alerts import followups, lifecycle
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from alertd.errors import ConflictError
from gateways.fake import FakeGateway
from templates import Catalog
from tests.support.alert_world import DUNKERQUE, World, build_world, circle, draft

NEAR_ZONE = circle(DUNKERQUE, 500)  # the 40 near residents
RING_ZONE = circle((DUNKERQUE[0] + 0.021, DUNKERQUE[1]), 400)  # only the 20 of the ring
NOW = DispatchSettings(backoff_base_s=0, backoff_max_s=0)


@pytest.fixture
async def world(loaded: asyncpg.Pool) -> World:
    return await build_world(loaded)


async def _sent(w: World) -> int:
    alert_id = await lifecycle.create(w.ctx, w.officer, draft(NEAR_ZONE), "t")
    assert (await lifecycle.send(w.ctx, w.officer, alert_id, "t")).status == "sent"
    return alert_id


async def _alerts(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM alerts"))


async def test_an_update_is_previewed_with_holders_newcomers_leavers_texts_and_cost(
    world: World,
) -> None:
    """Case 8: the zone moves to the ring: 20 newcomers get the alert, the 40 near residents
    leave (an all-clear), nobody stays to get the update."""
    ctx = lifecycle.Context(world.ctx.pool, Catalog(), None, {"ovh": Decimal("0.05")}, 10.0)
    alert_id = await _sent(world)
    before = await _alerts(ctx.pool)
    plan = await followups.preview_update(
        ctx, world.officer, alert_id, params={"message": "la zone se déplace"}, geometry=RING_ZONE
    )
    assert (plan.holders, plan.newcomers, plan.leavers) == (0, 20, 40)
    assert any("la zone se déplace" in t.text for t in plan.texts if t.lang == "fr")
    assert {t.lang for t in plan.leaver_texts} >= {"fr"}
    assert all(t.segments >= 1 for t in (*plan.texts, *plan.leaver_texts))
    alert_segments = {t.lang: t.segments for t in (await _texts_of(ctx, world, alert_id))}
    clear_segments = {t.lang: t.segments for t in plan.leaver_texts}
    expected = 36 * clear_segments["fr"] + 4 * clear_segments.get("en", clear_segments["fr"])
    expected += 18 * alert_segments["fr"] + 2 * alert_segments.get("en", alert_segments["fr"])
    assert plan.segments == expected
    assert plan.cost_eur == {"ovh": str((Decimal("0.05") * expected).quantize(Decimal("0.01")))}
    assert plan.eta_seconds == round(expected / 10.0, 1)
    assert await _alerts(ctx.pool) == before  # a preview writes nothing


async def _texts_of(ctx: lifecycle.Context, world: World, alert_id: int) -> tuple[object, ...]:
    return (await lifecycle.preview(ctx, world.officer, alert_id)).texts


async def test_alert_preview_works_on_a_follow_up(world: World) -> None:
    """Case 8: `alert preview` of an update failed ("the alert has no zone")."""
    alert_id = await _sent(world)
    done = await followups.update(
        world.ctx, world.officer, alert_id, params={"message": "la digue tient"}, actor="t"
    )
    assert done.update_id is not None
    plan = await followups.preview_child(world.ctx, world.officer, done.update_id)
    assert (plan.kind, plan.holders, plan.alert) == ("update", 40, alert_id)
    assert any("la digue tient" in t.text for t in plan.texts)
    clear = await followups.preview_all_clear(world.ctx, world.officer, alert_id, params={})
    assert clear.kind == "all_clear" and clear.holders == 0  # nothing has gone out yet


async def test_after_a_cancel_a_correction_and_the_all_clear_reach_those_who_got_it(
    world: World,
) -> None:
    """Case 7: an update or all-clear of a cancelled alert was refused."""
    alert_id = await _sent(world)
    fake = FakeGateway("fake")
    batch = await world.ctx.pool.fetch(
        "SELECT id FROM deliveries WHERE alert_id = $1 ORDER BY id LIMIT 25", alert_id
    )
    # 25 went out, 15 were still queued when the officer cancelled.
    await world.ctx.pool.execute(
        "UPDATE deliveries SET status = 'delivered' WHERE id = ANY($1::bigint[])",
        [r["id"] for r in batch],
    )
    cancelled = await followups.cancel(world.ctx, world.officer, alert_id, "t")
    assert cancelled.deliveries_stopped == 15
    correction = await followups.update(
        world.ctx,
        world.officer,
        alert_id,
        params={"message": "RECTIFICATIF: alerte envoyee par erreur"},
        actor="t",
    )
    assert correction.update_recipients == 25
    with pytest.raises(ConflictError, match="was cancelled: a new zone"):
        await followups.update(
            world.ctx,
            world.officer,
            alert_id,
            params={"message": "x"},
            geometry=circle(DUNKERQUE, 2_500),
            actor="t",
        )
    clear = await followups.all_clear(world.ctx, world.officer, alert_id, params={}, actor="t")
    assert clear.all_clear_recipients == 25
    await Dispatcher(world.ctx.pool, [fake], worker="w", settings=NOW).drain()
    got = {
        r["phone"]
        for r in await world.ctx.pool.fetch(
            "SELECT s.phone FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
            "WHERE d.alert_id = $1 AND d.status = 'delivered'",
            alert_id,
        )
    }
    texts = [(m.to, m.text) for m in fake.received]
    assert {to for to, _ in texts} == got  # exactly those who received the alert
    assert sum("RECTIFICATIF" in text for _, text in texts) == 25
    assert len(texts) == 50  # the correction and the all-clear, once each
    assert (
        await world.ctx.pool.fetchval("SELECT status FROM alerts WHERE id = $1", alert_id)
        == "cancelled"
    )
