"""The town hall's desk (guichet): an operator registers a resident who cannot do it alone.

Any role but viewer, for a resident of their territory. The consent channel is "guichet" with
the operator recorded on each consent; the resident gets a confirmation SMS (queued in the same
transaction, sent by the running daemon, or by the next one to start) that they can answer STOP
to. A landline is refused: it could receive neither the confirmation nor an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from alertd.delivery import service_queue
from alertd.errors import ForbiddenError, InputError
from alertd.logs import mask_phone
from alertd.operators import Operator
from alertd.phones import parse_phone
from alertd.store.types import Conn
from alertd.subscribers import enrol as core
from alertd.subscribers.folding import fold
from alertd.tenants import territory
from templates import Catalog

CONFIRMATION = "subscription_confirmed"
SENDER_LENGTH = 40
MAX_STREET = 200


@dataclass(frozen=True, slots=True)
class DeskRequest:
    """What the operator typed, unchecked."""

    phone: str
    postcode: str
    commune: str | None = None
    street: str | None = None
    number: str | None = None
    language: str = "fr"
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Registered:
    """What the desk did: printed by the CLI, answered by the API."""

    subscriber_id: int
    phone: str  # masked: the operator has the number in front of them, a log or screen need not
    tenant: str
    tenant_name: str
    postcode: str
    address: str | None
    located: bool  # the address was found in the deployment's address file
    language: str
    topics: tuple[str, ...]
    before: str  # new, pending, active or stopped
    confirmation: str  # "queued": the daemon sends it


async def register(
    pool: asyncpg.Pool,
    op: Operator,
    request: DeskRequest,
    *,
    catalog: Catalog,
    region: str,
    now: datetime,
) -> Registered:
    if op.role == "viewer":
        raise ForbiddenError(
            f"registering a resident needs the operator role or above; operator {op.name!r} "
            "has the viewer role"
        )
    phone = parse_phone(request.phone, region)
    if not phone.can_receive_sms:
        raise InputError(
            f"phone {mask_phone(phone.e164)} is a {phone.kind} number: it cannot receive SMS "
            "alerts; ask for a mobile number"
        )
    street = (request.street or "").strip()
    if len(street) > MAX_STREET:
        raise InputError(f"the street is longer than {MAX_STREET} characters")
    if request.number and not street:
        raise InputError("a house number needs its street (--street)")
    async with pool.acquire() as conn, conn.transaction():
        placement = await _place(conn, op, request)
        point = (
            await core.locate(conn, placement.postcode, street, request.number) if street else None
        )
        address = " ".join(p for p in ((request.number or "").strip(), street) if p) or None
        enrolled = await core.enrol(
            conn,
            core.Enrolment(
                phone.e164,
                placement,
                request.language,
                frozenset(t.strip().lower() for t in request.topics if t.strip()),
                "guichet",
                address=address,
                lon=point[0] if point else None,
                lat=point[1] if point else None,
                operator_id=op.id,
            ),
            now=now,
        )
        name = " ".join(placement.tenant_name.split())[:SENDER_LENGTH].strip()
        text = (
            catalog.get(CONFIRMATION, request.language)
            .render({"sender": name, "commune": name})
            .to_send
        )
        await service_queue.queue(
            conn,
            phone.e164,
            text,
            purpose="desk_confirmation",
            now=now,
            tenant_id=placement.tenant_id,
            subscriber_id=enrolled.subscriber_id,
        )
    return Registered(
        enrolled.subscriber_id,
        mask_phone(phone.e164),
        placement.tenant_code,
        placement.tenant_name,
        placement.postcode,
        address,
        point is not None,
        request.language,
        tuple(sorted({t.strip().lower() for t in request.topics if t.strip()})),
        enrolled.before,
        "queued",
    )


async def _place(conn: Conn, op: Operator, request: DeskRequest) -> core.Placement:
    """Where the resident belongs, within the operator's territory. A commune's operator who
    names no commune for a postcode their commune shares with others places the resident in
    their own commune (the desk is the town hall's own)."""
    placement = await core.place(conn, request.postcode, request.commune)
    own = [c for c in placement.communes if c[0] == op.tenant_code]
    if len(placement.communes) > 1 and not request.commune and own:
        placement = await core.place(conn, request.postcode, op.tenant_code)
    reach = await territory(conn, op.tenant_id)
    if placement.tenant_id not in reach:
        raise ForbiddenError(
            f"operator {op.name!r} ({op.tenant_code}) cannot register a resident of "
            f"{placement.tenant_name} ({placement.postcode}): outside their territory"
        )
    return placement


def topics_of(raw: str | None) -> tuple[str, ...]:
    """'dechets, Travaux' gives ('dechets', 'travaux')."""
    return tuple(sorted({fold(t).replace(" ", "_") for t in (raw or "").split(",") if t.strip()}))
