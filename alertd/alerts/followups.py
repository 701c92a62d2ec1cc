"""After the alert is sent: updates, the all-clear, cancellation.

An update or an all-clear goes to exactly the people who hold the alert; a zone that grows reaches
the newcomers with the alert itself, one that shrinks releases those outside with an all-clear.
Each follow-up is an alert of its own (parent_id = the alert), so the outbox's unique
(alert, subscriber) key means nobody gets the same message twice.

Every follow-up is planned first (``followup_plan``): the officer sees who gets what before
confirming, and one that reaches people who have not received the alert needs a second person's
approval above the tenant's threshold, like a new send: it waits as a pending update until then.
After a cancel, a correction (an update without a new zone) or an all-clear still reaches those
who received something.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from alertd import audit
from alertd.alerts import checks, lifecycle
from alertd.alerts.access import check_may_send
from alertd.alerts.followup_plan import (
    AFTER_CANCEL,
    SENT,
    Plan,
    Texts,
    Work,
    follow_up_texts,
    plan_all_clear,
    plan_update,
    root_alert,
)
from alertd.alerts.previews import fallen_back, stored_texts
from alertd.alerts.texts import estimate
from alertd.delivery import enqueue
from alertd.errors import ConflictError, ForbiddenError
from alertd.logs import get_logger
from alertd.operators import Operator
from alertd.store.queries import queries
from alertd.store.types import Conn

log = get_logger(__name__)
__all__ = ["Cancelled", "FollowUp", "Plan", "all_clear", "approve_update", "cancel", "update"]


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What an update or an all-clear did: the child alerts and how many each reaches."""

    update_id: int | None
    update_recipients: int
    all_clear_id: int | None
    all_clear_recipients: int
    newcomers: int  # newly inside an enlarged zone: sent the alert itself
    # "sent", or "pending_approval": the update (update_id) waits for a second person
    status: str = "sent"


@dataclass(frozen=True, slots=True)
class Cancelled:
    alerts: int  # the alert and its follow-ups that were still going
    deliveries_stopped: int  # messages that will never be sent


async def preview_update(
    ctx: lifecycle.Context,
    op: Operator,
    alert_id: int,
    *,
    params: Mapping[str, str],
    template: str = "update",
    zone_ids: Sequence[int] = (),
    geometry: Mapping[str, Any] | None = None,
    outside_territory: bool = False,
) -> Plan:
    """What ``update`` would do, nothing written."""
    lifecycle.require(op, "operator", "updating an alert")
    root = await root_alert(ctx.pool, op, alert_id, "updated", SENT + AFTER_CANCEL)
    work = await plan_update(
        ctx,
        op,
        root,
        params=params,
        template=template,
        zone_ids=zone_ids,
        geometry=geometry,
        outside_territory=outside_territory,
    )
    return work.plan


async def preview_all_clear(
    ctx: lifecycle.Context, op: Operator, alert_id: int, *, params: Mapping[str, str]
) -> Plan:
    lifecycle.require(op, "operator", "giving the all-clear")
    root = await root_alert(ctx.pool, op, alert_id, "closed by an all-clear", SENT + AFTER_CANCEL)
    return (await plan_all_clear(ctx, root, params)).plan


async def preview_pending(ctx: lifecycle.Context, op: Operator, update_id: int) -> Plan:
    """The plan of an update waiting for approval, as it would be carried out now."""
    return (await _pending_work(ctx, op, update_id)).plan


async def preview_child(ctx: lifecycle.Context, op: Operator, child_id: int) -> Plan:
    """``alert preview`` of a follow-up: an update waiting for approval as it would go now; one
    already sent as it went (its texts, to whom, what it cost)."""
    child = await lifecycle.load(ctx.pool, op, child_id)
    if child["status"] == "pending_approval":
        return await preview_pending(ctx, op, child_id)
    texts = stored_texts(child)
    rows = await ctx.pool.fetch(queries("alerts")["languages_of"], child_id)
    by_language = {r["language"]: int(r["n"]) for r in rows}
    cost = estimate(texts, fallen_back(by_language, texts), ctx.prices, ctx.rate)
    return Plan(
        alert=child["parent_id"],
        kind=child["message_kind"],
        holders=sum(by_language.values()),
        newcomers=0,
        leavers=0,
        texts=tuple(texts.values()),
        leaver_texts=(),
        segments=cost.segments,
        cost_eur=cost.cost_eur,
        eta_seconds=cost.seconds,
        reach_after=sum(by_language.values()),
        approval_threshold=child["approval_threshold"],
        needs_approval=False,
    )


