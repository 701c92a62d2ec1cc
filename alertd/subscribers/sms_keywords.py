"""Residents' SMS keywords on every gateway's inbound: the hook ``delivery.inbound`` calls for
a message that is not a STOP, in the message's own transaction.

``ALERTE 59140`` (or INSCRIPTION, START; a commune's name after a shared postcode; ``EN`` at the
end) subscribes the sender: the SMS itself proves the number (consent channel "sms"). ``START``
or ``ALERTE`` alone brings back someone who sent STOP, in the tenants they left, with what they
had chosen. ``AIDE``/``HELP`` explains; ``LANGUE EN``/``LANGUE FR`` switches language; an
unserved postcode gets the list of those served. Each tenant has its own words
(``tenants update --subscribe-words …``); the words that count are those of the tenants the
sender is subscribed in, and of the tenants serving the postcode they name (all tenants' words
for a number known nowhere).

No reply storm: an auto-responder answering our answers gets at most ``per_number_hour`` answers
an hour, and a tenant at most ``per_tenant_hour`` (counted in the database: every daemon sees
the same counts). What a keyword does is done all the same; only the answer is held back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from alertd import audit
from alertd.delivery.inbound import Answered, Stored
from alertd.errors import AlertdError, InputError
from alertd.logs import get_logger, mask_message, mask_phone
from alertd.phones import parse_phone
from alertd.store.queries import queries
from alertd.store.types import Conn
from alertd.subscribers import enrol as core
from alertd.subscribers.keywords import ENGLISH_WORDS, Command, Words, read
from templates import Catalog

log = get_logger(__name__)
SENDER_LENGTH = 40  # the templates' limit on {sender}


@dataclass(frozen=True, slots=True)
class ReplyLimits:
    """Answers to keywords per rolling hour: to one number, and on behalf of one tenant."""

    per_number_hour: int = 4
    per_tenant_hour: int = 2000


@dataclass(frozen=True, slots=True)
class _Reply:
    template: str
    language: str
    params: dict[str, str]
    kind: str
    tenant_id: int | None
    subscriber_id: int | None = None


class SmsKeywords:
    """The keywords' hook (``delivery.inbound.Keywords``)."""

    def __init__(self, limits: ReplyLimits = ReplyLimits()) -> None:
        self.limits = limits

    async def __call__(
        self, conn: Conn, stored: Stored, catalog: Catalog, now: datetime
    ) -> Answered | None:
        tenants = await conn.fetch(queries("sms_keywords")["tenant_words"], stored.sender)
        if not tenants:
            return None
        command = read(stored.text, _words(tenants))
        if command is None:
            return None
        command = read(stored.text, _words(_relevant(tenants, command.postcode)))
        if command is None:
            return None
        try:
            parse_phone(stored.sender)
        except InputError:  # a number nobody can subscribe (too short, a service's): no keyword
            return None
        await conn.execute(queries("enrol")["lock_phone"], stored.sender)
        try:
            # A savepoint: a keyword that cannot be carried out leaves nothing half-written, and
            # the message stays stored as a reply (the consumer carries on).
            async with conn.transaction():
                reply = await _act(conn, stored, command, tenants, now)
        except (AlertdError, asyncpg.IntegrityConstraintViolationError) as exc:
            log.warning(
                "inbound.keyword_refused",
                sender=mask_phone(stored.sender),
                action=command.action,
                error=mask_message(str(exc)),
            )
            return None
        if reply is None:  # a reply to an alert that starts with a keyword: kept as a reply
            return None
        answer = await self._within_limits(conn, stored, reply, now)
        await conn.execute(
            queries("sms_keywords")["mark"],
            stored.id,
            reply.kind,
            reply.tenant_id,
            reply.subscriber_id,
            now,
            now if answer else None,
        )
        log.info(
            "inbound.keyword",
            sender=mask_phone(stored.sender),
            action=command.action,
            kind=reply.kind,
            answered=answer,
        )
        if not answer:
            return Answered(reply.kind, None)
        text = catalog.get(reply.template, reply.language).render(reply.params).to_send
        return Answered(reply.kind, text)

    async def _within_limits(
        self, conn: Conn, stored: Stored, reply: _Reply, now: datetime
    ) -> bool:
        counts = await conn.fetchrow(
            queries("sms_keywords")["replies_in_hour"], stored.sender, reply.tenant_id, now
        )
        assert counts is not None  # noqa: S101 - one row always
        if counts["by_number"] >= self.limits.per_number_hour:
            log.warning("inbound.keyword_limited", sender=mask_phone(stored.sender), per="number")
            return False
        if counts["by_tenant"] >= self.limits.per_tenant_hour:
            log.warning("inbound.keyword_limited", tenant_id=reply.tenant_id, per="tenant")
            return False
        return True


