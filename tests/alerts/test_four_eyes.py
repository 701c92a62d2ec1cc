"""Issue 14, cases 1 and 2: four eyes on every path that reaches people, and an approver who is
another person, not another account."""

from __future__ import annotations

import asyncpg
import pytest

from alertd import operators
from alertd.alerts import followups, lifecycle, status
from alertd.errors import ConflictError, ForbiddenError, InputError
from tests.support.alert_world import DUNKERQUE, World, build_world, circle, draft

NEAR_ZONE = circle(DUNKERQUE, 500)  # the 40 near residents
WIDE_ZONE = circle(DUNKERQUE, 2_500)  # near and the 20 of the ring


@pytest.fixture
async def world(loaded: asyncpg.Pool) -> World:
    built = await build_world(loaded)
    await loaded.execute("UPDATE tenants SET approval_threshold = 50 WHERE code = '59183'")
    return built


async def _count(pool: asyncpg.Pool, alert_id: int) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM deliveries WHERE alert_id = $1", alert_id))


async def _sent(w: World) -> int:
    alert_id = await lifecycle.create(w.ctx, w.officer, draft(NEAR_ZONE), "t")
    assert (await lifecycle.send(w.ctx, w.officer, alert_id, "t")).status == "sent"
    return alert_id


async def test_an_update_reaching_newcomers_above_the_threshold_waits_for_another_person(
    world: World,
) -> None:
    """Case 1: 40 sent alone (under 50), then a new zone reaching 20 more: 60 > 50."""
    alert_id = await _sent(world)
    pending = await followups.update(
        world.ctx,
        world.approver,  # an approver asks: even they need another person
        alert_id,
        params={"message": "la zone s'étend"},
        geometry=WIDE_ZONE,
        actor="t",
    )
    assert pending.status == "pending_approval" and pending.newcomers == 20
    assert pending.update_id is not None
    assert await _count(world.ctx.pool, alert_id) == 40  # nobody new reached yet
    assert await _count(world.ctx.pool, pending.update_id) == 0  # nor the update sent
    with pytest.raises(ForbiddenError, match="nobody approves their own alert"):
        await followups.approve_update(world.ctx, world.approver, pending.update_id, "t")
    with pytest.raises(ForbiddenError, match="needs the approver role"):
        await followups.approve_update(world.ctx, world.officer, pending.update_id, "t")
    done = await followups.approve_update(world.ctx, world.cud, pending.update_id, "t")
    assert (done.update_id, done.newcomers, done.update_recipients) == (
        pending.update_id,
        20,
        40,
    )
    assert await _count(world.ctx.pool, alert_id) == 60
    assert await _count(world.ctx.pool, pending.update_id) == 40
    # Status tells the truth (case 12): the alert's recipients follow the zone change.
    shown = await status.status(world.ctx, world.officer, alert_id)
    assert shown.recipients == 60
    assert [c.status for c in shown.followups] == ["sent"]
    with pytest.raises(ConflictError, match="not an update waiting for approval"):
        await followups.approve_update(world.ctx, world.cud, pending.update_id, "t")


async def test_an_update_to_holders_only_needs_no_second_person(world: World) -> None:
    alert_id = await _sent(world)
    result = await followups.update(
        world.ctx, world.officer, alert_id, params={"message": "la digue tient"}, actor="t"
    )
    assert result.status == "sent" and result.update_recipients == 40


async def test_one_person_one_account_compared_without_case(loaded: asyncpg.Pool) -> None:
    """Case 2: no second account for the same e-mail, in any commune of the intercommunality."""
    await operators.create_operator(
        loaded,
        tenant_code="59183",
        name="Claire Martin",
        role="operator",
        email="Claire.Martin@example.org",
        actor="t",
    )
    for code in ("59183", "59273", "245900428"):
        with pytest.raises(ConflictError, match=r"already has an account.*one person, one account"):
            await operators.create_operator(
                loaded,
                tenant_code=code,
                name="Claire Martin",
                role="approver",
                email=" claire.martin@EXAMPLE.org ",
                actor="t",
            )
    with pytest.raises(InputError, match="give the operator's e-mail"):
        await operators.create_operator(
            loaded, tenant_code="59183", name="X", role="approver", email=None, actor="t"
        )
    with pytest.raises(InputError, match="is not an e-mail address"):
        await operators.create_operator(
            loaded, tenant_code="59183", name="X", role="approver", email="Claire", actor="t"
        )
    assert await loaded.fetchval("SELECT count(*) FROM operators") == 1


async def test_the_same_person_cannot_approve_through_another_account(world: World) -> None:
    """Case 2: Claire's account disabled, a new one for her: still Claire, still refused."""
    alert_id = await lifecycle.create(world.ctx, world.officer, draft(WIDE_ZONE), "t")
    assert (await lifecycle.send(world.ctx, world.officer, alert_id, "t")).status == (
        "pending_approval"
    )
    email = await world.ctx.pool.fetchval(
        "SELECT email FROM operators WHERE id = $1", world.officer.id
    )
    await operators.disable_operator(world.ctx.pool, world.officer.id, "t")
    twin = await operators.create_operator(
        world.ctx.pool,
        tenant_code="59183",
        name="Officier Dunkerque (bis)",
        role="approver",
        email=email.upper(),
        actor="t",
    )
    again = await operators.authenticate(world.ctx.pool, twin.token)
    assert again is not None
    with pytest.raises(ForbiddenError, match="same person"):
        await lifecycle.approve(world.ctx, again, alert_id, "t")
    assert await _count(world.ctx.pool, alert_id) == 0
    sent = await lifecycle.approve(world.ctx, world.approver, alert_id, "t")
    assert sent is not None and sent.recipients == 60