async def update(
    ctx: lifecycle.Context,
    op: Operator,
    alert_id: int,
    *,
    params: Mapping[str, str],
    template: str = "update",
    zone_ids: Sequence[int] = (),
    geometry: Mapping[str, Any] | None = None,
    outside_territory: bool = False,
    actor: str,
) -> FollowUp:
    """A point of situation to exactly those who hold the alert. With a new zone: newcomers get
    the alert itself, those still inside the update, those now outside an all-clear; when that
    takes the alert's reach above the threshold, the update waits for a second person."""
    lifecycle.require(op, "operator", "updating an alert")
    root = await root_alert(ctx.pool, op, alert_id, "updated", SENT + AFTER_CANCEL)
    check_may_send(op, root)
    work = await plan_update(
        ctx,
        op,
        root,
        params=params,
        template=template,
        zone_ids=zone_ids,
        geometry=geometry,
        outside_territory=outside_territory,
    )
    if work.plan.needs_approval:
        pending = await _child(ctx, op, work, work.update, status="pending_approval", actor=actor)
        log.info(
            "alert.update_pending_approval",
            alert_id=alert_id,
            update_id=pending,
            newcomers=work.plan.newcomers,
            reach_after=work.plan.reach_after,
        )
        return FollowUp(
            pending, work.plan.holders, None, 0, work.plan.newcomers, "pending_approval"
        )
    return await _carry_out(ctx, op, work, actor)


async def approve_update(
    ctx: lifecycle.Context, op: Operator, update_id: int, actor: str
) -> FollowUp:
    """A second person approves an update that reaches newcomers: it is carried out at once,
    planned again now (who holds the alert, who is inside, as of now)."""
    work = await _pending_work(ctx, op, update_id)
    pending = await lifecycle.load(ctx.pool, op, update_id)
    await lifecycle.check_approver(ctx.pool, op, pending)
    check_may_send(op, pending)
    checks.check_still_valid(pending, datetime.now(UTC))
    async with ctx.pool.acquire() as conn, conn.transaction():
        status = await conn.fetchval(
            queries("alerts")["approve"], update_id, op.id, work.plan.newcomers
        )
        if status != "pending_approval":
            raise ConflictError(f"update {update_id} was approved, sent or cancelled meanwhile")
        await audit.record(
            conn,
            actor=actor,
            action="alert.update.approve",
            target=f"alert:{update_id}",
            tenant_id=pending["tenant_id"],
            details={"created_by": pending["created_by"], "newcomers": work.plan.newcomers},
        )
    return await _carry_out(ctx, op, work, actor, existing=update_id)


async def _pending_work(ctx: lifecycle.Context, op: Operator, update_id: int) -> Work:
    pending = await lifecycle.load(ctx.pool, op, update_id)
    if pending["message_kind"] != "update" or pending["status"] != "pending_approval":
        raise ConflictError(
            f"alert {update_id} is not an update waiting for approval (it is "
            f"{pending['status'].replace('_', ' ')})"
        )
    root = await root_alert(ctx.pool, op, pending["parent_id"], "updated", SENT + AFTER_CANCEL)
    zone_ids = list(await ctx.pool.fetchval(queries("alerts")["child_zones"], update_id))
    return await plan_update(
        ctx,
        op,
        root,
        params=dict(pending["params"]),
        template=pending["template"],
        zone_ids=zone_ids,
        geometry=pending["zone_geometry"],
        outside_territory=True,  # checked when it was asked for
    )


async def _carry_out(
    ctx: lifecycle.Context, op: Operator, work: Work, actor: str, existing: int | None = None
) -> FollowUp:
    root = work.root
    update_id = await _child(
        ctx, op, work, work.update, only=work.staying, actor=actor, existing=existing
    )
    clear_id = (
        await _child(ctx, op, work, work.clear, only=work.leaving, actor=actor)
        if work.clear is not None
        else None
    )
    if work.newcomers and work.inside is not None:
        await enqueue.write(
            ctx.pool, root["id"], enqueue.priority_of(root), work.inside, work.newcomers
        )
        await ctx.pool.execute(queries("alerts")["refresh_recipients"], root["id"])
    await audit.record(
        ctx.pool,
        actor=actor,
        action="alert.update",
        target=f"alert:{root['id']}",
        tenant_id=root["tenant_id"],
        details={
            "update": update_id,
            "all_clear": clear_id,
            "to_holders": len(work.staying),
            "released": len(work.leaving),
            "newcomers": len(work.newcomers),
            "new_zone": work.inside is not None,
            "after_cancel": root["status"] in AFTER_CANCEL,
        },
    )
    return FollowUp(update_id, len(work.staying), clear_id, len(work.leaving), len(work.newcomers))


