"""After the alert is sent: updates, the all-clear, cancellation.

An update or an all-clear goes to exactly the people who hold the alert; a zone that grows reaches
the newcomers with the alert itself, one that shrinks releases those outside with an all-clear.
Each follow-up is an alert of its own (parent_id = the alert), so the outbox's unique
(alert, subscriber) key means nobody gets the same message twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg

from alertd import audit
from alertd.alerts import lifecycle
from alertd.alerts.texts import Text, render_texts
from alertd.delivery import enqueue
from alertd.errors import ConflictError, InputError
from alertd.operators import Operator
from alertd.store.queries import queries
from alertd.store.types import Queryable
from templates import Catalog, TemplateError


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What an update or an all-clear did: the child alerts and how many each reaches."""

    update_id: int | None
    update_recipients: int
    all_clear_id: int | None
    all_clear_recipients: int
    newcomers: int  # newly inside an enlarged zone: sent the alert itself


@dataclass(frozen=True, slots=True)
class Cancelled:
    alerts: int  # the alert and its follow-ups that were still going
    deliveries_stopped: int  # messages that will never be sent


async def update(
    ctx: lifecycle.Context,
    op: Operator,
    alert_id: int,
    *,
    params: Mapping[str, str],
    template: str = "update",
    zone_ids: Sequence[int] = (),
    geometry: Mapping[str, Any] | None = None,
    actor: str,
) -> FollowUp:
    """A point of situation to exactly those who hold the alert. With a new zone: newcomers get
    the alert itself, those still inside the update, those now outside an all-clear."""
    lifecycle.require(op, "operator", "updating an alert")
    root = await _sent_alert(ctx.pool, op, alert_id, "updated")
    holders = await _holders(ctx.pool, alert_id, lifecycle.HELD)
    new_zone = bool(zone_ids) or geometry is not None
    if new_zone:
        await lifecycle.check_zones(ctx.pool, op, zone_ids, geometry)
        inside = await enqueue.match(
            ctx.pool,
            tenant_id=root["tenant_id"],
            geometries=await _geometries(ctx.pool, zone_ids, geometry),
            life_safety=root["severity"] == "life_safety",
            topics=root["topics"],
            exercise=root["exercise"],
            postcode_areas=ctx.postcode_areas,
        )
        ids, held = inside.ids(), holders.ids()
        staying, leaving, newcomers = held & ids, held - ids, ids - held
    else:
        staying, leaving, newcomers = holders.ids(), set(), set()
    merged = {**dict(root["params"]), **params}
    update_texts = _texts(ctx.catalog, root, "update", template, merged)
    clear_texts = _texts(ctx.catalog, root, "all_clear", "all_clear", merged) if leaving else None
    update_id = await _child(
        ctx,
        op,
        root,
        texts=update_texts,
        recipients=holders,
        only=staying,
        actor=actor,
        zone_ids=zone_ids,
        geometry=geometry,
    )
    clear_id = (
        await _child(
            ctx, op, root, texts=clear_texts, recipients=holders, only=leaving, actor=actor
        )
        if clear_texts is not None
        else None
    )
    if newcomers:
        await enqueue.write(ctx.pool, alert_id, enqueue.priority_of(root), inside, newcomers)
    await audit.record(
        ctx.pool,
        actor=actor,
        action="alert.update",
        target=f"alert:{alert_id}",
        tenant_id=root["tenant_id"],
        details={
            "update": update_id,
            "all_clear": clear_id,
            "to_holders": len(staying),
            "released": len(leaving),
            "newcomers": len(newcomers),
            "new_zone": new_zone,
        },
    )
    return FollowUp(update_id, len(staying), clear_id, len(leaving), len(newcomers))


async def all_clear(
    ctx: lifecycle.Context, op: Operator, alert_id: int, *, params: Mapping[str, str], actor: str
) -> FollowUp:
    """The end of the alert, to exactly those it was sent to; whoever it had not reached yet is
    not sent it any more. The alert is closed."""
    lifecycle.require(op, "operator", "giving the all-clear")
    root = await _sent_alert(ctx.pool, op, alert_id, "closed by an all-clear")
    texts = _texts(ctx.catalog, root, "all_clear", "all_clear", {**dict(root["params"]), **params})
    await ctx.pool.fetchval(queries("alerts")["drop_queued"], alert_id)
    holders = await _holders(ctx.pool, alert_id, lifecycle.RECEIVED)
    clear_id = await _child(ctx, op, root, texts=texts, recipients=holders, actor=actor)
    await ctx.pool.execute(queries("alerts")["close"], alert_id)
    await audit.record(
        ctx.pool,
        actor=actor,
        action="alert.all_clear",
        target=f"alert:{alert_id}",
        tenant_id=root["tenant_id"],
        details={"all_clear": clear_id, "recipients": len(holders.ids())},
    )
    return FollowUp(None, 0, clear_id, len(holders.ids()), 0)


