"""The scheduler's passes on a driven clock (``tick(now)``), against a real PostgreSQL: once and
only once, missed firings reported, two daemons, a firing interrupted, quiet hours, approvals,
the waste agent's limits."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest
from structlog.testing import capture_logs

from alertd.alerts import followups, lifecycle
from alertd.config import Config
from alertd.errors import ConflictError, ForbiddenError, InputError
from alertd.schedule import firing, scheduler, schedules
from alertd.schedule.rules import Rule
from alertd.store.database import create_pool
from tests.schedule.conftest import T0, WASTE_PARAMS, Waste, hours, once, spec
from tests.support.alert_world import DUNKERQUE, PARAMS, circle


async def _firings(pool: asyncpg.Pool, sid: int) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT fire_time, due_at, status, alert_id, error FROM schedule_firings "
        "WHERE schedule_id = $1 ORDER BY fire_time",
        sid,
    )


async def _deliveries(pool: asyncpg.Pool, alert_id: int) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM deliveries WHERE alert_id = $1", alert_id))


async def test_a_one_off_notice_fires_once_at_its_time(waste: Waste) -> None:
    ctx, agent = waste.world.ctx, waste.agent
    made = await schedules.create(ctx, agent, spec(waste.sector, once(T0 + hours(16))), T0, "t")
    assert made.status == "active" and made.created_by == agent.name
    assert [f.fire_time for f in made.next_firings] == [T0 + hours(16)]
    assert (await scheduler.tick(ctx, T0 + hours(15))).outcomes == []
    # A minute ahead: its alert is drafted, not sent; the leader is told to wake at the due time.
    ahead = await scheduler.tick(ctx, T0 + hours(16) - timedelta(seconds=30))
    assert ahead.outcomes == [] and ahead.next_due == T0 + hours(16)
    assert await ctx.pool.fetchval("SELECT status FROM alerts") == "draft"
    assert await ctx.pool.fetchval("SELECT count(*) FROM deliveries") == 0
    passed = await scheduler.tick(ctx, T0 + hours(16))
    assert [o.status for o in passed.outcomes] == ["sent"]
    alert_id = passed.outcomes[0].alert_id
    assert alert_id is not None
    assert await _deliveries(ctx.pool, alert_id) == len(waste.residents)
    alert = await ctx.pool.fetchrow("SELECT * FROM alerts WHERE id = $1", alert_id)
    assert alert["created_by"] == agent.id and alert["severity"] == "information"
    assert alert["status"] == "sent"
    for later in (hours(16) + hours(0.01), hours(40)):
        assert (await scheduler.tick(ctx, T0 + later)).outcomes == []
    assert len(await _firings(ctx.pool, made.id)) == 1
    shown = await schedules.show(ctx.pool, agent, made.id, T0 + hours(17))
    assert shown.status == "done" and shown.next_firings == []
    audited = await ctx.pool.fetch(
        "SELECT action, actor FROM audit_log WHERE target = $1 ORDER BY id", f"alert:{alert_id}"
    )
    assert [r["action"] for r in audited] == ["alert.create", "alert.send"]
    assert audited[0]["actor"] == f"schedule:{made.id} for operator:{agent.id}"


async def test_a_firing_missed_beyond_its_grace_is_recorded_and_reported(waste: Waste) -> None:
    ctx = waste.world.ctx
    weekly = Rule(cron="0 19 * * tue")  # 18:00 UTC in winter
    made = await schedules.create(
        ctx, waste.agent, spec(waste.sector, weekly, grace_s=1800.0), T0, "t"
    )
    first = T0 + hours(4)  # today 19:00 in Paris
    with capture_logs() as logs:
        passed = await scheduler.tick(ctx, first + hours(1))  # no daemon for an hour
    assert passed.outcomes == [] and passed.missed == [(made.id, first)]
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["schedule.missed"]
    assert (
        await ctx.pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'schedule.missed'")
        == 1
    )
    # The next week, 20 minutes late (within the grace): sent, once.
    week = first + hours(24 * 7)
    passed = await scheduler.tick(ctx, week + hours(1 / 3))
    assert [o.status for o in passed.outcomes] == ["sent"]
    # Woken a minute ahead of the next, to draft its alert.
    assert passed.next_due == week + hours(24 * 7) - timedelta(seconds=scheduler.PREPARE_S)
    rows = await _firings(ctx.pool, made.id)
    assert [r["status"] for r in rows] == ["missed", "sent"]
    assert "grace time" in rows[0]["error"]


async def test_two_daemons_at_the_same_moment_send_it_once(waste: Waste, config: Config) -> None:
    ctx = waste.world.ctx
    made = await schedules.create(
        ctx, waste.agent, spec(waste.sector, once(T0 + hours(1))), T0, "t"
    )
    assert config.database.url is not None
    other = await create_pool(config.database.url, config.database)
    try:
        ctx2 = lifecycle.Context(other, ctx.catalog, None)
        due = T0 + hours(1)
        a, b = await asyncio.gather(
            scheduler.tick(ctx, due, worker="a"), scheduler.tick(ctx2, due, worker="b")
        )
    finally:
        await other.close()
    fired = a.outcomes + b.outcomes
    assert [o.status for o in fired] == ["sent"]
    rows = await _firings(ctx.pool, made.id)
    assert len(rows) == 1
    assert await ctx.pool.fetchval("SELECT count(*) FROM alerts") == 1
    assert await _deliveries(ctx.pool, rows[0]["alert_id"]) == len(waste.residents)


@pytest.mark.parametrize("drafted", [False, True])
async def test_a_firing_interrupted_is_finished_once_by_the_next_leader(
    waste: Waste, drafted: bool
) -> None:
    """Killed after claiming the firing (and, with ``drafted``, after drafting its alert):
    the next pass sends it, once; a pass after that does nothing."""
    ctx = waste.world.ctx
    made = await schedules.create(
        ctx, waste.agent, spec(waste.sector, once(T0 + hours(1))), T0, "t"
    )
    due = T0 + hours(1)
    fid = await ctx.pool.fetchval(
        "INSERT INTO schedule_firings (schedule_id, fire_time, due_at, status, worker) "
        "VALUES ($1, $2, $2, 'firing', 'killed') RETURNING id",
        made.id,
        due,
    )
    if drafted:
        row = {
            **dict(await ctx.pool.fetchrow(queries_get(), made.id)),
            "firing_id": fid,
            "fire_time": due,
            "firing_alert_id": None,
        }
        alert_id = await firing._draft(ctx, waste.agent, row, "t")
        await ctx.pool.execute(
            "UPDATE schedule_firings SET alert_id = $2 WHERE id = $1", fid, alert_id
        )
    passed = await scheduler.tick(ctx, due + hours(0.1))
    assert [o.status for o in passed.outcomes] == ["sent"]
    assert (await scheduler.tick(ctx, due + hours(0.2))).outcomes == []
    assert await ctx.pool.fetchval("SELECT count(*) FROM alerts") == 1
    rows = await _firings(ctx.pool, made.id)
    assert [r["status"] for r in rows] == ["sent"]
    assert await _deliveries(ctx.pool, rows[0]["alert_id"]) == len(waste.residents)


def queries_get() -> str:
    return (
        "SELECT s.*, t.code AS tenant_code FROM schedules s JOIN tenants t ON t.id = s.tenant_id "
        "WHERE s.id = $1"
    )


async def test_quiet_hours_hold_a_notice_until_the_morning_or_refuse_it(waste: Waste) -> None:
    ctx = waste.world.ctx
    admin = waste.world.cud
    await schedules.set_quiet_hours(
        ctx.pool,
        admin,
        "59183",
        hours=(time(21), time(7, 30)),
        policy="defer",
        information_approval=None,
        actor="t",
    )
    evening = T0 + hours(8)  # 23:00 in Paris
    made = await schedules.create(ctx, waste.agent, spec(waste.sector, once(evening)), T0, "t")
    morning = T0 + hours(16.5)  # 07:30 in Paris, the next day
    assert [f.due_at for f in made.next_firings] == [morning]
    assert (await scheduler.tick(ctx, evening + hours(1))).outcomes == []
    assert (await scheduler.tick(ctx, morning - hours(0.1))).outcomes == []
    passed = await scheduler.tick(ctx, morning)
    assert [o.status for o in passed.outcomes] == ["sent"]
    rows = await _firings(ctx.pool, made.id)
    assert rows[0]["fire_time"] == evening and rows[0]["due_at"] == morning
    # Life-safety ignores the quiet hours.
    alarm = await schedules.create(
        ctx,
        waste.world.officer,
        spec(
            waste.sector,
            once(evening + hours(24)),
            template="submersion",
            params=PARAMS,
            topics=[],
            name="Exercice de nuit",
        ),
        T0,
        "t",
    )
    assert alarm.next_firings[0].due_at == evening + hours(24)
    await schedules.set_quiet_hours(
        ctx.pool,
        admin,
        "59183",
        hours=(time(21), time(7, 30)),
        policy="refuse",
        information_approval=None,
        actor="t",
    )
    with pytest.raises(InputError, match="quiet hours"):
        await schedules.create(ctx, waste.agent, spec(waste.sector, once(evening)), T0, "t")


async def test_a_waste_agent_is_refused_life_safety_and_other_services_topics(
    waste: Waste,
) -> None:
    ctx, agent = waste.world.ctx, waste.agent
    alarm = spec(waste.sector, once(T0 + hours(2)), template="submersion", params=PARAMS, topics=[])
    with pytest.raises(ForbiddenError, match="information notices only"):
        await schedules.create(ctx, agent, alarm, T0, "t")
    with pytest.raises(ForbiddenError, match="not to travaux"):
        await schedules.create(
            ctx, agent, spec(waste.sector, once(T0 + hours(2)), topics=["travaux"]), T0, "t"
        )
    with pytest.raises(ForbiddenError, match="information notices only"):
        await lifecycle.create(
            ctx, agent, lifecycle.Draft("submersion", PARAMS, geometry=circle(DUNKERQUE, 300)), "t"
        )
    with pytest.raises(ForbiddenError, match="approver role"):
        await lifecycle.approve(ctx, agent, 1, "t")
    assert await ctx.pool.fetchval("SELECT count(*) FROM schedules") == 0
    # Their own topic, in their territory: a notice sent at once without a second approval,
    # even above the threshold (the tenant did not ask for one).
    await ctx.pool.execute("UPDATE tenants SET approval_threshold = 0")
    notice = lifecycle.Draft(
        "waste_disrupted", WASTE_PARAMS, zone_ids=[waste.sector], topics=["dechets"]
    )
    alert_id = await lifecycle.create(ctx, agent, notice, "t")
    assert (await lifecycle.send(ctx, agent, alert_id, "t")).status == "sent"


async def test_a_schedule_above_the_threshold_is_approved_before_it_fires(waste: Waste) -> None:
    ctx, officer, approver = waste.world.ctx, waste.world.approver, waste.world.cud
    await ctx.pool.execute("UPDATE tenants SET approval_threshold = 5")
    made = await schedules.create(ctx, officer, spec(waste.sector, once(T0 + hours(3))), T0, "t")
    assert made.status == "pending_approval"
    with pytest.raises(ForbiddenError, match="nobody approves their own"):
        await schedules.approve(ctx.pool, officer, made.id, "t", T0)
    with pytest.raises(ForbiddenError, match="approver role"):
        await schedules.approve(ctx.pool, waste.world.officer, made.id, "t", T0)
    assert (await scheduler.tick(ctx, T0 + hours(3))).outcomes == []  # not approved: silent
    later = await schedules.create(
        ctx, officer, spec(waste.sector, once(T0 + hours(5)), name="Le lendemain"), T0, "t"
    )
    approved = await schedules.approve(ctx.pool, approver, later.id, "t", T0 + hours(1))
    assert approved.status == "active" and approved.approved_by == approver.name
    with pytest.raises(ConflictError, match="nothing to approve"):
        await schedules.approve(ctx.pool, approver, later.id, "t", T0 + hours(1))
    passed = await scheduler.tick(ctx, T0 + hours(5))
    assert [o.status for o in passed.outcomes] == ["sent"]
    alert = await ctx.pool.fetchrow(
        "SELECT * FROM alerts WHERE id = $1", passed.outcomes[0].alert_id
    )
    assert alert["approved_by"] == approver.id and alert["created_by"] == officer.id
    # The information agent's notice above the threshold needs approval once the tenant says so.
    await schedules.set_quiet_hours(
        ctx.pool,
        waste.world.cud,
        "59183",
        hours=None,
        policy=None,
        information_approval=True,
        actor="t",
    )
    held = await schedules.create(
        ctx, waste.agent, spec(waste.sector, once(T0 + hours(6))), T0, "t"
    )
    assert held.status == "pending_approval"


async def test_pause_resume_delete_and_who_may(waste: Waste) -> None:
    ctx, agent = waste.world.ctx, waste.agent
    weekly = Rule(cron="0 19 * * tue")
    made = await schedules.create(ctx, agent, spec(waste.sector, weekly), T0, "t")
    # Drafted a minute ahead, then paused before its time: withdrawn, not sent.
    await scheduler.tick(ctx, T0 + hours(4) - timedelta(seconds=30))
    paused = await schedules.pause(ctx.pool, agent, made.id, "t", T0)
    assert paused.status == "paused"
    withdrawn = await scheduler.tick(ctx, T0 + hours(4))
    assert [o.status for o in withdrawn.outcomes] == ["withdrawn"]
    assert await ctx.pool.fetchval("SELECT count(*) FROM deliveries") == 0
    assert (await scheduler.tick(ctx, T0 + hours(4.5))).outcomes == []  # paused: silent
    resumed = await schedules.resume(ctx.pool, agent, made.id, "t", T0 + hours(5))
    # What fell in the pause does not fire late: the next is next week's.
    assert resumed.next_firings[0].fire_time == T0 + hours(4 + 24 * 7)
    assert (await scheduler.tick(ctx, T0 + hours(5))).outcomes == []
    with pytest.raises(ForbiddenError):
        await schedules.pause(ctx.pool, waste.world.gravelines, made.id, "t", T0)
    with pytest.raises(ForbiddenError):
        await schedules.delete(ctx.pool, waste.world.viewer, made.id, "t", T0)
    await schedules.delete(ctx.pool, waste.world.officer, made.id, "t", T0)
    assert [s.id for s in await schedules.list_schedules(ctx.pool, agent, T0)] == []
    actions = await ctx.pool.fetch(
        "SELECT action FROM audit_log WHERE target = $1 ORDER BY id", f"schedule:{made.id}"
    )
    assert [r["action"] for r in actions] == [
        "schedule.create",
        "schedule.pause",
        "schedule.resume",
        "schedule.delete",
    ]


async def test_one_daemon_leads_and_another_takes_over_when_it_stops(
    waste: Waste, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler, "LOCK_RETRY_S", 0.05)
    ctx = waste.world.ctx
    assert config.database.url is not None
    other = await create_pool(config.database.url, config.database)
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    lead_a, lead_b = asyncio.Event(), asyncio.Event()
    ctx_b = lifecycle.Context(other, ctx.catalog, None)
    a = asyncio.create_task(
        scheduler.lead(ctx, stop_a, worker="a", clock=lambda: T0, leading=lead_a)
    )
    try:
        await asyncio.wait_for(lead_a.wait(), 10)
        b = asyncio.create_task(
            scheduler.lead(ctx_b, stop_b, worker="b", clock=lambda: T0, leading=lead_b)
        )
        # b tries the lock (and fails) several times while a holds it.
        held = await other.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        assert held == 1 and not lead_b.is_set()
        stop_a.set()
        await a
        await asyncio.wait_for(lead_b.wait(), 10)
        stop_b.set()
        await b
    finally:
        stop_a.set()
        stop_b.set()
        await other.close()


async def test_whole_postcodes_and_communes_are_targets_without_drawing(waste: Waste) -> None:
    from alertd.alerts.territory_data import import_demo_areas
    from alertd.config import METROPOLE_EXTENT

    ctx = waste.world.ctx
    await import_demo_areas(ctx.pool, "245900428", METROPOLE_EXTENT, "t")
    by_postcode = spec(0, once(T0 + hours(2)), zone_ids=[], postcodes=["59140"])
    shown = await schedules.plan(ctx, waste.agent, by_postcode, T0)
    assert shown.recipients_now >= len(waste.residents)
    by_commune = spec(0, once(T0 + hours(2)), zone_ids=[], communes=["59183"])
    made = await schedules.create(ctx, waste.agent, by_commune, T0, "t")
    passed = await scheduler.tick(ctx, T0 + hours(2))
    assert [o.status for o in passed.outcomes] == ["sent"]
    assert made.communes == ["59183"]
    with pytest.raises(InputError, match="no area for postcode"):
        await schedules.plan(
            ctx, waste.agent, spec(0, once(T0 + hours(2)), zone_ids=[], postcodes=["75001"]), T0
        )
    with pytest.raises(ForbiddenError, match="outside this territory"):
        await schedules.plan(
            ctx, waste.agent, spec(0, once(T0 + hours(2)), zone_ids=[], communes=["59273"]), T0
        )


async def test_an_alert_targets_whole_communes_and_postcodes(waste: Waste) -> None:
    from alertd.alerts.territory_data import import_demo_areas
    from alertd.config import METROPOLE_EXTENT

    ctx = waste.world.ctx
    await import_demo_areas(ctx.pool, "245900428", METROPOLE_EXTENT, "t")
    notice = lifecycle.Draft(
        "waste_disrupted", WASTE_PARAMS, topics=["dechets"], communes=["59183"]
    )
    alert_id = await lifecycle.create(ctx, waste.agent, notice, "t")
    report = await lifecycle.preview(ctx, waste.agent, alert_id)
    assert report.recipients >= len(waste.residents)
    stored = await ctx.pool.fetchval("SELECT zone_geometry FROM alerts WHERE id = $1", alert_id)
    assert stored["type"] in ("Polygon", "MultiPolygon")
    with pytest.raises(ForbiddenError, match="outside this territory"):
        await lifecycle.create(
            ctx,
            waste.world.officer,
            lifecycle.Draft("submersion", PARAMS, postcodes=["59140"], communes=["59273"]),
            "t",
        )


async def test_a_weekly_rule_driven_over_a_year_sends_each_monday_once(waste: Waste) -> None:
    """Every Monday 19:00 in sector 4 for a year, except public holidays and two dates: the
    scheduler is woken when it asks to be (a minute ahead, then at the due time), and once
    more in the middle of each week; each firing is sent once, at its time."""
    ctx = waste.world.ctx
    start = datetime(2027, 1, 1, tzinfo=UTC)
    rule = Rule(cron="0 19 * * mon", skip_holidays=True, except_dates=frozenset(
        {date(2027, 8, 16), date(2027, 8, 23)}
    ))  # fmt: skip
    made = await schedules.create(ctx, waste.agent, spec(waste.sector, rule), start, "t")
    now, sent = start, []
    while now < datetime(2028, 1, 1, tzinfo=UTC):
        passed = await scheduler.tick(ctx, now)
        sent += [o.fire_time for o in passed.outcomes if o.status == "sent"]
        assert passed.next_due is not None
        now = max(passed.next_due, now + timedelta(seconds=1))
        if passed.outcomes:  # and once in the middle of the week: nothing to do then
            assert (await scheduler.tick(ctx, now - timedelta(days=3))).outcomes == []
    assert len(sent) == 47
    assert len(set(sent)) == 47
    rows = await _firings(ctx.pool, made.id)
    assert [r["status"] for r in rows[:47]] == ["sent"] * 47
    assert all(r["fire_time"] == r["due_at"] for r in rows)
    days = {r["fire_time"].date() for r in rows}
    assert date(2027, 3, 29) not in days and date(2027, 8, 16) not in days


async def test_a_drafted_notice_cancelled_before_its_time_is_withdrawn(waste: Waste) -> None:
    ctx = waste.world.ctx
    due = T0 + hours(2)
    await schedules.create(ctx, waste.agent, spec(waste.sector, once(due)), T0, "t")
    await scheduler.tick(ctx, due - timedelta(seconds=30))
    alert_id = await ctx.pool.fetchval("SELECT id FROM alerts")
    await followups.cancel(ctx, waste.world.officer, alert_id, "t")
    passed = await scheduler.tick(ctx, due)
    assert [(o.status, o.error) for o in passed.outcomes] == [
        ("withdrawn", f"alert {alert_id} was cancelled before it was due: not sent")
    ]
    assert await ctx.pool.fetchval("SELECT count(*) FROM deliveries") == 0


async def test_a_waste_agent_cancels_their_own_notice_and_no_other(waste: Waste) -> None:
    ctx, agent = waste.world.ctx, waste.agent
    notice = lifecycle.Draft(
        "waste_disrupted", WASTE_PARAMS, zone_ids=[waste.sector], topics=["dechets"]
    )
    mine = await lifecycle.create(ctx, agent, notice, "t")
    theirs = await lifecycle.create(ctx, waste.world.officer, notice, "t")
    with pytest.raises(ForbiddenError, match="only their own"):
        await followups.cancel(ctx, agent, theirs, "t")
    assert (await followups.cancel(ctx, agent, mine, "t")).alerts == 1
