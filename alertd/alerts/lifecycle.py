"""The alert lifecycle for the duty officer: draft, preview, approval, send, update, cancel,
all-clear.

Every step checks the operator's role and territory (a commune's operator reaches only its
commune's residents; the intercommunality's reach all) and is written to the audit log. An update
or an all-clear goes to exactly the people who hold the alert; a zone that grows reaches the
newcomers with the alert itself, a zone that shrinks releases those outside with an all-clear.
The outbox's unique (alert, subscriber) key makes every send safe to repeat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from alertd import audit
from alertd.alerts import approvals, checks, previews, quiet, targets
from alertd.alerts.access import (
    RANK,
    approval_needed,
    check_approver,
    check_information_agent,
    check_may_send,
    load,
    require,
    require_sender,
    scope,
    target_tenant,
)
from alertd.alerts.previews import Matcher, Preview, stored_texts
from alertd.alerts.texts import missing_params, render_texts
from alertd.config import METROPOLE_EXTENT
from alertd.delivery import enqueue
from alertd.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from alertd.operators import Operator
from alertd.store.queries import queries
from alertd.store.types import Queryable
from templates import Catalog
from zones import PostcodeAreas
from zones.geojson import Extent

__all__ = [
    "RANK",
    "Preview",
    "check_approver",
    "load",
    "require",
    "require_sender",
    "scope",
    "stored_texts",
]

SEVERITIES = ("life_safety", "information")
DEFAULT_EXPIRY_S = {"life_safety": 6 * 3600.0, "information": 24 * 3600.0}
HELD = ("queued", "sending", "submitted", "delivered")  # who an update goes to
RECEIVED = ("sending", "submitted", "delivered")  # who an all-clear goes to


@dataclass(frozen=True, slots=True)
class Context:
    """What the lifecycle needs from the configuration, built once."""

    pool: asyncpg.Pool
    catalog: Catalog
    # Not read any more: postcode areas are the tenant's data, in the database (kept so that
    # callers building a Context positionally still work; pass None).
    postcode_areas: PostcodeAreas | None = None
    prices: Mapping[str, Decimal] = field(default_factory=dict)
    rate: float = 0.0  # the primary gateway's, in segments per second; 0: not configured
    extent: Extent = METROPOLE_EXTENT  # the deployment's, for tenants without their own
    # Who a zone reaches: the daemon's in-memory index under the API (milliseconds instead of
    # seconds at a million subscribers); None: the database (enqueue.match), as the CLI does.
    matcher: Matcher | None = None


def matcher(ctx: Context) -> Matcher:
    return ctx.matcher or enqueue.match


@dataclass(frozen=True, slots=True)
class Draft:
    template: str
    params: Mapping[str, str]
    zone_ids: Sequence[int] = ()
    geometry: Mapping[str, Any] | None = None  # an uploaded zone or a circle, WGS84 GeoJSON
    hazard: str | None = None  # default: the template's event
    severity: str | None = None  # default: the template's
    languages: Sequence[str] = ()  # default: every language the template has
    topics: Sequence[str] = ()
    expires_in_s: float | None = None
    exercise: bool = False
    tenant_code: str | None = None  # default: the operator's
    outside_territory: bool = False  # a zone outside the tenant's territory, on purpose
    communes: Sequence[str] = ()  # whole communes, by INSEE code (see alerts.targets)
    postcodes: Sequence[str] = ()  # whole postcode areas


@dataclass(frozen=True, slots=True)
class Sent:
    alert_id: int
    status: str  # "sent", or "pending_approval" when a second operator must approve
    recipients: int
    written: int
    resumed: bool = False  # it was `sending`: an interrupted send, finished now


# -- draft and preview ---------------------------------------------------------------------------


async def create(ctx: Context, op: Operator, draft: Draft, actor: str) -> int:
    """Store a draft that passed every check; one that reaches nobody is refused, not stored."""
    require_sender(op, "drafting an alert")
    missing = missing_params(ctx.catalog, draft.template, draft.params)
    if missing:
        raise InputError(f"template {draft.template!r} needs --param for: {', '.join(missing)}")
    checks.check_params(ctx.catalog, draft.template, draft.params)
    template = ctx.catalog.get(draft.template, "fr")
    severity = draft.severity or template.severity
    if severity not in SEVERITIES:
        raise InputError(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    check_information_agent(op, severity, draft.topics)
    texts = render_texts(
        ctx.catalog, draft.template, draft.params, draft.languages, exercise=draft.exercise
    )
    expires = DEFAULT_EXPIRY_S[severity] if draft.expires_in_s is None else draft.expires_in_s
    if expires <= 0:
        raise InputError("the expiry must be in the future")
    async with ctx.pool.acquire() as conn, conn.transaction():
        tenant_id = await target_tenant(conn, op, draft.tenant_code)
        await checks.check_topics(conn, tenant_id, severity, draft.topics)
        drawn = await targets.combined(
            conn, tenant_id, draft.geometry, draft.communes, draft.postcodes
        )
        geometries = await check_zones(
            conn,
            op,
            draft.zone_ids,
            drawn,
            tenant_id=tenant_id,
            ctx=ctx,
            outside_territory=draft.outside_territory,
        )
        found = await matcher(ctx)(
            conn,
            tenant_id=tenant_id,
            geometries=geometries,
            life_safety=severity == "life_safety",
            topics=draft.topics,
            exercise=draft.exercise,
        )
        if not found.ids():
            raise InputError(
                "this alert would reach nobody: no active subscriber of the territory lives "
                "inside its zone (or chose its topics, or takes part in exercises); nothing was "
                "stored: check the zone, its CRS and the topics"
            )
        alert_id = int(
            await conn.fetchval(
                queries("alerts")["insert"],
                tenant_id,
                None,
                "alert",
                draft.hazard or template.event,
                severity,
                draft.exercise,
                "draft",
                draft.template,
                dict(draft.params),
                sorted(texts),
                list(draft.topics),
                {lang: t.text for lang, t in texts.items()},
                dict(drawn) if drawn else None,
                op.id,
                expires,
            )
        )
        if draft.zone_ids:
            await conn.execute(queries("alerts")["add_zones"], alert_id, list(draft.zone_ids))
        await audit.record(
            conn,
            actor=actor,
            action="alert.create",
            target=f"alert:{alert_id}",
            tenant_id=tenant_id,
            details={
                "template": draft.template,
                "severity": severity,
                "exercise": draft.exercise,
                "zones": list(draft.zone_ids),
                "drawn_zone": draft.geometry is not None,
                **({"communes": list(draft.communes)} if draft.communes else {}),
                **({"postcodes": list(draft.postcodes)} if draft.postcodes else {}),
                "outside_territory": draft.outside_territory,
            },
        )
    return alert_id


async def check_zones(
    conn: Queryable,
    op: Operator,
    zone_ids: Sequence[int],
    geometry: Mapping[str, Any] | None,
    *,
    tenant_id: int,
    ctx: Context,
    outside_territory: bool = False,
) -> list[Mapping[str, Any]]:
    """The zones may be used by this operator, and each lies in the tenant's plausible extent
    and territory (the same checks for a stored zone, a file or a circle). Returns them."""
    if not zone_ids and geometry is None:
        raise InputError(
            "give the alert a zone: --zone ID, --geojson FILE, --circle LON,LAT,M, --commune "
            "INSEE or --postcode CODE"
        )
    rows = await conn.fetch(
        queries("alerts")["zones_usable"], list(zone_ids), await scope(conn, op), op.tenant_id
    )
    usable = {r["id"]: r["geometry"] for r in rows}
    refused = [z for z in zone_ids if z not in usable]
    existing = {
        r["id"] for r in await conn.fetch("SELECT id FROM zones WHERE id = ANY($1)", refused)
    }
    if missing := [z for z in refused if z not in existing]:
        # Exit code 66 (not found), as the README's table says; another's zone stays 77.
        raise NotFoundError(
            f"zone(s) {', '.join(map(str, missing))} do not exist (see `alertd zones list`)"
        )
    if refused:
        raise ForbiddenError(
            f"zone(s) {', '.join(map(str, refused))} do not exist or belong to another "
            f"territory than {op.tenant_code}'s"
        )
    shapes = [usable[z] for z in zone_ids] + ([geometry] if geometry else [])
    for one in shapes:
        await checks.check_geometry(
            conn,
            tenant_id,
            one,
            default_extent=ctx.extent,
            outside_territory=outside_territory,
        )
    return shapes


async def preview(ctx: Context, op: Operator, alert_id: int) -> Preview:
    """Who it reaches (by address, by postcode), the text per language, cost and time."""
    alert = await load(ctx.pool, op, alert_id)
    if alert["message_kind"] != "alert":
        raise InputError(
            f"alert {alert_id} is an {alert['message_kind']} of alert {alert['parent_id']}: "
            "its preview is that of the follow-up (alertd alert preview shows it)"
        )
    found = await recipients_of(ctx, alert_id)
    report = _preview(ctx, alert, found)
    # An information agent's notice skips the second approval unless the tenant asks for it.
    return replace(report, needs_approval=approval_needed(op, alert, len(found.ids())))


async def recipients_of(ctx: Context, alert_id: int) -> enqueue.Matched:
    """Who is inside the alert's zones now, counted on the alert (the approval threshold and the
    list read the count)."""
    alert = await enqueue.alert_zones(ctx.pool, alert_id)
    found = await matcher(ctx)(
        ctx.pool,
        tenant_id=alert["tenant_id"],
        geometries=enqueue.geometries_of(alert),
        life_safety=alert["severity"] == "life_safety",
        topics=alert["topics"],
        exercise=alert["exercise"],
    )
    await ctx.pool.execute(
        queries("alerts")["set_recipients"],
        alert_id,
        len(found.ids()),
        len(found.by_address),
        len(found.by_postcode),
    )
    return found


def _preview(ctx: Context, alert: asyncpg.Record, found: enqueue.Matched) -> Preview:
    return previews.build(alert, found, ctx.prices, ctx.rate, datetime.now(UTC))


# -- approval and send ---------------------------------------------------------------------------


async def send(
    ctx: Context, op: Operator, alert_id: int, actor: str, *, quiet_hours: bool = True
) -> Sent:
    """Send now, or ask for a second operator's approval when it reaches more people than the
    tenant's threshold. Safe to repeat: a send that was interrupted resumes. An information
    notice is refused inside the tenant's quiet hours, unless ``quiet_hours`` is False (the
    scheduler's firings, whose times the rule already moved out of them)."""
    require_sender(op, "sending an alert")
    alert = await load(ctx.pool, op, alert_id)
    check_may_send(op, alert)
    if alert["message_kind"] != "alert":
        raise ConflictError(
            f"alert {alert_id} is an {alert['message_kind']}: it is sent with its alert "
            f"({alert['parent_id']}), or by its approval (alertd alert approve {alert_id})"
        )
    if alert["status"] not in ("draft", "approved", "sending"):
        raise ConflictError(
            f"alert {alert_id} is {alert['status'].replace('_', ' ')}: it cannot be sent"
            + (
                " before a second operator approves it"
                if alert["status"] == "pending_approval"
                else ""
            )
        )
    now = datetime.now(UTC)
    checks.check_still_valid(alert, now)
    if quiet_hours and alert["status"] in ("draft", "approved"):  # not one being sent: finished
        quiet.check_send_now(alert, now)
    found = await recipients_of(ctx, alert_id)
    recipients = len(found.ids())
    if not recipients and alert["status"] == "draft":
        raise InputError(
            f"alert {alert_id} reaches nobody: no active subscriber of your territory lives "
            "inside its zone (or follows its topics, or takes part in exercises); check the zone"
        )
    if alert["status"] == "approved" and checks.drifted(alert["approved_recipients"], recipients):
        await approvals.revoke(ctx.pool, alert, recipients, actor)
    if approval_needed(op, alert, recipients):
        await approvals.ask(ctx.pool, alert, recipients, actor)
        return Sent(alert_id, "pending_approval", recipients, 0)
    return await _enqueue(ctx, alert, found, op, actor)


