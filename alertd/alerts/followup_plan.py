"""What a follow-up will do, worked out before anything is written: who holds the alert, who is
newly inside a new zone (sent the alert itself), who is now outside (sent an all-clear), the
texts of each, segments, cost, and whether a second person must approve it.

A follow-up that reaches people who have not received the alert counts against the tenant's
threshold like a new send: the alert's reach after it (those it was written for, plus the
newcomers) is compared with the threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from alertd.alerts import lifecycle
from alertd.alerts.previews import fallen_back, stored_texts
from alertd.alerts.texts import Text, priced, render_texts
from alertd.delivery import enqueue
from alertd.errors import ConflictError, InputError
from alertd.operators import Operator
from alertd.store.queries import queries
from alertd.store.types import Queryable
from templates import Catalog, TemplateError

SENT = ("sending", "sent")  # an alert that can be followed up
AFTER_CANCEL = ("cancelled",)  # only a correction or an all-clear, to those who got it


@dataclass(frozen=True, slots=True)
class Plan:
    """A follow-up's preview: what the officer confirms, and what the approver approves."""

    alert: int
    kind: str  # "update" or "all_clear"
    holders: int  # get the update (or the all-clear)
    newcomers: int  # newly inside a new zone: get the alert itself
    leavers: int  # now outside a new zone: get an all-clear
    texts: tuple[Text, ...]  # the update's (or the all-clear's)
    leaver_texts: tuple[Text, ...]  # the all-clear for those now outside
    segments: int
    cost_eur: Mapping[str, str]
    eta_seconds: float | None
    reach_after: int  # how many people the alert itself will have reached
    approval_threshold: int
    needs_approval: bool


@dataclass(frozen=True, slots=True)
class Texts:
    kind: str
    template: str
    params: dict[str, str]
    texts: dict[str, Text]


