"""One firing of a schedule, through the alert lifecycle as any send: drafted as the schedule's
author, previewed (its recipients counted), sent into the outbox, every step audited.

A firing is claimed first (its unique (schedule, fire time) row), then its alert is drafted and
written on the row, then it is sent. Killed anywhere in between, the leader that comes next
finishes it: a draft without its row is never sent (a draft sends nothing), and an alert that
is on the row is sent (or its send resumed) at most once: the outbox's key holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from alertd.alerts import approvals, lifecycle
from alertd.errors import AlertdError
from alertd.logs import get_logger
from alertd.operators import Operator
from alertd.store.queries import queries

log = get_logger(__name__)
_SENT = ("sent", "closed")  # its send is over: nothing to do again
_WHY = {
    "held": "alert {alert} waits for a second approval",
    "withdrawn": "alert {alert} was cancelled before it was due: not sent",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    schedule_id: int
    fire_time: str
    status: str  # sent | held | failed | withdrawn | drafted
    alert_id: int | None
    error: str | None = None


async def author(pool: asyncpg.Pool, operator_id: int) -> Operator:
    row = await pool.fetchrow(queries("schedules")["operator_by_id"], operator_id)
    if row is None or row["disabled_at"] is not None:
        raise AlertdError(
            f"its author (operator {operator_id}) is disabled: pause or delete the schedule, "
            "or have another operator create it again"
        )
    return Operator(
        row["id"],
        row["tenant_id"],
        row["tenant_code"],
        row["name"],
        row["role"],
        row["token_kind"],
        tuple(row["topics"]),
    )


async def fire(ctx: lifecycle.Context, row: Any, *, send: bool = True) -> Outcome:
    """Finish the claimed firing ``row`` (a schedule with its firing_id, fire_time and
    firing_alert_id): sent, held for approval, withdrawn (its schedule paused or deleted since
    it was drafted), or failed with the reason (stored, logged). ``send=False``: only draft its
    alert, ahead of its due time, so that at the due time only the send remains."""
    schedule_id, firing_id = row["id"], row["firing_id"]
    fire_time = row["fire_time"].isoformat()
    alert_id: int | None = row["firing_alert_id"]
    if row["status"] not in ("active", "done"):
        reason = f"the schedule was {row['status']} before this firing was due: not sent"
        await ctx.pool.execute(queries("schedules")["firing_done"], firing_id, "withdrawn", reason)
        log.info("schedule.withdrawn", schedule_id=schedule_id, fire_time=fire_time)
        return Outcome(schedule_id, fire_time, "withdrawn", alert_id, reason)
    try:
        op = await author(ctx.pool, row["created_by"])
        actor = f"schedule:{schedule_id} for operator:{op.id}"
        if alert_id is None:
            alert_id = await _draft(ctx, op, row, actor)
            await ctx.pool.execute(queries("schedules")["firing_alert"], firing_id, alert_id)
        if not send:
            await _approve(ctx, op, row, alert_id, actor)
            return Outcome(schedule_id, fire_time, "drafted", alert_id)
        status = await _send(ctx, op, row, alert_id, actor)
    except (AlertdError, asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
        await ctx.pool.execute(queries("schedules")["firing_done"], firing_id, "failed", str(exc))
        log.warning(
            "schedule.firing_failed",
            schedule_id=schedule_id,
            fire_time=fire_time,
            alert_id=alert_id,
            error=str(exc),
        )
        return Outcome(schedule_id, fire_time, "failed", alert_id, str(exc))
    error = _WHY[status].format(alert=alert_id) if status in _WHY else None
    await ctx.pool.execute(queries("schedules")["firing_done"], firing_id, status, error)
    log.info(
        "schedule.fired",
        schedule_id=schedule_id,
        fire_time=fire_time,
        alert_id=alert_id,
        status=status,
    )
    return Outcome(schedule_id, fire_time, status, alert_id, error)


async def _draft(ctx: lifecycle.Context, op: Operator, row: Any, actor: str) -> int:
    draft = lifecycle.Draft(
        template=row["template"],
        params=dict(row["params"]),
        zone_ids=list(row["zone_ids"]),
        communes=list(row["communes"]),
        postcodes=list(row["postcodes"]),
        severity=row["severity"],
        languages=list(row["languages"]),
        topics=list(row["topics"]),
        tenant_code=row["tenant_code"],
    )
    return await lifecycle.create(ctx, op, draft, actor)


async def _send(ctx: lifecycle.Context, op: Operator, row: Any, alert_id: int, actor: str) -> str:
    alert = await lifecycle.load(ctx.pool, op, alert_id)
    if alert["status"] in _SENT:
        return "sent"
    if alert["status"] == "cancelled":  # an officer cancelled the drafted notice
        return "withdrawn"
    if alert["status"] == "pending_approval":
        return "held"
    await _approve(ctx, op, row, alert_id, actor, alert=alert)
    # The rule placed its due time out of the quiet hours (rules.release); a firing a little
    # late is not held a day for it.
    sent = await lifecycle.send(ctx, op, alert_id, actor, quiet_hours=False)
    return "sent" if sent.status == "sent" else "held"


async def _approve(
    ctx: lifecycle.Context,
    op: Operator,
    row: Any,
    alert_id: int,
    actor: str,
    *,
    alert: asyncpg.Record | None = None,
) -> None:
    """The schedule's approval, carried onto its firing's alert (once)."""
    alert = alert or await lifecycle.load(ctx.pool, op, alert_id)
    if row["approved_by"] is None or alert["approved_by"] is not None:
        return
    found = await lifecycle.recipients_of(ctx, alert_id)
    await approvals.carry(
        ctx.pool,
        alert,
        row["approved_by"],
        len(found.ids()),
        actor,
        because=f"schedule {row['id']} approved",
    )
