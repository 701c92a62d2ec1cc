"""/v1/schedules: scheduled and recurring notices, through the same functions as
``alertd schedule``. A schedule is previewed (its next firings, who it reaches today) before it
is saved; the firings themselves are the scheduler's, inside ``alertd serve``."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alertd.api.routes import (
    BOOLEAN,
    Call,
    Handler,
    Reply,
    Route,
    Schema,
    array,
    integer,
    number,
    obj,
    string_map,
    text,
)
from alertd.api.shapes import dataclass_schema, list_schema
from alertd.errors import InputError
from alertd.schedule import schedules, when
from alertd.schedule.rules import Rule, parse_quiet

CREATE: Schema = obj(
    ["name", "template"],
    name=text(200, 1),
    template=text(100, 1),
    params=string_map(),
    zone_ids=array(integer(1), 50),
    communes=array(text(5, 5), 50),
    postcodes=array(text(5, 5), 50),
    topics=array(text(100, 1), 50),
    languages=array(text(10, 1), 20),
    severity={"enum": ["life_safety", "information"]},
    # once: a time, with its offset or read in `timezone` ("2026-12-02 06:30", "tomorrow 06:30")
    run_at=text(40, 1),
    # recurring: a crontab line (minute hour day month weekday) read in `timezone`
    cron=text(100, 1),
    timezone=text(60, 1),
    skip_holidays=BOOLEAN,
    except_dates=array(text(10, 10), 366),
    grace_s=number(0, 7 * 86_400),
    tenant=text(20, 1),
)
VIEW = dataclass_schema(schedules.ScheduleView)
ID = "/schedules/{id}"


def _spec(call: Call, now: datetime) -> schedules.Spec:
    b = call.body
    zone = b.get("timezone", "Europe/Paris")
    if ("run_at" in b) == ("cron" in b):
        raise InputError("say when, once: run_at (once) or cron (recurring)")
    if "run_at" in b:
        rule = Rule(timezone=zone, run_at=when.parse_at(b["run_at"], now, zone))
    else:
        try:
            excepted = frozenset(date.fromisoformat(d) for d in b.get("except_dates", []))
        except ValueError as exc:
            raise InputError(f"except_dates: dates are YYYY-MM-DD ({exc})") from None
        rule = Rule(
            timezone=zone,
            cron=b["cron"],
            skip_holidays=b.get("skip_holidays", False),
            except_dates=excepted,
        )
    return schedules.Spec(
        name=b["name"],
        template=b["template"],
        rule=rule,
        params=b.get("params", {}),
        zone_ids=b.get("zone_ids", []),
        communes=b.get("communes", []),
        postcodes=b.get("postcodes", []),
        topics=b.get("topics", []),
        languages=b.get("languages", []),
        severity=b.get("severity"),
        grace_s=float(b.get("grace_s", schedules.DEFAULT_GRACE_S)),
        tenant_code=b.get("tenant"),
    )


async def preview(call: Call) -> Reply:
    now = datetime.now(UTC)
    return Reply(await schedules.plan(call.env.ctx, call.op, _spec(call, now), now))


async def create(call: Call) -> Reply:
    now = datetime.now(UTC)
    made = await schedules.create(call.env.ctx, call.op, _spec(call, now), now, call.actor)
    return Reply(made, 201)


async def list_all(call: Call) -> Reply:
    return Reply(await schedules.list_schedules(call.env.pool, call.op, datetime.now(UTC)))


async def show(call: Call) -> Reply:
    return Reply(await schedules.show(call.env.pool, call.op, call.path["id"], datetime.now(UTC)))


def _mover(verb: str) -> Handler:
    async def move(call: Call) -> Reply:
        act = getattr(schedules, verb)
        return Reply(
            await act(call.env.pool, call.op, call.path["id"], call.actor, datetime.now(UTC))
        )

    move.__name__ = verb
    return move


QUIET: Schema = obj(
    # HH:MM-HH:MM (e.g. 21:00-07:30), or null for none; absent: unchanged
    hours={"anyOf": [text(20, 3), {"type": "null"}]},
    policy={"enum": ["defer", "refuse"]},
    information_approval=BOOLEAN,
)
QUIET_ANSWER: Schema = {
    "type": "object",
    "required": ["tenant", "quiet_hours", "policy", "information_approval"],
    "properties": {
        "tenant": {"type": "string"},
        "quiet_hours": {"type": ["string", "null"]},
        "policy": {"type": "string"},
        "information_approval": {"type": "boolean"},
    },
}


async def quiet_hours(call: Call) -> Reply:
    """(admin) A tenant's quiet hours for information notices, and whether an information
    agent's notices need a second approval."""
    assert call.code is not None  # noqa: S101 - the route has {code}
    b = call.body
    if "hours" not in b:
        hours = await schedules.current_quiet_hours(call.env.pool, call.code)
    else:
        hours = None if b["hours"] is None else parse_quiet(b["hours"])
    result = await schedules.set_quiet_hours(
        call.env.pool,
        call.op,
        call.code,
        hours=hours,
        policy=b.get("policy"),
        information_approval=b.get("information_approval"),
        actor=call.actor,
    )
    return Reply(result)


ROUTES = [
    Route(
        "GET",
        "/schedules",
        list_all,
        "the schedules of your territory",
        "schedules",
        list_schema(schedules.ScheduleView),
    ),
    Route(
        "POST",
        "/schedules/preview",
        preview,
        "a schedule's next firings and who it reaches today, before it is saved",
        "schedules",
        dataclass_schema(schedules.Plan),
        body=CREATE,
    ),
    Route("POST", "/schedules", create, "save a schedule", "schedules", VIEW, 201, CREATE),
    Route("GET", ID, show, "a schedule, its next firings and its latest ones", "schedules", VIEW),
    *(
        Route("POST", f"{ID}/{verb}", _mover(verb), summary, "schedules", VIEW, body=obj())
        for verb, summary in (
            ("pause", "stop firing until resumed"),
            ("resume", "fire again, from now"),
            ("delete", "never fire again (kept for the audit)"),
            ("approve", "approve another person's schedule (four eyes)"),
        )
    ),
    Route(
        "POST",
        "/tenants/{code}/quiet-hours",
        quiet_hours,
        "(admin) a tenant's quiet hours for information notices",
        "schedules",
        QUIET_ANSWER,
        body=QUIET,
    ),
]