@dataclass(frozen=True, slots=True)
class Work:
    """A plan and what carrying it out needs."""

    plan: Plan
    root: asyncpg.Record
    holders: enqueue.Matched
    staying: set[int]
    leaving: set[int]
    newcomers: set[int]
    inside: enqueue.Matched | None
    update: Texts
    clear: Texts | None
    zone_ids: Sequence[int] = ()
    geometry: Mapping[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def root_alert(
    pool: asyncpg.Pool, op: Operator, alert_id: int, what: str, allowed: Sequence[str]
) -> asyncpg.Record:
    alert = await lifecycle.load(pool, op, alert_id)
    if alert["message_kind"] != "alert":
        raise InputError(
            f"alert {alert_id} is an {alert['message_kind']} of alert {alert['parent_id']}: "
            f"name the alert itself ({alert['parent_id']})"
        )
    if alert["status"] not in allowed:
        raise ConflictError(
            f"alert {alert_id} is {alert['status'].replace('_', ' ')}: only a sent (or "
            f"cancelled) alert can be {what}"
        )
    return alert


async def holders_of(conn: Queryable, alert_id: int, statuses: Sequence[str]) -> enqueue.Matched:
    """Who holds the alert, found as they were for it (by address or by postcode)."""
    rows = await conn.fetch(queries("alerts")["holders"], alert_id, list(statuses))
    return enqueue.Matched(
        [r["subscriber_id"] for r in rows if r["matched_by"] != "postcode"],
        [r["subscriber_id"] for r in rows if r["matched_by"] == "postcode"],
        {r["subscriber_id"]: r["language"] for r in rows},
    )


def follow_up_texts(
    catalog: Catalog, root: asyncpg.Record, kind: str, template: str, params: Mapping[str, str]
) -> Texts:
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
    return Texts(kind, template, wanted, texts)


async def plan_update(
    ctx: lifecycle.Context,
    op: Operator,
    root: asyncpg.Record,
    *,
    params: Mapping[str, str],
    template: str,
    zone_ids: Sequence[int] = (),
    geometry: Mapping[str, Any] | None = None,
    outside_territory: bool = False,
) -> Work:
    holders = await holders_of(ctx.pool, root["id"], lifecycle.HELD)
    new_zone = bool(zone_ids) or geometry is not None
    inside: enqueue.Matched | None = None
    if new_zone:
        if root["status"] in AFTER_CANCEL:
            raise ConflictError(
                f"alert {root['id']} was cancelled: a new zone would send it to more people; "
                "send a correction to those who got it (without --zone), or draft a new alert"
            )
        geometries = await lifecycle.check_zones(
            ctx.pool,
            op,
            zone_ids,
            geometry,
            tenant_id=root["tenant_id"],
            ctx=ctx,
            outside_territory=outside_territory,
        )
        inside = await lifecycle.matcher(ctx)(
            ctx.pool,
            tenant_id=root["tenant_id"],
            geometries=geometries,
            life_safety=root["severity"] == "life_safety",
            topics=root["topics"],
            exercise=root["exercise"],
        )
        ids, held = inside.ids(), holders.ids()
        staying, leaving, newcomers = held & ids, held - ids, ids - held
    else:
        staying, leaving, newcomers = holders.ids(), set(), set()
    merged = {**dict(root["params"]), **params}
    update = follow_up_texts(ctx.catalog, root, "update", template, merged)
    clear = (
        follow_up_texts(ctx.catalog, root, "all_clear", "all_clear", merged) if leaving else None
    )
    reached = int(await ctx.pool.fetchval(queries("alerts")["written_for"], root["id"]))
    plan = _plan(
        ctx,
        root,
        holders=holders,
        inside=inside,
        sets=(staying, leaving, newcomers),
        update=update,
        clear=clear,
        reached=reached,
    )
    return Work(
        plan, root, holders, staying, leaving, newcomers, inside, update, clear, zone_ids, geometry
    )


def _plan(
    ctx: lifecycle.Context,
    root: asyncpg.Record,
    *,
    holders: enqueue.Matched,
    inside: enqueue.Matched | None,
    sets: tuple[set[int], set[int], set[int]],
    update: Texts,
    clear: Texts | None,
    reached: int,
) -> Plan:
    staying, leaving, newcomers = sets
    segments = _segments(update.texts, holders.languages(staying))
    if clear is not None:
        segments += _segments(clear.texts, holders.languages(leaving))
    if inside is not None and newcomers:
        segments += _segments(stored_texts(root), inside.languages(newcomers))
    reach_after = reached + len(newcomers)
    cost = priced(len(staying | leaving | newcomers), segments, ctx.prices, ctx.rate)
    return Plan(
        alert=root["id"],
        kind=update.kind,
        holders=len(staying),
        newcomers=len(newcomers),
        leavers=len(leaving),
        texts=tuple(update.texts.values()),
        leaver_texts=tuple(clear.texts.values()) if clear else (),
        segments=segments,
        cost_eur=cost.cost_eur,
        eta_seconds=cost.seconds,
        reach_after=reach_after,
        approval_threshold=root["approval_threshold"],
        needs_approval=bool(newcomers) and reach_after > root["approval_threshold"],
    )


def _segments(texts: Mapping[str, Text], by_language: Mapping[str, int]) -> int:
    counts = fallen_back(by_language, texts)
    return sum(n * texts.get(lang, texts["fr"]).segments for lang, n in counts.items())


async def plan_all_clear(
    ctx: lifecycle.Context, root: asyncpg.Record, params: Mapping[str, str]
) -> Work:
    """The end of the alert, to exactly those it was sent to (not those still queued: they will
    not be sent it any more)."""
    merged = {**dict(root["params"]), **params}
    clear = follow_up_texts(ctx.catalog, root, "all_clear", "all_clear", merged)
    holders = await holders_of(ctx.pool, root["id"], lifecycle.RECEIVED)
    reached = int(await ctx.pool.fetchval(queries("alerts")["written_for"], root["id"]))
    plan = _plan(
        ctx,
        root,
        holders=holders,
        inside=None,
        sets=(holders.ids(), set(), set()),
        update=clear,
        clear=None,
        reached=reached,
    )
    return Work(plan, root, holders, holders.ids(), set(), set(), None, clear, None)
