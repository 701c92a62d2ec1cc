"""Schedules: checked and shown with their next firings before they are saved, approved by a
second person when the tenant's rules say so, paused, resumed, deleted; every step audited.

A schedule stores what each firing drafts (template, parameters, targets, topics) and when; the
firing itself goes through the alert lifecycle as its author (``firing``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import asyncpg

from alertd import audit
from alertd.alerts import checks, lifecycle, targets
from alertd.alerts.access import (
    approval_needed,
    check_approver,
    check_information_agent,
    check_tenant,
    require,
    require_sender,
    scope,
    target_tenant,
)
from alertd.alerts.quiet import Quiet
from alertd.alerts.texts import missing_params, render_texts
from alertd.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from alertd.operators import Operator
from alertd.schedule.rules import Firing, Rule, check_quiet, firings, zone
from alertd.store.queries import queries
from alertd.store.types import Queryable
from templates import TemplateError

DEFAULT_GRACE_S = 3600.0
SHOWN_FIRINGS = 5
CHANNEL = "alertd_schedules"  # NOTIFY: the scheduler looks again at once


@dataclass(frozen=True, slots=True)
class Spec:
    """A schedule as its author writes it."""

    name: str
    template: str
    rule: Rule
    params: Mapping[str, str] = field(default_factory=dict)
    zone_ids: Sequence[int] = ()
    communes: Sequence[str] = ()  # INSEE codes
    postcodes: Sequence[str] = ()
    topics: Sequence[str] = ()
    languages: Sequence[str] = ()
    severity: str | None = None  # default: the template's
    grace_s: float = DEFAULT_GRACE_S
    tenant_code: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """What a schedule would do, shown before it is saved."""

    name: str
    tenant_code: str
    severity: str
    when: str
    recipients_now: int
    needs_approval: bool
    next_firings: list[Firing]
    texts: dict[str, str]


@dataclass(frozen=True, slots=True)
class FiringLine:
    fire_time: datetime
    due_at: datetime
    status: str
    alert_id: int | None
    error: str | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class ScheduleView:
    id: int
    name: str
    tenant_code: str
    status: str
    template: str
    severity: str
    params: dict[str, str]
    topics: list[str]
    zone_ids: list[int]
    communes: list[str]
    postcodes: list[str]
    when: str
    run_at: datetime | None
    cron: str | None
    timezone: str
    skip_holidays: bool
    except_dates: list[date]
    grace_s: float
    created_by: str
    approved_by: str | None
    created_at: datetime
    next_firings: list[Firing]
    firings: list[FiringLine] = field(default_factory=list)


def describe(rule: Rule) -> str:
    if rule.run_at is not None:
        local = rule.run_at.astimezone(zone(rule.timezone))
        return f"once at {local:%Y-%m-%d %H:%M} {rule.timezone}"
    text = f"cron '{rule.cron}' in {rule.timezone}"
    if rule.skip_holidays:
        text += ", except public holidays"
    if rule.except_dates:
        text += ", except " + ", ".join(d.isoformat() for d in sorted(rule.except_dates))
    return text


def rule_of(row: Any) -> Rule:
    return Rule(
        timezone=row["timezone"],
        run_at=row["run_at"],
        cron=row["cron"],
        skip_holidays=row["skip_holidays"],
        except_dates=frozenset(row["except_dates"]),
    )


def quiet_of(row: Any) -> Quiet:
    """A tenant's quiet hours, from a row that has them (else none)."""
    found = dict(row)
    return Quiet(
        found.get("quiet_start"), found.get("quiet_end"), found.get("quiet_policy", "defer")
    )


async def _tenant(conn: Queryable, tenant_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT id, code, approval_threshold, information_approval, quiet_start, quiet_end, "
        "quiet_policy FROM tenants WHERE id = $1",
        tenant_id,
    )
    assert row is not None  # noqa: S101 - the id comes from target_tenant
    return row


