"""``alertd demo --waste``: the waste service's day. The demo's territory and residents (as
``alertd demo``), the shipped synthetic waste sectors, a waste agent (information role, topic
``dechets``); a weekly collection reminder shown with its next firings; then a one-off notice
"collecte décalée" for sector 4, fired by the real scheduler a few seconds later, through the
lifecycle and the outbox into in-process fake gateways; and how quiet hours hold a late notice.

Same seals as ``alertd demo``: a database of its own, refused while an ``alertd serve`` is
connected to it, in-process fakes only.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from alertd import jsonable
from alertd.alerts import lifecycle
from alertd.audit import cli_actor
from alertd.config import Config
from alertd.errors import AlertdError
from alertd.operators import Operator, authenticate, create_operator
from alertd.schedule import scheduler, schedules, sectors
from alertd.schedule.rules import Rule, zone
from alertd.store.database import open_database
from alertd.tools import demo, demo_world
from gateways.fake import FakeGateway
from templates import Catalog

AGENT = ("Agent collecte des déchets (démo)", "information@demo.invalid")
SECTOR = "Secteur 4 - Dunkerque sud-est (démo)"
PARAMS = {"sector": "secteur 4", "date": "demain", "reason": "tempête", "sender": "CU Dunkerque"}
REMINDER = {"sector": "secteur 4", "date": "lundi", "reason": "jour férié", "sender": "CUD"}
LEAD_S = 3.0  # the one-off notice is due this long after it is saved
TIMEOUT_S = 60.0


async def run(config: Config, *, subscribers_count: int, as_json: bool) -> int:
    screen = demo.Screen(as_json)
    actor = cli_actor()
    name = demo.demo_database(config)
    screen.say(f"alertd demo --waste: the waste service, in the demo's own database {name}")
    async with open_database(config, database=name, application_name=demo.DEMO_NAME) as db:
        await demo._refuse_if_served(db.pool, name)
        world = await demo_world.build(db.pool, config, subscribers_count, actor)
        found = await sectors.import_sectors(
            db.pool,
            sectors.demo_sectors(),
            tenant=world.parent.code,
            name_property="name",
            crs=None,
            config=config.zones,
            actor=actor,
        )
        screen.say(f"  {len(found)} synthetic waste sectors: " + ", ".join(s.name for s in found))
        sector = next(s.zone_id for s in found if s.name == SECTOR)
        agent = await _agent(db.pool, world.parent.code)
        screen.say(f"  {agent.name}: role information, topic dechets only, no second approval")
        ctx = lifecycle.Context(
            db.pool, Catalog(config.templates.directory), None, {"primary": demo.DEMO_PRICE}
        )
        await _no_quiet_hours(db.pool, world)
        weekly = await _weekly(ctx, agent, sector, screen, actor)
        fired = await _one_off(ctx, agent, sector, screen, actor)
        quiet = await _quiet(
            ctx, world=world, agent=agent, sector=sector, screen=screen, actor=actor
        )
        await schedules.delete(db.pool, agent, weekly, actor, datetime.now(UTC))
    summary = {"sectors": len(found), **fired, "quiet_hours": quiet}
    if as_json:
        screen.quiet = False
        screen.say(jsonable.dumps(summary))
    return 0


async def _agent(pool: asyncpg.Pool, code: str) -> Operator:
    row = await pool.fetchrow("SELECT id FROM operators WHERE email = $1", AGENT[1])
    if row is None:
        new = await create_operator(
            pool,
            tenant_code=code,
            name=AGENT[0],
            role="information",
            email=AGENT[1],
            actor=cli_actor(),
            topics=("dechets",),
        )
        found = await authenticate(pool, new.token)
        assert found is not None  # noqa: S101 - created just above
        return found
    ops = await pool.fetchrow(
        "SELECT o.*, t.code FROM operators o JOIN tenants t ON t.id = o.tenant_id WHERE o.id = $1",
        row["id"],
    )
    assert ops is not None  # noqa: S101 - found just above
    return Operator(
        ops["id"],
        ops["tenant_id"],
        ops["code"],
        ops["name"],
        ops["role"],
        "live",
        tuple(ops["topics"]),
    )


async def _no_quiet_hours(pool: asyncpg.Pool, world: demo_world.DemoWorld) -> None:
    """A second run finds the quiet hours the first set: the live firing must not wait."""
    await pool.execute(
        "UPDATE tenants SET quiet_start = NULL, quiet_end = NULL WHERE code = $1",
        world.parent.code,
    )


async def _weekly(
    ctx: lifecycle.Context, agent: Operator, sector: int, screen: demo.Screen, actor: str
) -> int:
    spec = schedules.Spec(
        name="Rappel collecte du lundi (démo)",
        template="waste_disrupted",
        rule=Rule(cron="0 19 * * mon", skip_holidays=True),
        params=REMINDER,
        zone_ids=[sector],
        topics=["dechets"],
    )
    now = datetime.now(UTC)
    view = await schedules.create(ctx, agent, spec, now, actor)
    screen.say(f"\nschedule {view.id} by {view.created_by}: {view.when}")
    for one in view.next_firings:
        screen.say(f"    next: {_paris(one.fire_time)}")
    return view.id


async def _one_off(
    ctx: lifecycle.Context, agent: Operator, sector: int, screen: demo.Screen, actor: str
) -> dict[str, Any]:
    due = (datetime.now(UTC) + timedelta(seconds=LEAD_S)).replace(microsecond=0)
    spec = schedules.Spec(
        name="Collecte décalée (démo)",
        template="waste_disrupted",
        rule=Rule(run_at=due),
        params=PARAMS,
        zone_ids=[sector],
        topics=["dechets"],
    )
    view = await schedules.create(ctx, agent, spec, datetime.now(UTC), actor)
    screen.say(f"\nschedule {view.id}: '{view.name}' for sector 4, {view.when}")
    gateway = FakeGateway("primary", window=2000, receipt_delay=0.05)
    worker = f"demo:{os.getpid()}"
    async with (
        demo._daemon(ctx.pool, [gateway], ctx.catalog) as check,
        scheduler.running(ctx, worker=worker),
    ):
        screen.say("  the scheduler runs (advisory lock taken); waiting for the due time…")
        row = await _fired(ctx.pool, view.id, check)
        counts = await demo._until_received(ctx.pool, row["alert_id"], screen, check)
    first = await ctx.pool.fetchval(
        "SELECT min(submitted_at) FROM deliveries WHERE alert_id = $1", row["alert_id"]
    )
    latency = (first - due).total_seconds()
    screen.say(
        f"  fired at {_paris(due)}: alert {row['alert_id']} to {sum(counts.values())} residents "
        f"of sector 4 who follow dechets; first SMS left {latency:.3f} s after its due time"
    )
    return {
        "schedule": view.id,
        "alert": row["alert_id"],
        "recipients": sum(counts.values()),
        "delivered": counts.get("delivered", 0),
        "latency_s": round(latency, 4),
        "duplicates": len(gateway.received) - len({(m.to, m.text) for m in gateway.received}),
    }


async def _fired(pool: asyncpg.Pool, schedule_id: int, check: Any) -> asyncpg.Record:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        row = await pool.fetchrow(
            "SELECT status, alert_id, error FROM schedule_firings WHERE schedule_id = $1",
            schedule_id,
        )
        if row is not None and row["status"] != "firing":
            if row["status"] != "sent":
                raise AlertdError(f"the demo's notice was not sent: {row['status']} {row['error']}")
            return row
        check()
        await asyncio.sleep(demo.POLL_S)
    raise AlertdError(f"the demo's notice did not fire in {TIMEOUT_S:.0f} s")


async def _quiet(
    ctx: lifecycle.Context,
    *,
    world: demo_world.DemoWorld,
    agent: Operator,
    sector: int,
    screen: demo.Screen,
    actor: str,
) -> dict[str, str]:
    admin = await demo_world._operator(
        ctx.pool, world.parent.code, "Administrateur (démo)", "admin", actor
    )
    hours = (datetime.strptime("21:00", "%H:%M").time(), datetime.strptime("07:30", "%H:%M").time())
    await schedules.set_quiet_hours(
        ctx.pool,
        admin,
        world.parent.code,
        hours=hours,
        policy="defer",
        information_approval=None,
        actor=actor,
    )
    now = datetime.now(UTC)
    late = _tonight(now, 22)
    shown = await schedules.plan(
        ctx,
        agent,
        schedules.Spec(
            name="Avis tardif (démo)",
            template="waste_disrupted",
            rule=Rule(run_at=late),
            params=PARAMS,
            zone_ids=[sector],
            topics=["dechets"],
        ),
        now,
    )
    held = shown.next_firings[0]
    screen.say(
        f"\nquiet hours 21:00-07:30: a notice written for {_paris(held.fire_time)} would be sent "
        f"at {_paris(held.due_at)} (not saved); life-safety alerts ignore them"
    )
    return {"asked": _paris(held.fire_time), "sent_at": _paris(held.due_at)}


def _tonight(now: datetime, hour: int) -> datetime:
    local = now.astimezone(zone("Europe/Paris"))
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    return at.astimezone(UTC)


def _paris(moment: datetime) -> str:
    return moment.astimezone(zone("Europe/Paris")).strftime("%a %Y-%m-%d %H:%M:%S %Z")