def _words(tenants: Sequence[asyncpg.Record]) -> Words:
    return Words(
        frozenset(w for t in tenants for w in t["subscribe_words"]),
        frozenset(w for t in tenants for w in t["help_words"]),
        frozenset(w for t in tenants for w in t["language_words"]),
    )


def _relevant(tenants: Sequence[asyncpg.Record], postcode: str | None) -> list[asyncpg.Record]:
    """The tenants whose words count: the sender's, those serving the postcode and their
    intercommunality; all of them when the sender and the postcode are unknown."""
    serving = {t["id"] for t in tenants if postcode and postcode in t["postcodes"]}
    serving |= {t["parent_id"] for t in tenants if t["id"] in serving and t["parent_id"]}
    chosen = [t for t in tenants if t["mine"] or t["id"] in serving]
    return chosen or list(tenants)


async def _act(
    conn: Conn,
    stored: Stored,
    command: Command,
    tenants: Sequence[asyncpg.Record],
    now: datetime,
) -> _Reply | None:
    rows = await conn.fetch(queries("sms_keywords")["rows_of"], stored.sender)
    known = rows[0]["language"] if rows else None
    language = command.language or known or ("en" if command.word in ENGLISH_WORDS else "fr")
    if command.action == "subscribe":
        return await _subscribe(
            conn, stored, command=command, tenants=tenants, language=language, now=now
        )
    if command.action == "start":
        return await _start(
            conn,
            stored,
            command=command,
            rows=rows,
            tenants=tenants,
            language=language,
            now=now,
        )
    if command.action == "language" and command.language is not None:
        return await _language(
            conn, stored, rows=rows, tenants=tenants, language=command.language, now=now
        )
    return _help(rows, tenants, language, "help" if command.action == "help" else "language")


async def _subscribe(
    conn: Conn,
    stored: Stored,
    *,
    command: Command,
    tenants: Sequence[asyncpg.Record],
    language: str,
    now: datetime,
) -> _Reply:
    assert command.postcode is not None  # noqa: S101 - a subscribe command has one
    try:
        placement = await core.place(conn, command.postcode, command.commune)
    except core.NotServedError as exc:
        root = _root(tenants)
        return _Reply(
            "keyword_unserved",
            language,
            {
                "sender": _name(root["name"]),
                "postcode": command.postcode,
                "served": core.served_list(exc.served),
                "word": command.word,
            },
            "subscribe",
            None,
        )
    except InputError:  # communes sharing the postcode under no common intercommunality
        return _help([], tenants, language, "subscribe")
    held = await conn.fetchrow(
        queries("sms_keywords")["subscription_in_territory"], stored.sender, placement.tenant_id
    )
    same_place = held is not None and held["postcode"] == placement.postcode
    offered = set(await conn.fetchval(queries("enrol")["tenant_topics"], placement.tenant_id))
    kept = (
        frozenset(held["topics"]) & offered
        if held is not None and held["status"] == "active"
        else frozenset()
    )
    enrolled = await core.enrol(
        conn,
        core.Enrolment(
            stored.sender,
            placement,
            command.language or (held["language"] if held else language),
            kept,
            "sms",
            address=held["address"] if held and same_place else None,
            lon=held["lon"] if held and same_place else None,
            lat=held["lat"] if held and same_place else None,
        ),
        now=now,
    )
    reply_language = command.language or (held["language"] if held else language)
    values = {
        "sender": _name(placement.tenant_name),
        "commune": _name(placement.tenant_name),
        "postcode": placement.postcode,
    }
    template = "keyword_subscribed"
    picked = {code for code, _ in placement.communes}
    if len(placement.communes) > 1 and placement.tenant_code not in picked:
        # Several communes share the postcode and none was named: placed with their
        # intercommunality, told how to be placed with their own commune.
        template = "keyword_subscribed_shared"
        values |= {"word": command.word, "choice": _name(placement.communes[0][1]).upper()}
    return _Reply(
        template,
        reply_language,
        values,
        "subscribe",
        placement.tenant_id,
        enrolled.subscriber_id,
    )


