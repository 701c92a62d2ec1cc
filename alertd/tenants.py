"""Tenants: the intercommunality and its communes.

A commune is identified by its INSEE code (Dunkerque 59183; Corsica 2A004), the intercommunality
by its SIREN (the Communauté urbaine de Dunkerque is 245900428).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from alertd import audit
from alertd.errors import ConflictError, InputError, NotFoundError
from alertd.store.queries import queries
from alertd.store.types import Conn, Queryable

KINDS = ("intercommunality", "commune")
_INSEE_RE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
_SIREN_RE = re.compile(r"^\d{9}$")
_POSTCODE_RE = re.compile(r"^\d{5}$")
_STOP_WORD_RE = re.compile(r"^[A-Z]+$")
DEFAULT_THRESHOLD = 1000


@dataclass(frozen=True, slots=True)
class TenantSpec:
    """A tenant as a person describes it, checked before it reaches the database."""

    code: str
    kind: str
    name: str
    parent_code: str | None = None
    postcodes: tuple[str, ...] = ()
    approval_threshold: int = DEFAULT_THRESHOLD
    lon: float | None = None
    lat: float | None = None
    population: int | None = None

    def __post_init__(self) -> None:
        check_tenant_spec(self)


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant as stored: what creating or changing one returns."""

    id: int
    code: str
    kind: str
    name: str
    parent_id: int | None
    postcodes: tuple[str, ...]
    approval_threshold: int  # recipients above which a second operator must approve
    stop_words: tuple[str, ...]  # the first words of a resident's SMS that mean STOP

    @classmethod
    def of(cls, row: asyncpg.Record) -> Tenant:
        return cls(
            row["id"],
            row["code"],
            row["kind"],
            row["name"],
            row["parent_id"],
            tuple(row["postcodes"]),
            row["approval_threshold"],
            tuple(row["stop_words"]),
        )


@dataclass(frozen=True, slots=True)
class TenantLine:
    """One tenant in the list, with how many residents and operators it has."""

    code: str
    kind: str
    name: str
    parent_code: str | None
    postcodes: tuple[str, ...]
    approval_threshold: int
    active_subscribers: int
    operators: int
    stop_words: tuple[str, ...]
    subscribe_words: tuple[str, ...]  # the SMS keywords (``alertd tenants keywords``)
    help_words: tuple[str, ...]
    language_words: tuple[str, ...]


def check_tenant_spec(spec: TenantSpec) -> None:
    if spec.kind not in KINDS:
        raise InputError(f"tenant kind {spec.kind!r} is not one of {', '.join(KINDS)}")
    if spec.kind == "commune" and not _INSEE_RE.match(spec.code):
        raise InputError(
            f"commune code {spec.code!r} is not an INSEE code (5 characters, e.g. 59183)"
        )
    if spec.kind == "intercommunality" and not _SIREN_RE.match(spec.code):
        raise InputError(
            f"intercommunality code {spec.code!r} is not a SIREN (9 digits, e.g. 245900428)"
        )
    if spec.kind == "intercommunality" and spec.parent_code:
        raise InputError("an intercommunality has no parent tenant")
    if not spec.name.strip() or len(spec.name) > 200:
        raise InputError("tenant name must be 1 to 200 characters")
    for pc in spec.postcodes:
        if not _POSTCODE_RE.match(pc):
            raise InputError(f"postcode {pc!r} is not five digits")
    if spec.approval_threshold < 0:
        raise InputError("approval threshold must be 0 or more recipients")


def parse_stop_words(raw: str) -> tuple[str, ...]:
    """'stop, Arrêt,fin' gives ('ARRET', 'FIN', 'STOP'): upper case, without accents, sorted,
    each once. Refused when STOP is missing (a tenant can never drop it) or a word is not made
    of letters only."""
    words = set()
    for word in raw.split(","):
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", word.strip()) if not unicodedata.combining(c)
        ).upper()
        if not plain:
            continue
        if not _STOP_WORD_RE.match(plain):
            raise InputError(f"STOP word {word.strip()!r} is not a word of letters only")
        words.add(plain)
    if "STOP" not in words:
        raise InputError("STOP words must include STOP itself")
    return tuple(sorted(words))


