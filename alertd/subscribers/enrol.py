"""A resident's subscription, whichever way they came in: the web page, an SMS keyword, the
town hall's desk. The shared core of issue 16.

``place`` finds the tenant a postcode belongs to; ``enrol`` records (or changes) the
subscription, with an append-only consent record per scope as proof; ``leave`` stops the person
everywhere; ``locate`` turns a street address into a point from the deployment's address file.
All run in the caller's transaction.

One row per person in a territory: an intercommunality's alert reaches every commune under it,
so a resident moving from one commune to another of the same territory moves their row rather
than getting a second one (two rows would send them a CUD alert twice).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from alertd import audit
from alertd.errors import InputError
from alertd.logs import get_logger, mask_phone
from alertd.phones import parse_phone
from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.subscribers import addresses
from alertd.subscribers.folding import fold

log = get_logger(__name__)
Channel = Literal["web", "sms", "guichet", "api", "import"]  # "guichet": the town hall's desk
LANGUAGES = ("fr", "en")
ALERTS = "alerts"  # the consent scope of life-safety alerts: always on while subscribed
SHOWN_POSTCODES = 12  # how many served postcodes a refusal names before "…"


class NotServedError(InputError):
    """No tenant of this deployment serves the postcode; the message names those served."""

    def __init__(self, message: str, served: tuple[str, ...]) -> None:
        super().__init__(message)
        self.served = served


@dataclass(frozen=True, slots=True)
class Placement:
    """Which tenant a resident of this postcode subscribes with."""

    tenant_id: int
    tenant_code: str
    tenant_name: str
    postcode: str
    communes: tuple[tuple[str, str], ...]  # (INSEE code, name) of the communes sharing it


@dataclass(frozen=True, slots=True)
class Enrolment:
    phone: str  # E.164, already validated (alertd.phones)
    placement: Placement
    language: str  # "fr" or "en"
    topics: frozenset[str]  # information topics chosen (alerts are always on, not a topic)
    channel: Channel
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    operator_id: int | None = None  # the desk's operator, recorded with the consent


@dataclass(frozen=True, slots=True)
class Enrolled:
    subscriber_id: int
    tenant_id: int
    before: Literal["new", "pending", "active", "stopped"]
    topics_added: frozenset[str]
    topics_removed: frozenset[str]


def served_list(served: Iterable[str], limit: int = SHOWN_POSTCODES) -> str:
    """'59140, 59210, …' shortened with '…' after ``limit`` postcodes."""
    codes = sorted(set(served))
    shown = ", ".join(codes[:limit])
    return shown + (", …" if len(codes) > limit else "")


async def served_postcodes(conn: Queryable) -> tuple[str, ...]:
    return tuple(await conn.fetchval(queries("enrol")["served_postcodes"]))


async def place(conn: Queryable, postcode: str, commune: str | None = None) -> Placement:
    """The commune serving the postcode (the most specific tenant). When several communes share
    it and ``commune`` (INSEE code or name, accents and case forgiven) does not pick one, the
    resident is placed with their intercommunality and ``communes`` lists the choices."""
    code = postcode_key(postcode)
    rows = await placements(conn, code)
    if not rows:
        served = await served_postcodes(conn)
        raise NotServedError(
            f"postcode {code!r} is not served here; served: {served_list(served) or 'none'}",
            served,
        )
    return placed(code, rows, commune)


def postcode_key(postcode: str) -> str:
    return postcode.strip().replace(" ", "")


async def placements(conn: Queryable, code: str) -> list[asyncpg.Record]:
    """The tenants serving postcode ``code`` (as ``postcode_key`` gives it), for ``placed``."""
    return list(await conn.fetch(queries("enrol")["placements"], code))


def placed(code: str, rows: Sequence[asyncpg.Record], commune: str | None) -> Placement:
    """``place`` once the postcode's tenants (``rows``, not empty) are known. Pure."""
    communes = tuple((str(r["code"]), str(r["name"])) for r in rows if r["kind"] == "commune")
    chosen = rows if len(rows) == 1 else _pick(rows, commune)
    if len(chosen) == 1:
        row = chosen[0]
        return Placement(row["id"], row["code"], row["name"], code, communes)
    parents = {r["parent_id"] for r in rows}
    if len(parents) == 1 and None not in parents:
        row = rows[0]
        return Placement(row["parent_id"], row["parent_code"], row["parent_name"], code, communes)
    names = ", ".join(name for _, name in communes)
    raise InputError(f"postcode {code} is shared by {names}: name the commune")


def _pick(rows: Sequence[asyncpg.Record], commune: str | None) -> list[asyncpg.Record]:
    if commune is None or not fold(commune):
        return list(rows)
    wanted = fold(commune)
    return [r for r in rows if r["code"] == commune.strip().upper() or fold(r["name"]) == wanted]


