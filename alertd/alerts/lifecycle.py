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
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from alertd import audit
from alertd.alerts.texts import Text, estimate, missing_params, render_texts
from alertd.delivery import enqueue
from alertd.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from alertd.operators import Operator
from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.tenants import get_tenant, territory
from templates import Catalog, analyse
from zones import PostcodeAreas

RANK = {"viewer": 0, "operator": 1, "approver": 2, "admin": 3}
SEVERITIES = ("life_safety", "information")
DEFAULT_EXPIRY_S = {"life_safety": 6 * 3600.0, "information": 24 * 3600.0}
HELD = ("queued", "sending", "submitted", "delivered")  # who an update goes to
RECEIVED = ("sending", "submitted", "delivered")  # who an all-clear goes to


@dataclass(frozen=True, slots=True)
class Context:
    """What the lifecycle needs from the configuration, built once."""

    pool: asyncpg.Pool
    catalog: Catalog
    postcode_areas: PostcodeAreas | None
    prices: Mapping[str, Decimal] = field(default_factory=dict)
    rate: float = 0.0  # the primary gateway's, in segments per second; 0: not configured


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


@dataclass(frozen=True, slots=True)
class Preview:
    """Who an alert reaches (by address, by postcode, by language), its texts, cost and time."""

    alert: int
    tenant: str
    hazard: str
    severity: str
    exercise: bool
    status: str
    recipients: int
    by_address: int
    by_postcode: int
    by_language: Mapping[str, int]
    texts: tuple[Text, ...]
    segments: int
    cost_eur: Mapping[str, str]  # per gateway, if everything went through it
    eta_seconds: float | None  # at the primary gateway's rate; None: no rate configured
    approval_threshold: int
    needs_approval: bool


@dataclass(frozen=True, slots=True)
class Sent:
    alert_id: int
    status: str  # "sent", or "pending_approval" when a second operator must approve
    recipients: int
    written: int
    resumed: bool = False  # it was `sending`: an interrupted send, finished now


# -- permissions ---------------------------------------------------------------------------------


def require(op: Operator, role: str, doing: str) -> None:
    if RANK[op.role] < RANK[role]:
        raise ForbiddenError(
            f"{doing} needs the {role} role; operator {op.name!r} has the {op.role} role"
        )


async def scope(conn: Queryable, op: Operator) -> list[int]:
    """The tenants whose residents this operator may reach and whose alerts they may read."""
    return await territory(conn, op.tenant_id)


async def load(conn: Queryable, op: Operator, alert_id: int) -> asyncpg.Record:
    alert = await conn.fetchrow(queries("alerts")["get"], alert_id)
    if alert is None:
        raise NotFoundError(f"alert {alert_id} does not exist")
    if alert["tenant_id"] not in await scope(conn, op):
        raise ForbiddenError(
            f"alert {alert_id} belongs to {alert['tenant_name']}, outside the territory of "
            f"operator {op.name!r} ({op.tenant_code})"
        )
    return alert


# -- draft and preview ---------------------------------------------------------------------------


async def create(ctx: Context, op: Operator, draft: Draft, actor: str) -> int:
    require(op, "operator", "drafting an alert")
    missing = missing_params(ctx.catalog, draft.template, draft.params)
    if missing:
        raise InputError(f"template {draft.template!r} needs --param for: {', '.join(missing)}")
    template = ctx.catalog.get(draft.template, "fr")
    severity = draft.severity or template.severity
    if severity not in SEVERITIES:
        raise InputError(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    texts = render_texts(
        ctx.catalog, draft.template, draft.params, draft.languages, exercise=draft.exercise
    )
    expires = DEFAULT_EXPIRY_S[severity] if draft.expires_in_s is None else draft.expires_in_s
    if expires <= 0:
        raise InputError("the expiry must be in the future")
    async with ctx.pool.acquire() as conn, conn.transaction():
        tenant_id = await _target_tenant(conn, op, draft.tenant_code)
        await check_zones(conn, op, draft.zone_ids, draft.geometry)
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
                dict(draft.geometry) if draft.geometry else None,
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
            },
        )
    return alert_id


async def _target_tenant(conn: Queryable, op: Operator, code: str | None) -> int:
    if code is None or code == op.tenant_code:
        return op.tenant_id
    tenant = await get_tenant(conn, code)
    if tenant["id"] not in await scope(conn, op):
        raise ForbiddenError(
            f"operator {op.name!r} ({op.tenant_code}) cannot alert the residents of "
            f"{tenant['name']} ({code})"
        )
    return int(tenant["id"])


async def check_zones(
    conn: Queryable,
    op: Operator,
    zone_ids: Sequence[int],
    geometry: Mapping[str, Any] | None,
) -> None:
    if not zone_ids and geometry is None:
        raise InputError("give the alert a zone: --zone ID, --geojson FILE or --circle LON,LAT,M")
    usable = {
        r["id"]
        for r in await conn.fetch(
            queries("alerts")["zones_usable"],
            list(zone_ids),
            await scope(conn, op),
            op.tenant_id,
        )
    }
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


