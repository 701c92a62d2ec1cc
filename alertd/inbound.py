"""Residents' SMS: STOP (any case, accents, spaces) stops them at once; other replies are kept."""

from __future__ import annotations

import unicodedata

from alertd import audit
from alertd.dbtypes import Queryable
from alertd.logs import mask_phone
from alertd.queries import queries
from gateways.base import Inbound

STOP_WORDS = frozenset({"STOP", "ARRET", "STOPSMS", "UNSUBSCRIBE", "DESABONNEMENT"})


def is_stop(text: str) -> bool:
    """'stop', ' Stop ', 'ARRÊT', 'Arrêt.', 'STOP SMS' all mean stop."""
    plain = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in plain if c.isalnum()).upper()
    return letters in STOP_WORDS


async def handle(conn: Queryable, message: Inbound) -> str:
    """Store the message; on STOP, stop the sender everywhere and audit it. Returns its kind."""
    kind = "stop" if is_stop(message.text) else "reply"
    await conn.fetchval(
        queries("inbound")["store"],
        message.gateway,
        message.sender,
        message.recipient,
        message.text,
        kind,
        message.message_id,
        message.at,
    )
    if kind == "stop":
        for row in await conn.fetch(queries("inbound")["stop"], message.sender):
            await audit.record(
                conn,
                actor="sms",
                action="subscriber.stop",
                target=f"subscriber:{row['id']}",
                tenant_id=row["tenant_id"],
                details={"phone": mask_phone(message.sender), "gateway": message.gateway},
            )
    return kind
