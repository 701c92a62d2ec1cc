"""A tenant's SMS keywords (``alertd tenants keywords``): the words that subscribe, explain and
change language. Upper case, without accents, letters only, as STOP words; a word means one
thing (never in two lists, never a STOP word); subscribing keeps at least one word."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from alertd import audit
from alertd.errors import InputError, NotFoundError
from alertd.store.queries import queries
from alertd.subscribers.keywords import clashes, parse_words


@dataclass(frozen=True, slots=True)
class TenantWords:
    code: str
    name: str
    subscribe: tuple[str, ...]
    help: tuple[str, ...]
    language: tuple[str, ...]
    stop: tuple[str, ...]

    @classmethod
    def of(cls, row: asyncpg.Record) -> TenantWords:
        return cls(
            row["code"],
            row["name"],
            tuple(row["subscribe_words"]),
            tuple(row["help_words"]),
            tuple(row["language_words"]),
            tuple(row["stop_words"]),
        )


async def show(pool: asyncpg.Pool, code: str) -> TenantWords:
    row = await pool.fetchrow(queries("sms_keywords")["words_of"], code)
    if row is None:
        raise NotFoundError(f"tenant {code!r} does not exist (see `alertd tenants list`)")
    return TenantWords.of(row)


async def change(
    pool: asyncpg.Pool,
    code: str,
    actor: str,
    *,
    subscribe: str | None = None,
    help_words: str | None = None,
    language: str | None = None,
) -> TenantWords:
    """Set the lists given (comma-separated); the others stay as they are."""
    if subscribe is None and help_words is None and language is None:
        # Not an empty audit entry: a change that names nothing is a mistake of the caller's.
        raise InputError("nothing to change: give the subscribe, help or language words")
    try:
        new = {
            "subscribe": None
            if subscribe is None
            else parse_words(subscribe, required=True, what="subscribe words"),
            "help": None if help_words is None else parse_words(help_words, what="help words"),
            "language": None if language is None else parse_words(language, what="language words"),
        }
    except ValueError as exc:
        raise InputError(str(exc)) from None
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(queries("sms_keywords")["words_of"], code)
        if row is None:
            raise NotFoundError(f"tenant {code!r} does not exist (see `alertd tenants list`)")
        held = TenantWords.of(row)
        lists = {
            "subscribe": new["subscribe"] if new["subscribe"] is not None else held.subscribe,
            "help": new["help"] if new["help"] is not None else held.help,
            "language": new["language"] if new["language"] is not None else held.language,
        }
        _check_one_meaning(held.stop, lists)
        row = await conn.fetchrow(
            queries("sms_keywords")["set_words"],
            code,
            *(None if v is None else list(v) for v in new.values()),
        )
        assert row is not None  # noqa: S101 - the tenant was read in this transaction
        await audit.record(
            conn,
            actor=actor,
            action="tenant.keywords",
            target=f"tenant:{row['id']}",
            tenant_id=row["id"],
            details={k: list(v) for k, v in new.items() if v is not None},
        )
    return TenantWords.of(row)


def _check_one_meaning(stop: tuple[str, ...], lists: Mapping[str, tuple[str, ...]]) -> None:
    named = {"STOP words": stop, **{f"{k} words": v for k, v in lists.items()}}
    found = clashes(named)
    if found:
        raise InputError(
            "; ".join(f"keyword {w} is in the {' and the '.join(n)}" for w, n in found.items())
            + ": a word means one thing (never in two lists, never a STOP word)"
        )
