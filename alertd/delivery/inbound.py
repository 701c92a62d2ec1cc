"""Residents' SMS: STOP stops them at once (what is queued for them is cancelled in the same
transaction) and is confirmed by one SMS; other replies are kept against the alert they answer.

STOP is matched the way residents write it: the first word of the message, upper-cased and
without accents, is one of ``STOP_WORDS`` — "STOP", "Stop merci", "stop svp", "STOP ALERTE",
"arrêt." all count; "Stoppez la pluie" does not (a word of its own). Besides the default
``STOP_WORDS``, the words of every tenant the sender is subscribed in count (``tenants.stop_words``,
matched by the store statement itself: no extra round trip). The sender is normalised to
E.164 first (SMPP and OVH deliver 0622334455 or 33611223344). What PostgreSQL cannot store (a NUL
character, a lone surrogate) is cleaned out of the text, never fatal. A message a provider
sends again (same gateway and message id: our acknowledgement got lost after the commit) is
stored once and handled once: no second confirmation, no second audit; it is still acknowledged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import asyncpg

from alertd import audit
from alertd.logs import get_logger, mask_phone
from alertd.phones import normalise_sender
from alertd.store.queries import queries
from alertd.store.types import Conn
from gateways.base import Inbound
from templates import Catalog

log = get_logger(__name__)
STOP_WORDS = frozenset(
    {"STOP", "ARRET", "STOPSMS", "UNSUBSCRIBE", "DESABONNEMENT", "DESINSCRIPTION"}
)
_WORD = re.compile(r"[^\W_]+")  # letters and digits
CONFIRMATION = "unsubscribed"  # the template of the answer to STOP
SENDER_LENGTH = 40  # the template's limit on {sender}


@dataclass(frozen=True, slots=True)
class Stored:
    """An inbound message as stored, handed to the keywords' hook."""

    id: int
    sender: str  # E.164
    text: str
    gateway: str


@dataclass(frozen=True, slots=True)
class Answered:
    """What the keywords' hook made of a message: its kind, and the answer to send, if any."""

    kind: str
    reply: str | None


class Keywords(Protocol):
    """Residents' SMS keywords (subscribe, help, language), handled above this layer
    (alertd.subscribers.sms_keywords) in the message's own transaction. None: no keyword."""

    async def __call__(
        self, conn: Conn, stored: Stored, catalog: Catalog, now: datetime
    ) -> Answered | None: ...


@dataclass(frozen=True, slots=True)
class Handled:
    kind: str  # "stop", "reply", "duplicate" (stored and handled already), or a keyword's
    alert_id: int | None  # the alert it answers: the last one sent to this number
    confirmation: str | None  # what to send back (a first STOP), else None
    sender: str  # E.164 when it is a phone number: where the confirmation goes


def plain(text: str) -> str:
    """Upper case, without accents: how STOP words are compared and stored."""
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).upper()


def first_word(text: str) -> str | None:
    """The first word, upper case and without accents ('Arrêt.' gives 'ARRET')."""
    first = _WORD.search(plain(text))
    return None if first is None else first[0]


def is_stop(text: str, words: Collection[str] = STOP_WORDS) -> bool:
    """'stop', ' Stop ', 'ARRÊT', 'Arrêt.', 'STOP SMS', 'Stop merci' all mean stop: the first
    word, whatever follows it."""
    first = first_word(text)
    return first is not None and first in words


def clean(text: str) -> str:
    """What PostgreSQL can store: NUL removed, what is not valid Unicode replaced."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


async def handle(
    conn: Conn,
    message: Inbound,
    catalog: Catalog,
    *,
    region: str = "FR",
    stop_words: Collection[str] = STOP_WORDS,
    keywords: Keywords | None = None,
    now: datetime | None = None,
) -> Handled:
    """Store the message; on STOP (one of ``stop_words`` or of the sender's tenants' words), stop
    the sender everywhere, cancel what is queued for them, audit it and say what to answer. A
    message stored already (same gateway and message id) is a duplicate: nothing more is done.
    Any other message from a phone number goes to ``keywords``, when given."""
    text = clean(message.text)
    sender = normalise_sender(clean(message.sender), region)
    stored = await conn.fetchrow(
        queries("inbound")["store"],
        clean(message.gateway),
        sender,
        None if message.recipient is None else clean(message.recipient),
        text,
        first_word(text),
        None if message.message_id is None else clean(message.message_id),
        message.at,
        sorted(stop_words),
    )
    if stored is None:  # sent again by the provider: stored and handled the first time
        log.info("inbound.duplicate", sender=mask_phone(sender), gateway=message.gateway)
        return Handled("duplicate", None, None, sender)
    kind = str(stored["kind"])
    alert_id = stored["alert_id"]
    if kind != "stop":
        if keywords is None or not sender.startswith("+"):
            return Handled(kind, alert_id, None, sender)
        at = now or datetime.now(UTC)
        answered = await keywords(
            conn, Stored(stored["id"], sender, text, message.gateway), catalog, at
        )
        if answered is None:
            return Handled(kind, alert_id, None, sender)
        return Handled(answered.kind, alert_id, answered.reply, sender)
    stopped = await conn.fetch(queries("inbound")["stop"], sender)
    cancelled = await conn.fetchval(queries("inbound")["cancel_queued"], sender)
    # The consent to alerts and to each topic is withdrawn: kept as proof, as it was given.
    await conn.execute(queries("inbound")["withdraw_consents"], [r["id"] for r in stopped])
    log.info("inbound.stop", sender=mask_phone(sender), stopped=len(stopped), cancelled=cancelled)
    for row in stopped:
        await audit.record(
            conn,
            actor="sms",
            action="subscriber.stop",
            target=f"subscriber:{row['id']}",
            tenant_id=row["tenant_id"],
            details={"phone": mask_phone(sender), "gateway": message.gateway},
        )
    return Handled(kind, alert_id, confirmation(catalog, stopped), sender)


def confirmation(catalog: Catalog, stopped: Sequence[asyncpg.Record]) -> str | None:
    """One answer, in the resident's language, signed by the first tenant they left; none when
    they were stopped already (an auto-responder must not start a ping-pong)."""
    if not stopped:
        return None
    first = stopped[0]
    sender = " ".join(str(first["tenant_name"]).split())[:SENDER_LENGTH].strip()
    template = catalog.get(CONFIRMATION, str(first["language"]))
    return template.render({"sender": sender}).to_send