async def cancel(ctx: lifecycle.Context, op: Operator, alert_id: int, actor: str) -> Cancelled:
    """Stop at once: nothing queued for it (or its updates) is sent any more."""
    lifecycle.require(op, "operator", "cancelling an alert")
    alert = await lifecycle.load(ctx.pool, op, alert_id)
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


async def _sent_alert(pool: asyncpg.Pool, op: Operator, alert_id: int, what: str) -> asyncpg.Record:
    alert = await lifecycle.load(pool, op, alert_id)
    if alert["message_kind"] != "alert":
        raise InputError(
            f"alert {alert_id} is an {alert['message_kind']} of alert {alert['parent_id']}: "
            f"name the alert itself ({alert['parent_id']})"
        )
    if alert["status"] not in ("sending", "sent"):
        raise ConflictError(
            f"alert {alert_id} is {alert['status'].replace('_', ' ')}: only a sent alert can be "
            f"{what}"
        )
    return alert


async def _holders(conn: Queryable, alert_id: int, statuses: Sequence[str]) -> enqueue.Matched:
    """Who holds the alert, found as they were for it (by address or by postcode)."""
    rows = await conn.fetch(queries("alerts")["holders"], alert_id, list(statuses))
    return enqueue.Matched(
        [r["subscriber_id"] for r in rows if r["matched_by"] != "postcode"],
        [r["subscriber_id"] for r in rows if r["matched_by"] == "postcode"],
        {r["subscriber_id"]: r["language"] for r in rows},
    )


async def _geometries(
    conn: Queryable, zone_ids: Sequence[int], geometry: Mapping[str, Any] | None
) -> list[Mapping[str, Any]]:
    rows = await conn.fetch("SELECT geometry FROM zones WHERE id = ANY($1::bigint[])", zone_ids)
    return [r["geometry"] for r in rows] + ([geometry] if geometry else [])


@dataclass(frozen=True, slots=True)
class _Texts:
    kind: str
    template: str
    params: dict[str, str]
    texts: dict[str, Text]


def _texts(
    catalog: Catalog, root: asyncpg.Record, kind: str, template: str, params: Mapping[str, str]
) -> _Texts:
    """A follow-up's texts, from its template with the alert's parameters and the new ones;
    checked before anything is written, so a mistake sends nothing."""
    try:
        chosen = catalog.get(template, "fr")
    except TemplateError as exc:
        raise InputError(str(exc)) from None
    wanted = {k: v for k, v in params.items() if k in chosen.params}
    missing = [p for p in chosen.params if p not in wanted]
    if missing:
        raise InputError(f"the {kind.replace('_', '-')} needs --param for: {', '.join(missing)}")
    texts = render_texts(catalog, template, wanted, root["languages"], exercise=root["exercise"])
    return _Texts(kind, template, wanted, texts)


async def _child(
    ctx: lifecycle.Context,
    op: Operator,
    root: asyncpg.Record,
    *,
    texts: _Texts,
    recipients: enqueue.Matched,
    only: set[int] | None = None,
    actor: str,
    zone_ids: Sequence[int] = (),
    geometry: Mapping[str, Any] | None = None,
) -> int:
    """A follow-up (update or all-clear) of the root alert, sent to these subscribers (to
    ``only`` those of them, when given)."""
    kind = texts.kind
    count = len(recipients.ids() if only is None else only)
    async with ctx.pool.acquire() as conn, conn.transaction():
        child = int(
            await conn.fetchval(
                queries("alerts")["insert"],
                root["tenant_id"],
                root["id"],
                kind,
                root["hazard"],
                root["severity"],
                root["exercise"],
                "sending",
                texts.template,
                texts.params,
                sorted(texts.texts),
                list(root["topics"]),
                {lang: t.text for lang, t in texts.texts.items()},
                dict(geometry) if geometry else None,
                op.id,
                lifecycle.DEFAULT_EXPIRY_S[root["severity"]],
            )
        )
        if zone_ids:
            await conn.execute(queries("alerts")["add_zones"], child, list(zone_ids))
        await conn.execute(queries("alerts")["set_recipients"], child, count, None, None)
        await audit.record(
            conn,
            actor=actor,
            action=f"alert.{kind}.send",
            target=f"alert:{child}",
            tenant_id=root["tenant_id"],
            details={"parent": root["id"], "recipients": count},
        )
    await enqueue.write(ctx.pool, child, enqueue.priority_of(root), recipients, only)
    await ctx.pool.execute(queries("alerts")["set_status"], child, "sent", ["sending"])
    return child