async def _enqueue(
    ctx: Context, alert: asyncpg.Record, found: enqueue.Matched, op: Operator, actor: str
) -> Sent:
    async with ctx.pool.acquire() as conn, conn.transaction():
        started = await conn.fetchval(
            queries("alerts")["start_sending"],
            alert["id"],
            op.id,
            ["draft", "approved", "pending_approval", "sending"],
        )
        if started is None:
            raise ConflictError(f"alert {alert['id']} was cancelled or closed meanwhile")
        await audit.record(
            conn,
            actor=actor,
            action="alert.send",
            target=f"alert:{alert['id']}",
            tenant_id=alert["tenant_id"],
            details={
                "recipients": len(found.ids()),
                "by_address": len(found.by_address),
                "by_postcode": len(found.by_postcode),
                "exercise": alert["exercise"],
            },
        )
    # Outside the transaction: each batch commits on its own, so the daemons start sending
    # while the rest is written. The enqueue lock tells the daemons it is being written (a killed
    # command lets go of it: they finish the alert then).
    async with enqueue.enqueuing(ctx.pool, alert["id"], wait=True):
        written = await enqueue.finish(ctx.pool, alert, found)
    resumed = alert["status"] == "sending"
    return Sent(alert["id"], "sent", len(found.ids()), written, resumed)


