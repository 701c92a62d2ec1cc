"""A sign-up's code in PostgreSQL: asked (within the abuse limits), sent again, checked, and the
"my subscription" session it opens once right.

Whether the number is subscribed is never looked at here: asking a code does the same work, and
gives the same answer, for every number.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg

from alertd.config import SignupConfig
from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.web import codes

Purpose = Literal["subscribe", "manage"]
Bucket = Literal["number", "ip", "tenant"]
KEY_NAME = "signup"
# Codes to manage a subscription are counted in one bucket of their own: which tenant holds the
# number is not looked up before the code is right.
MANAGE_BUCKET = "manage"


async def web_key(pool: asyncpg.Pool) -> bytes:
    """The pages' secret, the same for every daemon (and page process) on this database."""
    query = queries("signup")["web_key"]
    key = await pool.fetchval(query, KEY_NAME, secrets.token_bytes(32))
    if key is None:
        # Another process inserted it at the same moment: our INSERT waited for its commit and
        # did nothing, but our statement's snapshot predates that commit. A second statement
        # sees it (two page processes starting together met this).
        key = await pool.fetchval(query, KEY_NAME, secrets.token_bytes(32))
    return bytes(key)


def limit_key(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Asked:
    """A code to send (``token`` for the browser's cookie), or the bucket that said no."""

    token: str = ""
    code: str = ""
    limited: Bucket | None = None


def _buckets(
    key: bytes, config: SignupConfig, *, phone: str, ip: str, tenant: str
) -> tuple[list[str], list[str], list[int]]:
    """The buckets a code counts in, their keys and their limits, sorted so that two requests
    lock the same rows in the same order."""
    limits: dict[Bucket, int] = {
        "number": config.per_number_hour,
        "ip": config.per_ip_hour,
        "tenant": config.per_tenant_hour,
    }
    wanted: list[tuple[Bucket, str]] = sorted(
        [
            ("ip", limit_key(key, f"ip:{ip}")),
            ("number", limit_key(key, f"phone:{phone}")),
            ("tenant", tenant),
        ]
    )
    return [b for b, _ in wanted], [k for _, k in wanted], [limits[b] for b, _ in wanted]


def _first_over(over: Collection[str]) -> Bucket | None:
    """The bucket named to the resident when several are over their limit."""
    return next((b for b in ("number", "ip", "tenant") if b in over), None)


async def _within_limits(
    conn: Queryable,
    key: bytes,
    config: SignupConfig,
    *,
    phone: str,
    ip: str,
    tenant: str,
    now: datetime,
) -> Bucket | None:
    """Count one more code in each bucket; the first bucket over its limit, if any."""
    buckets, keys, limits = _buckets(key, config, phone=phone, ip=ip, tenant=tenant)
    rows = await conn.fetch(queries("signup")["hit_limits"], buckets, keys, now)
    most = dict(zip(buckets, limits, strict=True))
    return _first_over([r["bucket"] for r in rows if r["hits"] > most[r["bucket"]]])


async def ask(
    conn: Queryable,
    key: bytes,
    config: SignupConfig,
    *,
    phone: str,
    ip: str,
    purpose: Purpose,
    request: dict[str, Any],
    tenant_id: int | None,
    now: datetime,
) -> Asked:
    """A new code for this number, unless a limit says no: counted and written in one
    statement."""
    tenant = str(tenant_id) if tenant_id is not None else MANAGE_BUCKET
    buckets, keys, limits = _buckets(key, config, phone=phone, ip=ip, tenant=tenant)
    token, code = codes.new_token(), codes.new_code()
    salt, hashed = codes.hashed_code(code)
    row = await conn.fetchrow(
        queries("signup")["ask_code"],
        buckets,
        keys,
        limits,
        now,
        codes.token_hash(token),
        phone,
        purpose,
        json.dumps(request),
        tenant_id,
        salt,
        hashed,
        codes.expiry(now, config.code_ttl_s),
    )
    assert row is not None  # noqa: S101 - the statement always returns its one row
    limited = _first_over(row["over"] or ())
    if limited is not None:
        return Asked(limited=limited)
    return Asked(token=token, code=code)


@dataclass(frozen=True, slots=True)
class Flow:
    id: int
    phone: str
    purpose: Purpose
    request: dict[str, Any]
    tenant_id: int | None
    state: codes.CodeState
    confirmed_at: datetime | None

    @classmethod
    def of(cls, row: asyncpg.Record) -> Flow:
        return cls(
            id=row["id"],
            phone=row["phone"],
            purpose=row["purpose"],
            request=json.loads(row["request"]),
            tenant_id=row["tenant_id"],
            state=codes.CodeState(
                salt=bytes(row["code_salt"]),
                hashed=bytes(row["code_hash"]),
                expires_at=row["expires_at"],
                wrong_tries=row["wrong_tries"],
            ),
            confirmed_at=row["confirmed_at"],
        )


async def find(conn: Queryable, token: str | None, *, lock: bool = False) -> Flow | None:
    if not token:
        return None
    query = queries("signup")["flow_for_update" if lock else "flow"]
    row = await conn.fetchrow(query, codes.token_hash(token))
    return None if row is None else Flow.of(row)


async def ask_again(
    conn: Queryable, key: bytes, config: SignupConfig, flow: Flow, *, ip: str, now: datetime
) -> Asked:
    """A new code in the same sign-up (the last one expired, was lost or was mistyped)."""
    limited = await _within_limits(
        conn,
        key,
        config,
        phone=flow.phone,
        ip=ip,
        tenant=str(flow.tenant_id) if flow.tenant_id is not None else MANAGE_BUCKET,
        now=now,
    )
    if limited is not None:
        return Asked(limited=limited)
    code = codes.new_code()
    salt, hashed = codes.hashed_code(code)
    await conn.execute(
        queries("signup")["new_code"],
        flow.id,
        salt,
        hashed,
        now,
        codes.expiry(now, config.code_ttl_s),
    )
    return Asked(code=code)


async def check(
    conn: Queryable, config: SignupConfig, flow: Flow, typed: str, *, now: datetime
) -> tuple[codes.Verdict, int]:
    """The verdict on a code typed, in the caller's transaction (``flow`` found with lock=True);
    with the tries left."""
    verdict = codes.check(flow.state, typed, now=now, max_tries=config.code_tries)
    tries = flow.state.wrong_tries
    q = queries("signup")
    if verdict is codes.Verdict.WRONG:
        tries = int(await conn.fetchval(q["wrong_try"], flow.id))
        if tries >= config.code_tries:
            verdict = codes.Verdict.DEAD
    elif verdict is codes.Verdict.RIGHT:
        await conn.execute(q["confirm_flow"], flow.id, now)
    return verdict, max(0, config.code_tries - tries)


def session_phone(flow: Flow | None, config: SignupConfig, *, now: datetime) -> str | None:
    """The number whose subscription this browser may see and change: its code was right, and
    not too long ago (then a new code opens it again)."""
    if flow is None or flow.confirmed_at is None:
        return None
    if now - flow.confirmed_at > timedelta(seconds=config.session_s):
        return None
    return flow.phone


async def end(conn: Queryable, flow: Flow) -> None:
    await conn.execute(queries("signup")["end_flow"], flow.id)


async def purge(conn: Queryable, *, now: datetime) -> int:
    return int(await conn.fetchval(queries("signup")["purge"], now))