async def preview(ctx: Context, op: Operator, alert_id: int) -> Preview:
    """Who it reaches (by address, by postcode), the text per language, cost and time."""
    alert = await load(ctx.pool, op, alert_id)
    return _preview(ctx, alert, await recipients_of(ctx, alert_id))


async def recipients_of(ctx: Context, alert_id: int) -> enqueue.Matched:
    """Who is inside the alert's zones now, counted on the alert (the approval threshold and the
    list read the count)."""
    found = await enqueue.match_alert(
        ctx.pool, await enqueue.alert_zones(ctx.pool, alert_id), ctx.postcode_areas
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
    texts = stored_texts(alert)
    by_language = found.languages()
    cost = estimate(texts, _fallen_back(by_language, texts), ctx.prices, ctx.rate)
    recipients = len(found.ids())
    return Preview(
        alert=alert["id"],
        tenant=alert["tenant_code"],
        hazard=alert["hazard"],
        severity=alert["severity"],
        exercise=alert["exercise"],
        status=alert["status"],
        recipients=recipients,
        by_address=len(found.by_address),
        by_postcode=len(found.by_postcode),
        by_language=dict(sorted(by_language.items())),
        texts=tuple(texts.values()),
        segments=cost.segments,
        cost_eur=cost.cost_eur,
        eta_seconds=cost.seconds,
        approval_threshold=alert["approval_threshold"],
        needs_approval=recipients > alert["approval_threshold"] and alert["approved_by"] is None,
    )


def stored_texts(alert: asyncpg.Record) -> dict[str, Text]:
    texts: dict[str, str] = dict(alert["texts"])
    infos = {lang: analyse(text) for lang, text in sorted(texts.items())}
    return {
        lang: Text(lang, texts[lang], info.encoding, info.segments) for lang, info in infos.items()
    }


def _fallen_back(by_language: Mapping[str, int], texts: Mapping[str, Text]) -> dict[str, int]:
    """Recipients per text actually sent: a language without a text counts as French."""
    counts: dict[str, int] = {}
    for lang, n in by_language.items():
        key = lang if lang in texts else "fr"
        counts[key] = counts.get(key, 0) + n
    return counts


# -- approval and send ---------------------------------------------------------------------------


async def send(ctx: Context, op: Operator, alert_id: int, actor: str) -> Sent:
    """Send now, or ask for a second operator's approval when it reaches more people than the
    tenant's threshold. Safe to repeat: a send that was interrupted resumes."""
    require(op, "operator", "sending an alert")
    alert = await load(ctx.pool, op, alert_id)
    if alert["message_kind"] != "alert":
        raise ConflictError(f"alert {alert_id} is an {alert['message_kind']}: it was sent with it")
    if alert["status"] not in ("draft", "approved", "sending"):
        raise ConflictError(
            f"alert {alert_id} is {alert['status'].replace('_', ' ')}: it cannot be sent"
            + (
                " before a second operator approves it"
                if alert["status"] == "pending_approval"
                else ""
            )
        )
    found = await recipients_of(ctx, alert_id)
    recipients = len(found.ids())
    if not recipients and alert["status"] == "draft":
        raise InputError(
            f"alert {alert_id} reaches nobody: no active subscriber of your territory lives "
            "inside its zone (or follows its topics, or takes part in exercises); check the zone"
        )
    if recipients > alert["approval_threshold"] and alert["approved_by"] is None:
        await _ask_approval(ctx.pool, alert, recipients, actor)
        return Sent(alert_id, "pending_approval", recipients, 0)
    return await _enqueue(ctx, alert, found, op, actor)


async def _ask_approval(
    pool: asyncpg.Pool, alert: asyncpg.Record, recipients: int, actor: str
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        moved = await conn.fetchval(
            queries("alerts")["set_status"], alert["id"], "pending_approval", ["draft"]
        )
        if moved is None:
            raise ConflictError(f"alert {alert['id']} changed meanwhile: look at its status")
        await audit.record(
            conn,
            actor=actor,
            action="alert.approval_requested",
            target=f"alert:{alert['id']}",
            tenant_id=alert["tenant_id"],
            details={"recipients": recipients, "threshold": alert["approval_threshold"]},
        )


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
    if alert["created_by"] == op.id:
        raise ForbiddenError(
            f"nobody approves their own alert: another approver than {op.name!r} must approve "
            f"alert {alert_id}"
        )
    if alert["status"] == "sending" and alert["approved_by"] is not None:
        # Approved and sent, but its enqueue was interrupted: approving again finishes it.
        return await _enqueue(ctx, alert, await recipients_of(ctx, alert_id), op, actor)
    async with ctx.pool.acquire() as conn, conn.transaction():
        status = await conn.fetchval(queries("alerts")["approve"], alert_id, op.id)
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
            details={"created_by": alert["created_by"], "recipients": alert["recipients"]},
        )
    if status != "pending_approval":
        return None
    alert = await load(ctx.pool, op, alert_id)
    return await _enqueue(ctx, alert, await recipients_of(ctx, alert_id), op, actor)