async def _start(
    conn: Conn,
    stored: Stored,
    *,
    command: Command,
    rows: Sequence[asyncpg.Record],
    tenants: Sequence[asyncpg.Record],
    language: str,
    now: datetime,
) -> _Reply | None:
    """Back after a STOP: in each territory they left, the row stopped last, as it was."""
    active_roots = {r["root_id"] for r in rows if r["status"] == "active"}
    back: dict[int, asyncpg.Record] = {}
    for row in rows:  # most recently changed first
        if row["status"] == "stopped" and row["root_id"] not in active_roots:
            back.setdefault(row["root_id"], row)
    if not back:
        if active_roots and command.rest:  # "Alerte reçue": an answer to an alert, not to us
            return None
        if active_roots:
            first = next(r for r in rows if r["status"] == "active")
            return _Reply(
                "keyword_back",
                first["language"],
                {"sender": _name(first["tenant_name"])},
                "subscribe",
                first["tenant_id"],
                first["id"],
            )
        return _help(rows, tenants, language, "subscribe")
    first_id = None
    for row in back.values():
        offered = set(await conn.fetchval(queries("enrol")["tenant_topics"], row["tenant_id"]))
        placement = core.Placement(
            row["tenant_id"], row["tenant_code"], row["tenant_name"], row["postcode"] or "", ()
        )
        done = await core.enrol(
            conn,
            core.Enrolment(
                stored.sender,
                placement,
                command.language or row["language"],
                frozenset(row["topics"]) & offered,
                "sms",
                address=row["address"],
                lon=row["lon"],
                lat=row["lat"],
            ),
            now=now,
        )
        first_id = first_id or done.subscriber_id
    first = next(iter(back.values()))
    return _Reply(
        "keyword_back",
        command.language or first["language"],
        {"sender": _name(first["tenant_name"])},
        "subscribe",
        first["tenant_id"],
        first_id,
    )


async def _language(
    conn: Conn,
    stored: Stored,
    *,
    rows: Sequence[asyncpg.Record],
    tenants: Sequence[asyncpg.Record],
    language: str,
    now: datetime,
) -> _Reply:
    if not rows:  # not subscribed: how to, in the language asked for
        return _help(rows, tenants, language, "language")
    changed = await conn.fetch(
        queries("sms_keywords")["set_language"], stored.sender, language, now
    )
    for row in changed:
        await audit.record(
            conn,
            actor="sms",
            action="subscriber.language",
            target=f"subscriber:{row['id']}",
            tenant_id=row["tenant_id"],
            details={"phone": mask_phone(stored.sender), "language": language},
        )
    return _Reply(
        "keyword_language",
        language,
        {"sender": _name(rows[0]["tenant_name"])},
        "language",
        rows[0]["tenant_id"],
        rows[0]["id"],
    )


def _help(
    rows: Sequence[asyncpg.Record],
    tenants: Sequence[asyncpg.Record],
    language: str,
    kind: str,
) -> _Reply:
    """How to subscribe, change language and leave, signed by the sender's tenant (else the
    deployment's intercommunality), with its own subscribe word and one of its postcodes."""
    by_id = {t["id"]: t for t in tenants}
    tenant = by_id.get(rows[0]["tenant_id"]) if rows else None
    tenant = tenant or _root(tenants)
    example = next(
        (pc for t in tenants for pc in sorted(t["postcodes"]) if t["id"] == tenant["id"]),
        None,
    ) or min((pc for t in tenants for pc in t["postcodes"]), default="59140")
    word = "ALERTE" if "ALERTE" in tenant["subscribe_words"] else tenant["subscribe_words"][0]
    return _Reply(
        "keyword_help",
        language,
        {"sender": _name(tenant["name"]), "word": word, "example": example},
        kind,
        tenant["id"],
        rows[0]["id"] if rows else None,
    )


def _root(tenants: Sequence[asyncpg.Record]) -> asyncpg.Record:
    """The deployment's first tenant without a parent (the intercommunality)."""
    return next((t for t in tenants if t["parent_id"] is None), tenants[0])


def _name(name: str) -> str:
    return " ".join(str(name).split())[:SENDER_LENGTH].strip()