async def plan(ctx: lifecycle.Context, op: Operator, spec: Spec, now: datetime) -> Plan:
    """Every check a firing will pass, run now, and the next firings: nothing is stored."""
    require_sender(op, "scheduling a notice")
    if not spec.name.strip() or len(spec.name) > 200:
        raise InputError("give the schedule a name of 1 to 200 characters (--name)")
    if spec.grace_s < 0 or spec.grace_s > 7 * 86_400:
        raise InputError("the grace time is between 0 and 7 days")
    try:
        severity = spec.severity or ctx.catalog.get(spec.template, "fr").severity
    except TemplateError as exc:
        raise InputError(str(exc)) from None
    if severity not in lifecycle.SEVERITIES:
        raise InputError(f"severity must be one of {', '.join(lifecycle.SEVERITIES)}")
    check_information_agent(op, severity, spec.topics)  # who may, before what is missing
    missing = missing_params(ctx.catalog, spec.template, spec.params)
    if missing:
        raise InputError(f"template {spec.template!r} needs --param for: {', '.join(missing)}")
    checks.check_params(ctx.catalog, spec.template, spec.params)
    if not (spec.zone_ids or spec.communes or spec.postcodes):
        raise InputError("give the schedule a target: --zone ID, --commune INSEE or --postcode")
    texts = render_texts(ctx.catalog, spec.template, spec.params, spec.languages, exercise=False)
    async with ctx.pool.acquire() as conn:
        tenant_id = await target_tenant(conn, op, spec.tenant_code)
        tenant = await _tenant(conn, tenant_id)
        await checks.check_topics(conn, tenant_id, severity, spec.topics)
        drawn = await targets.geometry(conn, tenant_id, spec.communes, spec.postcodes)
        geometries = await lifecycle.check_zones(
            conn, op, spec.zone_ids, drawn, tenant_id=tenant_id, ctx=ctx
        )
        found = await lifecycle.matcher(ctx)(
            conn,
            tenant_id=tenant_id,
            geometries=geometries,
            life_safety=severity == "life_safety",
            topics=spec.topics,
            exercise=False,
        )
    quiet = quiet_of(tenant)
    check_quiet(spec.rule, now, severity=severity, quiet=quiet)
    upcoming = firings(spec.rule, now, severity=severity, quiet=quiet, limit=SHOWN_FIRINGS)
    if not upcoming:
        raise InputError(f"this schedule would never fire after now ({describe(spec.rule)})")
    recipients = len(found.ids())
    gate = {
        "approved_by": None,
        "approval_threshold": tenant["approval_threshold"],
        "severity": severity,
        "information_approval": tenant["information_approval"],
    }
    return Plan(
        name=spec.name.strip(),
        tenant_code=tenant["code"],
        severity=severity,
        when=describe(spec.rule),
        recipients_now=recipients,
        needs_approval=approval_needed(op, gate, recipients),  # type: ignore[arg-type]
        next_firings=upcoming,
        texts={lang: t.text for lang, t in texts.items()},
    )


async def create(
    ctx: lifecycle.Context, op: Operator, spec: Spec, now: datetime, actor: str
) -> ScheduleView:
    """Checked as ``plan`` shows it, then stored: active, or waiting for a second approval."""
    shown = await plan(ctx, op, spec, now)
    rule = spec.rule
    status = "pending_approval" if shown.needs_approval else "active"
    async with ctx.pool.acquire() as conn, conn.transaction():
        tenant_id = await target_tenant(conn, op, spec.tenant_code)
        schedule_id = int(
            await conn.fetchval(
                queries("schedules")["insert"],
                tenant_id,
                shown.name,
                op.id,
                spec.template,
                dict(spec.params),
                shown.severity,
                list(spec.languages),
                list(spec.topics),
                list(spec.zone_ids),
                list(spec.communes),
                list(spec.postcodes),
                rule.run_at,
                rule.cron,
                rule.timezone,
                rule.skip_holidays,
                sorted(rule.except_dates),
                spec.grace_s,
                status,
                now,
            )
        )
        await audit.record(
            conn,
            actor=actor,
            action="schedule.create",
            target=f"schedule:{schedule_id}",
            tenant_id=tenant_id,
            details={
                "name": shown.name,
                "template": spec.template,
                "severity": shown.severity,
                "when": shown.when,
                "recipients_now": shown.recipients_now,
                "status": status,
            },
        )
        await conn.execute(f"NOTIFY {CHANNEL}")
    return await show(ctx.pool, op, schedule_id, now)