async def all_clear(
    ctx: lifecycle.Context, op: Operator, alert_id: int, *, params: Mapping[str, str], actor: str
) -> FollowUp:
    """The end of the alert, to exactly those it was sent to; whoever it had not reached yet is
    not sent it any more. The alert is closed (a cancelled one stays cancelled)."""
    lifecycle.require(op, "operator", "giving the all-clear")
    root = await root_alert(ctx.pool, op, alert_id, "closed by an all-clear", SENT + AFTER_CANCEL)
    check_may_send(op, root)
    # Its texts are checked before anything changes: a mistake drops nothing, sends nothing.
    follow_up_texts(ctx.catalog, root, "all_clear", "all_clear", {**root["params"], **params})
    await ctx.pool.fetchval(queries("alerts")["drop_queued"], alert_id)
    work = await plan_all_clear(ctx, root, params)  # who received it, once nothing is queued
    clear_id = await _child(ctx, op, work, work.update, actor=actor)
    await ctx.pool.execute(queries("alerts")["close"], alert_id)
    await audit.record(
        ctx.pool,
        actor=actor,
        action="alert.all_clear",
        target=f"alert:{alert_id}",
        tenant_id=root["tenant_id"],
        details={"all_clear": clear_id, "recipients": len(work.staying)},
    )
    return FollowUp(None, 0, clear_id, len(work.staying), 0)


async def cancel(ctx: lifecycle.Context, op: Operator, alert_id: int, actor: str) -> Cancelled:
    """Stop at once: nothing queued for it (or its updates) is sent any more."""
    lifecycle.require_sender(op, "cancelling an alert")
    alert = await lifecycle.load(ctx.pool, op, alert_id)
    # An information agent stops a notice of their own (a wrong date sent to a sector), no other.
    if op.role == "information" and (
        alert["created_by"] != op.id or alert["severity"] != "information"
    ):
        raise ForbiddenError(
            f"operator {op.name!r} is an information agent: they cancel only their own "
            f"information notices, and alert {alert_id} is not one of them"
        )
    if alert["status"] in ("cancelled", "closed"):
        raise ConflictError(f"alert {alert_id} is already {alert['status']}")
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(queries("alerts")["cancel"], alert_id, op.id)
        assert row is not None  # noqa: S101 - an aggregate returns one row
        result = Cancelled(int(row["alerts"]), int(row["deliveries"]))
        await audit.record(
            conn,
            actor=actor,
            action="alert.cancel",
            target=f"alert:{alert_id}",
            tenant_id=alert["tenant_id"],
            details=asdict(result),
        )
    return result


async def _child(
    ctx: lifecycle.Context,
    op: Operator,
    work: Work,
    texts: Texts,
    *,
    only: set[int] | None = None,
    status: str = "sending",
    actor: str,
    existing: int | None = None,
) -> int:
    """A follow-up (update or all-clear) of the root alert, written to the holders (to ``only``
    those of them, when given); or, with status pending_approval, stored to wait for it."""
    root, kind = work.root, texts.kind
    count = len(work.holders.ids() if only is None else only)
    async with ctx.pool.acquire() as conn, conn.transaction():
        if existing is None:
            child = await _insert_child(conn, op, work, texts, status)
        else:
            child = existing
            await conn.execute(queries("alerts")["start_child"], child)
        await conn.execute(queries("alerts")["set_recipients"], child, count, None, None)
        await audit.record(
            conn,
            actor=actor,
            action=f"alert.{kind}." + ("approval_requested" if status != "sending" else "send"),
            target=f"alert:{child}",
            tenant_id=root["tenant_id"],
            details={"parent": root["id"], "recipients": count},
        )
    if status != "sending":
        return child
    await enqueue.write(ctx.pool, child, enqueue.priority_of(root), work.holders, only)
    await ctx.pool.execute(queries("alerts")["set_status"], child, "sent", ["sending"])
    return child


async def _insert_child(conn: Conn, op: Operator, work: Work, texts: Texts, status: str) -> int:
    root = work.root
    with_zone = texts.kind == "update"
    child = int(
        await conn.fetchval(
            queries("alerts")["insert"],
            root["tenant_id"],
            root["id"],
            texts.kind,
            root["hazard"],
            root["severity"],
            root["exercise"],
            status,
            texts.template,
            texts.params,
            sorted(texts.texts),
            list(root["topics"]),
            {lang: t.text for lang, t in texts.texts.items()},
            dict(work.geometry) if with_zone and work.geometry else None,
            op.id,
            lifecycle.DEFAULT_EXPIRY_S[root["severity"]],
        )
    )
    if with_zone and work.zone_ids:
        await conn.execute(queries("alerts")["add_zones"], child, list(work.zone_ids))
    return child
