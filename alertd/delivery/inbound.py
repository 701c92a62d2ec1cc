"""Residents' SMS: STOP (any case, accents, spaces) stops them at once and is confirmed by one
SMS; other replies are kept against the alert they answer."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from alertd import audit
from alertd.logs import mask_phone
from alertd.store.queries import queries
from alertd.store.types import Queryable
from gateways.base import Inbound
from templates import Catalog

STOP_WORDS = frozenset({"STOP", "ARRET", "STOPSMS", "UNSUBSCRIBE", "DESABONNEMENT"})
CONFIRMATION = "unsubscribed"  # the template of the answer to STOP
SENDER_LENGTH = 40  # the template's limit on {sender}


@dataclass(frozen=True, slots=True)
class Handled:
    kind: str  # "stop" or "reply"
    alert_id: int | None  # the alert it answers: the last one sent to this number
    confirmation: str | None  # what to send back (a first STOP), else None


def is_stop(text: str) -> bool:
    """'stop', ' Stop ', 'ARRÊT', 'Arrêt.', 'STOP SMS' all mean stop."""
    plain = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in plain if c.isalnum()).upper()
    return letters in STOP_WORDS


async def handle(conn: Queryable, message: Inbound, catalog: Catalog) -> Handled:
    """Store the message; on STOP, stop the sender everywhere, audit it and say what to answer."""
    kind = "stop" if is_stop(message.text) else "reply"
    stored = await conn.fetchrow(
        queries("inbound")["store"],
        message.gateway,
        message.sender,
        message.recipient,
        message.text,
        kind,
        message.message_id,
        message.at,
    )
    alert_id = stored["alert_id"] if stored is not None else None
    if kind != "stop":
        return Handled(kind, alert_id, None)
    stopped = await conn.fetch(queries("inbound")["stop"], message.sender)
    for row in stopped:
        await audit.record(
            conn,
            actor="sms",
            action="subscriber.stop",
            target=f"subscriber:{row['id']}",
            tenant_id=row["tenant_id"],
            details={"phone": mask_phone(message.sender), "gateway": message.gateway},
        )
    return Handled(kind, alert_id, confirmation(catalog, stopped))


def confirmation(catalog: Catalog, stopped: Sequence[asyncpg.Record]) -> str | None:
    """One answer, in the resident's language, signed by the first tenant they left; none when
    they were stopped already (an auto-responder must not start a ping-pong)."""
    if not stopped:
        return None
    first = stopped[0]
    sender = " ".join(str(first["tenant_name"]).split())[:SENDER_LENGTH].strip()
    template = catalog.get(CONFIRMATION, str(first["language"]))
    return template.render({"sender": sender}).to_send