def parse_postcodes(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(sorted({p.strip() for p in raw.split(",") if p.strip()}))


async def _parent_id(conn: Conn, spec: TenantSpec) -> int | None:
    if spec.parent_code is None:
        return None
    parent = await conn.fetchrow(queries("tenants")["get_by_code"], spec.parent_code)
    if parent is None:
        raise NotFoundError(f"parent tenant {spec.parent_code} does not exist; create it first")
    if parent["kind"] != "intercommunality":
        raise InputError(f"parent tenant {spec.parent_code} is a commune, not an intercommunality")
    return int(parent["id"])


def _args(spec: TenantSpec, parent_id: int | None) -> tuple[Any, ...]:
    return (
        spec.code,
        spec.kind,
        spec.name.strip(),
        parent_id,
        list(spec.postcodes),
        spec.approval_threshold,
        spec.lon,
        spec.lat,
        spec.population,
    )


async def create_tenant(pool: asyncpg.Pool, spec: TenantSpec, actor: str) -> Tenant:
    async with pool.acquire() as conn, conn.transaction():
        parent_id = await _parent_id(conn, spec)
        try:
            row = await conn.fetchrow(queries("tenants")["insert_tenant"], *_args(spec, parent_id))
        except asyncpg.UniqueViolationError:
            raise ConflictError(f"tenant {spec.code} already exists") from None
        assert row is not None  # noqa: S101 - INSERT … RETURNING returns the row
        await audit.record(
            conn,
            actor=actor,
            action="tenant.create",
            target=f"tenant:{row['id']}",
            tenant_id=row["id"],
            details={"code": spec.code, "name": spec.name},
        )
        return Tenant.of(row)


async def upsert_tenant(conn: Conn, spec: TenantSpec) -> tuple[asyncpg.Record, str]:
    """Create or bring up to date; returns the row and 'created', 'updated' or 'unchanged'."""
    parent_id = await _parent_id(conn, spec)
    row = await conn.fetchrow(queries("tenants")["upsert_tenant"], *_args(spec, parent_id))
    if row is None:
        row = await get_tenant(conn, spec.code)
        return row, "unchanged"
    return row, "created" if row["inserted"] else "updated"


async def get_tenant(conn: Queryable, code: str) -> asyncpg.Record:
    row = await conn.fetchrow(queries("tenants")["get_by_code"], code.strip())
    if row is None:
        raise NotFoundError(f"tenant {code!r} does not exist (see `alertd tenants list`)")
    return row


async def list_tenants(pool: asyncpg.Pool) -> list[TenantLine]:
    return [
        TenantLine(
            r["code"],
            r["kind"],
            r["name"],
            r["parent_code"],
            tuple(r["postcodes"]),
            r["approval_threshold"],
            r["active_subscribers"],
            r["operators"],
            tuple(r["stop_words"]),
            tuple(r["subscribe_words"]),
            tuple(r["help_words"]),
            tuple(r["language_words"]),
        )
        for r in await pool.fetch(queries("tenants")["list_tenants"])
    ]


async def update_tenant(
    pool: asyncpg.Pool,
    code: str,
    actor: str,
    *,
    name: str | None = None,
    approval_threshold: int | None = None,
    postcodes: tuple[str, ...] | None = None,
    stop_words: tuple[str, ...] | None = None,
    timezone: str | None = None,
) -> Tenant:
    if timezone is not None:
        check_timezone(timezone)
    if stop_words is not None:
        stop_words = parse_stop_words(",".join(stop_words))
    if approval_threshold is not None and approval_threshold < 0:
        raise InputError("approval threshold must be 0 or more recipients")
    for pc in postcodes or ():
        if not _POSTCODE_RE.match(pc):
            raise InputError(f"postcode {pc!r} is not five digits")
    async with pool.acquire() as conn, conn.transaction():
        if stop_words is not None:
            _check_stop_words_mean_stop(
                stop_words,
                await conn.fetchrow(queries("tenants")["keyword_lists_for_update"], code),
            )
        row = await conn.fetchrow(
            queries("tenants")["update_tenant"],
            code,
            name,
            approval_threshold,
            list(postcodes) if postcodes is not None else None,
            list(stop_words) if stop_words is not None else None,
            timezone,
        )
        if row is None:
            raise NotFoundError(f"tenant {code!r} does not exist (see `alertd tenants list`)")
        changes = {
            k: v
            for k, v in (
                ("name", name),
                ("approval_threshold", approval_threshold),
                ("postcodes", postcodes),
                ("stop_words", stop_words),
                ("timezone", timezone),
            )
            if v is not None
        }
        await audit.record(
            conn,
            actor=actor,
            action="tenant.update",
            target=f"tenant:{row['id']}",
            tenant_id=row["id"],
            details=changes,
        )
        return Tenant.of(row)


def _check_stop_words_mean_stop(stop_words: tuple[str, ...], lists: asyncpg.Record | None) -> None:
    """A STOP word that is also a keyword (ALERTE, AIDE…) would unsubscribe the resident who
    sends it to subscribe: STOP is read first. Refused, as the keywords' change refuses it."""
    if lists is None:  # no such tenant: the update says so
        return
    named = {"subscribe": "subscribe_words", "help": "help_words", "language": "language_words"}
    for word in stop_words:
        taken = [what for what, column in named.items() if word in lists[column]]
        if taken:
            raise InputError(
                f"STOP word {word} is also one of this tenant's {' and '.join(taken)} words: "
                "a word means one thing, and STOP is read first (a resident sending it to "
                "subscribe would be unsubscribed); change the keywords first (alertd tenants "
                "keywords) or choose another STOP word"
            )


def check_timezone(name: str) -> str:
    """An IANA time zone (Europe/Paris, America/Cayenne): the one the tenant's times are shown
    in."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"time zone {name!r} is unknown: give an IANA name such as Europe/Paris"
        ) from None
    return name


_TOPIC_RE = re.compile(r"^[a-z0-9_-]{1,32}$")


async def set_topics(pool: asyncpg.Pool, code: str, raw: str, actor: str) -> tuple[str, ...]:
    """The topics residents may choose for information alerts, e.g. 'dechets,travaux'."""
    topics = sorted({t.strip().lower() for t in raw.split(",") if t.strip()})
    bad = [t for t in topics if not _TOPIC_RE.match(t)]
    if bad or not topics:
        raise InputError(
            f"topics must be lowercase letters, digits, - and _ (max 32), not {bad or raw!r}"
        )
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(queries("tenants")["set_topics"], code, topics)
        if row is None:
            raise NotFoundError(f"tenant {code!r} does not exist (see `alertd tenants list`)")
        await audit.record(
            conn,
            actor=actor,
            action="tenant.topics",
            target=f"tenant:{code}",
            details={"topics": topics},
        )
    return tuple(row["topics"])


async def territory(conn: Queryable, tenant_id: int) -> list[int]:
    """The tenant and the communes under it: whose residents its zones may reach."""
    return [r["id"] for r in await conn.fetch(queries("tenants")["territory_ids"], tenant_id)]


async def territory_postcodes(conn: Queryable, tenant_id: int) -> frozenset[str]:
    return frozenset(await conn.fetchval(queries("tenants")["territory_postcodes"], tenant_id))


def sample_territory() -> tuple[TenantSpec, list[TenantSpec]]:
    """The Communauté urbaine de Dunkerque and its 17 communes (names, INSEE codes, postcodes)."""
    data = json.loads(
        resources.files("alertd").joinpath("data", "cud_territory.json").read_text("utf-8")
    )
    epci = data["intercommunality"]
    parent = TenantSpec(
        code=epci["siren"],
        kind="intercommunality",
        name=epci["name"],
        approval_threshold=epci["approval_threshold"],
    )
    communes = [
        TenantSpec(
            code=c["insee"],
            kind="commune",
            name=c["name"],
            parent_code=parent.code,
            postcodes=tuple(c["postcodes"]),
            approval_threshold=c["approval_threshold"],
            lon=c["lon"],
            lat=c["lat"],
            population=c["population"],
        )
        for c in data["communes"]
    ]
    return parent, communes


async def load_territory(pool: asyncpg.Pool, actor: str) -> dict[str, list[str]]:
    """Load the sample territory; safe to run again. Returns codes by outcome."""
    parent, communes = sample_territory()
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    async with pool.acquire() as conn, conn.transaction():
        for spec in (parent, *communes):
            _, what = await upsert_tenant(conn, spec)
            outcome[what].append(spec.code)
        if outcome["created"] or outcome["updated"]:
            await audit.record(
                conn,
                actor=actor,
                action="territory.load",
                details={k: len(v) for k, v in outcome.items()},
            )
    return outcome