async def approve(ctx: Context, op: Operator, alert_id: int, actor: str) -> Sent | None:
    """A second operator approves; an alert waiting for it is sent at once. Returns what was
    sent, or None when the draft is approved for later."""
    require(op, "approver", "approving an alert")
    alert = await load(ctx.pool, op, alert_id)
    if alert["message_kind"] != "alert":
        # An update waiting for approval goes to holders and newcomers, not to its zone:
        # followups.approve_update carries it out (alertd alert approve routes it there).
        raise ConflictError(
            f"alert {alert_id} is an {alert['message_kind']} of alert {alert['parent_id']}: "
            "it is approved as a follow-up (alertd alert approve), not as an alert"
        )
    await check_approver(ctx.pool, op, alert)
    check_may_send(op, alert)
    if alert["status"] == "sending" and alert["approved_by"] is not None:
        # Approved and sent, but its enqueue was interrupted: approving again finishes it.
        return await _enqueue(ctx, alert, await recipients_of(ctx, alert_id), op, actor)
    now = datetime.now(UTC)
    checks.check_still_valid(alert, now)
    if alert["status"] == "pending_approval":  # approving it sends it at once
        quiet.check_send_now(alert, now)
    found = await recipients_of(ctx, alert_id)
    async with ctx.pool.acquire() as conn, conn.transaction():
        status = await conn.fetchval(
            queries("alerts")["approve"], alert_id, op.id, len(found.ids())
        )
        if status is None:
            raise ConflictError(
                f"alert {alert_id} is {alert['status'].replace('_', ' ')}: there is nothing to "
                "approve"
            )
        await audit.record(
            conn,
            actor=actor,
            action="alert.approve",
            target=f"alert:{alert_id}",
            tenant_id=alert["tenant_id"],
            details={"created_by": alert["created_by"], "recipients": len(found.ids())},
        )
    if status != "pending_approval":
        return None
    alert = await load(ctx.pool, op, alert_id)
    return await _enqueue(ctx, alert, found, op, actor)