async def _load(conn: Queryable, op: Operator, schedule_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(queries("schedules")["get"], schedule_id)
    if row is None:
        raise NotFoundError(f"schedule {schedule_id} does not exist")
    if row["tenant_id"] not in await scope(conn, op):
        raise ForbiddenError(
            f"schedule {schedule_id} belongs to {row['tenant_name']}, outside the territory of "
            f"operator {op.name!r} ({op.tenant_code})"
        )
    return row


def _view(row: Any, now: datetime, lines: Sequence[FiringLine] = ()) -> ScheduleView:
    rule = rule_of(row)
    upcoming = (
        firings(
            rule,
            max(now, row["checked_until"]),
            severity=row["severity"],
            quiet=quiet_of(row),
            limit=SHOWN_FIRINGS,
        )
        if row["status"] in ("active", "pending_approval", "paused")
        else []
    )
    return ScheduleView(
        id=row["id"],
        name=row["name"],
        tenant_code=row["tenant_code"],
        status=row["status"],
        template=row["template"],
        severity=row["severity"],
        params=dict(row["params"]),
        topics=list(row["topics"]),
        zone_ids=list(row["zone_ids"]),
        communes=list(row["communes"]),
        postcodes=list(row["postcodes"]),
        when=describe(rule),
        run_at=row["run_at"],
        cron=row["cron"],
        timezone=row["timezone"],
        skip_holidays=row["skip_holidays"],
        except_dates=sorted(row["except_dates"]),
        grace_s=row["grace_s"],
        created_by=row["created_by_name"],
        approved_by=row["approved_by_name"],
        created_at=row["created_at"],
        next_firings=upcoming,
        firings=list(lines),
    )


async def show(pool: asyncpg.Pool, op: Operator, schedule_id: int, now: datetime) -> ScheduleView:
    async with pool.acquire() as conn:
        row = await _with_quiet(conn, await _load(conn, op, schedule_id))
        lines = [
            FiringLine(**dict(r))
            for r in await conn.fetch(queries("schedules")["firings_of"], schedule_id, 20)
        ]
    return _view(row, now, lines)


async def _with_quiet(conn: Queryable, row: asyncpg.Record) -> Any:
    quiet = await conn.fetchrow(queries("schedules")["quiet_of"], row["tenant_id"])
    return {**dict(row), **dict(quiet or {})}


async def list_schedules(pool: asyncpg.Pool, op: Operator, now: datetime) -> list[ScheduleView]:
    require(op, "viewer", "listing schedules")
    async with pool.acquire() as conn:
        rows = await conn.fetch(queries("schedules")["list"], await scope(conn, op))
        return [_view(await _with_quiet(conn, r), now) for r in rows]


async def _may_manage(conn: Queryable, op: Operator, row: asyncpg.Record) -> None:
    """Its author, or an operator (or above) of the territory."""
    if row["created_by"] == op.id:
        return
    require(op, "operator", "managing another person's schedule")


async def _move(
    pool: asyncpg.Pool,
    op: Operator,
    schedule_id: int,
    *,
    to: str,
    allowed: Sequence[str],
    action: str,
    actor: str,
    now: datetime,
    checked: datetime | None = None,
) -> ScheduleView:
    async with pool.acquire() as conn, conn.transaction():
        row = await _load(conn, op, schedule_id)
        await _may_manage(conn, op, row)
        moved = await conn.fetchval(
            queries("schedules")["set_status"], schedule_id, to, list(allowed), checked
        )
        if moved is None:
            raise ConflictError(
                f"schedule {schedule_id} is {row['status'].replace('_', ' ')}: it cannot be "
                f"{action.rsplit('.', maxsplit=1)[-1]}d"
            )
        await audit.record(
            conn,
            actor=actor,
            action=action,
            target=f"schedule:{schedule_id}",
            tenant_id=row["tenant_id"],
        )
        await conn.execute(f"NOTIFY {CHANNEL}")
    if to == "deleted":
        return _view({**dict(row), "status": "deleted"}, now)
    return await show(pool, op, schedule_id, now)


async def pause(
    pool: asyncpg.Pool, op: Operator, sid: int, actor: str, now: datetime
) -> ScheduleView:
    return await _move(
        pool,
        op,
        sid,
        to="paused",
        allowed=["active"],
        action="schedule.pause",
        actor=actor,
        now=now,
    )


async def resume(
    pool: asyncpg.Pool, op: Operator, sid: int, actor: str, now: datetime
) -> ScheduleView:
    """Active again from now: what would have fired during the pause does not fire late."""
    return await _move(
        pool,
        op,
        sid,
        to="active",
        allowed=["paused"],
        action="schedule.resume",
        actor=actor,
        now=now,
        checked=now,
    )


async def delete(
    pool: asyncpg.Pool, op: Operator, sid: int, actor: str, now: datetime
) -> ScheduleView:
    """Kept, marked deleted: its firings and the alerts they sent stay readable in the audit."""
    return await _move(
        pool,
        op,
        sid,
        to="deleted",
        allowed=["active", "paused", "pending_approval", "done"],
        action="schedule.delete",
        actor=actor,
        now=now,
    )


async def approve(
    pool: asyncpg.Pool, op: Operator, schedule_id: int, actor: str, now: datetime
) -> ScheduleView:
    """A second person approves the schedule itself: each of its firings is sent under this
    approval. Firings due before the approval do not fire late."""
    async with pool.acquire() as conn, conn.transaction():
        row = await _load(conn, op, schedule_id)
        await check_approver(conn, op, row)
        moved = await conn.fetchval(queries("schedules")["approve"], schedule_id, op.id, now)
        if moved is None:
            raise ConflictError(
                f"schedule {schedule_id} is {row['status'].replace('_', ' ')}: there is nothing "
                "to approve"
            )
        await audit.record(
            conn,
            actor=actor,
            action="schedule.approve",
            target=f"schedule:{schedule_id}",
            tenant_id=row["tenant_id"],
            details={"created_by": row["created_by"]},
        )
        await conn.execute(f"NOTIFY {CHANNEL}")
    return await show(pool, op, schedule_id, now)


async def current_quiet_hours(pool: asyncpg.Pool, code: str) -> tuple[time, time] | None:
    """A tenant's quiet hours as they are (None: none), for a change that leaves them."""
    row = await pool.fetchrow("SELECT quiet_start, quiet_end FROM tenants WHERE code = $1", code)
    if row is None or row["quiet_start"] is None or row["quiet_end"] is None:
        return None
    return row["quiet_start"], row["quiet_end"]


async def set_quiet_hours(
    pool: asyncpg.Pool,
    op: Operator,
    code: str,
    *,
    hours: tuple[time, time] | None,
    policy: str | None,
    information_approval: bool | None,
    actor: str,
) -> dict[str, Any]:
    """A tenant's quiet hours for information notices (None: none), what happens to a notice
    due in them, and whether an information agent's notices need a second approval."""
    require(op, "admin", "changing a tenant's quiet hours")
    if policy is not None and policy not in ("defer", "refuse"):
        raise InputError("the policy is defer (wait for the morning) or refuse")
    async with pool.acquire() as conn, conn.transaction():
        tenant_id = await check_tenant(conn, op, code, "change the quiet hours")
        start, end = hours if hours is not None else (None, None)
        row = await conn.fetchrow(
            queries("schedules")["set_quiet"], tenant_id, start, end, policy, information_approval
        )
        assert row is not None  # noqa: S101 - the tenant exists
        result = {
            "tenant": code,
            "quiet_hours": f"{start:%H:%M}-{end:%H:%M}" if start and end else None,
            "policy": row["quiet_policy"],
            "information_approval": row["information_approval"],
        }
        await audit.record(
            conn,
            actor=actor,
            action="tenant.quiet_hours",
            target=f"tenant:{code}",
            tenant_id=tenant_id,
            details=result,
        )
    return result
