"""Reading alerts: one alert's progress with its follow-ups, and the latest alerts of a
territory. Nothing here writes; an operator reads only the alerts of their territory."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from alertd.alerts import lifecycle
from alertd.delivery import daemon, enqueue, fake_gateways, outbox
from alertd.operators import Operator
from alertd.store.queries import queries


@dataclass(frozen=True, slots=True)
class FollowUpProgress:
    """An update or an all-clear of the alert, and how far its sending is."""

    id: int
    message_kind: str
    status: str
    recipients: int | None
    progress: Mapping[str, int]  # deliveries by status, with in_doubt and rerouted


@dataclass(frozen=True, slots=True)
class Status:
    alert: int
    kind: str
    parent: int | None
    tenant: str
    hazard: str
    severity: str
    exercise: bool
    status: str
    recipients: int | None  # None: never previewed
    created_by: str | None
    approved_by: str | None
    sent_at: datetime | None
    expires_at: datetime | None
    progress: Mapping[str, int]  # deliveries by status, with in_doubt and rerouted
    followups: tuple[FollowUpProgress, ...]
    # While `sending`: "writing" (an enqueue is writing its deliveries now) or "interrupted" (it
    # was killed midway: the daemon finishes it); None once every delivery is written.
    enqueue: str | None = None
    written: int = 0  # deliveries written so far
    daemons: int = 0  # `alertd serve` processes connected now: none, nothing is being sent
    timezone: str = "Europe/Paris"  # the tenant's: times are shown in it
    cancelled_at: datetime | None = None
    # Set when nothing of the alert reached a phone (a training alert, or a fake gateway):
    # every reader of the status (CLI, JSON, API) must see it.
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AlertLine:
    """One alert in the list."""

    id: int
    parent_id: int | None
    message_kind: str
    hazard: str
    severity: str
    exercise: bool
    status: str
    recipients: int | None
    created_at: datetime
    sent_at: datetime | None
    tenant_code: str
    # submitted or delivered; PostgreSQL's sum() of bigints is numeric, a Decimal here
    sent: Decimal
    timezone: str = "Europe/Paris"  # the tenant's: times are shown in it


async def status(ctx: lifecycle.Context, op: Operator, alert_id: int) -> Status:
    alert = await lifecycle.load(ctx.pool, op, alert_id)
    counts = await outbox.progress(ctx.pool, alert_id)
    children = [
        FollowUpProgress(
            c["id"],
            c["message_kind"],
            c["status"],
            c["recipients"],
            await outbox.progress(ctx.pool, c["id"]),
        )
        for c in await ctx.pool.fetch(queries("alerts")["children"], alert_id)
    ]
    state = None
    if alert["status"] == "sending" and alert["message_kind"] == "alert":
        writing = await enqueue.being_enqueued(ctx.pool, alert_id)
        state = "writing" if writing else "interrupted"
    return Status(
        alert=alert_id,
        kind=alert["message_kind"],
        parent=alert["parent_id"],
        tenant=alert["tenant_code"],
        hazard=alert["hazard"],
        severity=alert["severity"],
        exercise=alert["exercise"],
        status=alert["status"],
        recipients=alert["recipients"],
        created_by=alert["created_by_name"],
        approved_by=alert["approved_by_name"],
        sent_at=alert["sent_at"],
        expires_at=alert["expires_at"],
        progress=counts,
        followups=tuple(children),
        enqueue=state,
        written=sum(n for k, n in counts.items() if k not in ("in_doubt", "rerouted")),
        daemons=await daemon.daemons(ctx.pool),
        timezone=alert["timezone"],
        cancelled_at=alert["cancelled_at"],
        note=await fake_gateways.reach_note(ctx.pool, alert_id),
    )


async def list_alerts(ctx: lifecycle.Context, op: Operator, limit: int) -> list[AlertLine]:
    """The latest alerts of the operator's territory, newest first."""
    rows = await ctx.pool.fetch(
        queries("alerts")["list"], await lifecycle.scope(ctx.pool, op), limit
    )
    return [AlertLine(**dict(r)) for r in rows]