async def enrol(conn: Queryable, enrolment: Enrolment, *, now: datetime) -> Enrolled:
    """Insert or update (by phone) to active, in the caller's transaction: a stopped resident
    comes back; a resident subscribed with another tenant of the same territory moves. Consent is
    kept as proof (a record per scope given or withdrawn) and the change is audited."""
    e = enrolment
    q = queries("enrol")
    _check(e)
    # The lock and the tenant's topics in one round trip (a refusal rolls the lock back).
    offered = set(
        await conn.fetchval(q["lock_phone_topics"], e.phone, e.placement.tenant_id, column=1) or ()
    )
    unknown = sorted(e.topics - offered)
    if unknown:
        raise InputError(
            f"topic {', '.join(unknown)} is not offered by {e.placement.tenant_name}; "
            f"offered: {', '.join(sorted(offered))}"
        )
    rows = await conn.fetch(q["rows_in_territory"], e.phone, e.placement.tenant_id)
    topics = sorted(e.topics)
    place_args = (e.language, e.placement.postcode, e.address, e.lon, e.lat, topics)
    if rows:
        row = rows[0]
        before = row["status"]
        held = frozenset(row["topics"]) if before == "active" else frozenset()
        moved = row["tenant_id"] != e.placement.tenant_id
        fresh_consent = before != "active" or moved
        await conn.execute(
            q["update_subscriber"],
            row["id"],
            e.placement.tenant_id,
            *place_args,
            now,
            e.channel,
            fresh_consent,
        )
        subscriber_id = int(row["id"])
        if moved and before == "active":
            # Consent is given to a tenant: what was given to the one left is withdrawn there,
            # and given again to the new one below.
            await _consents(
                conn,
                subscriber_id,
                row["tenant_id"],
                [ALERTS, *sorted(held)],
                given=False,
                channel=e.channel,
                operator_id=e.operator_id,
                now=now,
            )
        others = [r["id"] for r in rows[1:]]
        if others:
            for other in await conn.fetch(q["stop_others"], others, now):
                await _consents(
                    conn,
                    other["id"],
                    other["tenant_id"],
                    [ALERTS, *sorted(other["topics"])],
                    given=False,
                    channel=e.channel,
                    operator_id=e.operator_id,
                    now=now,
                )
    else:
        before, held, fresh_consent = "new", frozenset(), True
        subscriber_id = await conn.fetchval(
            q["insert_subscriber"],
            e.placement.tenant_id,
            e.phone,
            parse_phone(e.phone).kind,
            *place_args,
            now,
            e.channel,
        )
    added, removed = e.topics - held, held - e.topics
    tenant_id = e.placement.tenant_id
    moved_here = bool(rows) and rows[0]["tenant_id"] != tenant_id
    given = ([ALERTS] if fresh_consent else []) + sorted(e.topics if moved_here else added)
    withdrawn = [] if moved_here else sorted(removed)
    # The consents and the audit entry in one statement, last before the commit (see the query).
    await conn.execute(
        q["record_consents_audited"],
        subscriber_id,
        tenant_id,
        given + withdrawn,
        [True] * len(given) + [False] * len(withdrawn),
        e.channel,
        e.operator_id,
        now,
        actor_of(e.channel, e.operator_id),
        "subscriber.enrol",
        {
            "phone": mask_phone(e.phone),
            "channel": e.channel,
            "before": before,
            "postcode": e.placement.postcode,
            "language": e.language,
            "topics_added": sorted(added),
            "topics_removed": sorted(removed),
            "located": e.lon is not None,
        },
    )
    log.info(
        "subscriber.enrolled",
        phone=mask_phone(e.phone),
        channel=e.channel,
        before=before,
        tenant=e.placement.tenant_code,
    )
    return Enrolled(subscriber_id, e.placement.tenant_id, before, added, removed)


def _check(e: Enrolment) -> None:
    if e.language not in LANGUAGES:
        raise InputError(f"language {e.language!r} is not one of {', '.join(LANGUAGES)}")
    if (e.lon is None) != (e.lat is None):
        raise InputError("a point needs both its longitude and its latitude")
    if e.address is not None and len(e.address) > 300:
        raise InputError("the address is longer than 300 characters")
    if e.channel == "guichet" and e.operator_id is None:
        raise InputError("a registration at the desk names the operator who made it")


async def _consents(
    conn: Queryable,
    subscriber_id: int,
    tenant_id: int,
    scopes: list[str],
    *,
    given: bool,
    channel: Channel,
    operator_id: int | None,
    now: datetime,
) -> None:
    """One consent record per scope, all at the same time."""
    if not scopes:
        return
    await conn.execute(
        queries("enrol")["record_consents"],
        subscriber_id,
        tenant_id,
        scopes,
        [given] * len(scopes),
        channel,
        operator_id,
        now,
    )


def actor_of(channel: Channel, operator_id: int | None) -> str:
    if operator_id is not None:
        return f"operator:{operator_id}"
    return {"web": "resident:web", "sms": "sms"}.get(channel, channel)


async def leave(
    conn: Queryable,
    phone: str,
    *,
    channel: Channel,
    now: datetime,
    operator_id: int | None = None,
) -> list[int]:
    """Stop the person everywhere, what is queued for them cancelled in the same transaction (as
    STOP does), consents withdrawn, audited. Returns the subscriber ids stopped (none when they
    were stopped already)."""
    stopped = await conn.fetch(queries("enrol")["stop_everywhere"], phone, now)
    if not stopped:
        return []
    cancelled = await conn.fetchval(queries("inbound")["cancel_queued"], phone)
    for row in stopped:
        await _consents(
            conn,
            row["id"],
            row["tenant_id"],
            [ALERTS, *sorted(row["topics"])],
            given=False,
            channel=channel,
            operator_id=operator_id,
            now=now,
        )
        await audit.record(
            conn,
            actor=actor_of(channel, operator_id),
            action="subscriber.stop",
            target=f"subscriber:{row['id']}",
            tenant_id=row["tenant_id"],
            details={"phone": mask_phone(phone), "channel": channel, "cancelled": cancelled},
        )
    log.info("subscriber.left", phone=mask_phone(phone), stopped=len(stopped), channel=channel)
    return [int(r["id"]) for r in stopped]


async def locate(
    conn: Queryable, postcode: str, street: str, number: str | None
) -> tuple[float, float] | None:
    """The point of this address from the deployment's address file, or None when no file was
    imported or nothing in it matches (the postcode is then the match)."""
    return await addresses.lookup(conn, postcode, street, number)
