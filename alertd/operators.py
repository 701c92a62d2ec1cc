"""Operators and their API tokens.

A token is 256 random bits, shown once when created or rotated. Only its SHA-256 is stored: the
token has far too much entropy to be guessed from the hash, so a slow password hash would only slow
every API call down without making anything safer.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from alertd import audit
from alertd.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.tenants import get_tenant

# information: a waste agent (issue 17) — information templates only, to the topics their
# service owns (``topics``), in their territory; below an operator, above a viewer.
ROLES = ("viewer", "information", "operator", "approver", "admin")
TOKEN_KINDS = ("live", "test")
TOKEN_PREFIX = "alertd_"  # noqa: S105 - a marker that makes leaked tokens greppable
# Enough to catch a name typed where the address goes; the mailbox itself is never contacted.
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class NewToken:
    operator_id: int
    token: str  # shown once, never stored


@dataclass(frozen=True, slots=True)
class NewOperator:
    """An operator just created, with their token: the one time it is shown."""

    id: int
    name: str
    role: str
    tenant: str  # the code
    token: str  # shown once, never stored


@dataclass(frozen=True, slots=True)
class OperatorLine:
    """One operator in the list: never their token, only its first characters."""

    id: int
    tenant_code: str
    name: str
    email: str | None
    role: str
    token_prefix: str
    created_at: datetime
    last_used_at: datetime | None
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class Operator:
    id: int
    tenant_id: int
    tenant_code: str
    name: str
    role: str
    # "live", or "test": a token for training and integration work, whose sends never leave
    # the machine (alertd/api/auth.py).
    token_kind: str = "live"  # noqa: S105 - a kind of token, not a secret
    # An information agent's: the topics their service owns, the only ones they may send to.
    topics: tuple[str, ...] = ()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def token_prefix(token: str) -> str:
    """Enough of the token to recognise it in a list, far too little to use it."""
    return token[: len(TOKEN_PREFIX) + 4]


def check_email(email: str | None) -> str:
    """The person's identity: one account per e-mail in an intercommunality, compared without
    case (Claire@… and claire@… are the same person)."""
    if email is None or not email.strip():
        raise InputError(
            "give the operator's e-mail (--email): it identifies the person, who may hold only "
            "one account"
        )
    email = email.strip()
    if len(email) > 254 or not _EMAIL_RE.match(email):
        raise InputError(f"{email!r} is not an e-mail address")
    return email


def check_topics(role: str, topics: Sequence[str]) -> tuple[str, ...]:
    """An information agent owns one topic at least (their service's); no other role has any:
    the others reach every topic of their territory."""
    cleaned = tuple(sorted({t.strip() for t in topics if t.strip()}))
    if role == "information" and not cleaned:
        raise InputError(
            "an information agent sends only to the topics their service owns: give them "
            "(--topic dechets, repeat for several)"
        )
    if role != "information" and cleaned:
        raise InputError(f"only an information agent owns topics, not a {role}")
    return cleaned


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


async def any_operator(conn: Queryable) -> bool:
    """Is there any operator at all (none: an empty database being set up)?"""
    return bool(await conn.fetchval(queries("operators")["any_operator"]))


async def create_operator(
    pool: asyncpg.Pool,
    *,
    tenant_code: str,
    name: str,
    role: str,
    email: str | None,
    actor: str,
    first_admin: bool = False,
    topics: Sequence[str] = (),
) -> NewOperator:
    """``first_admin``: created without an admin's token, which only the very first operator
    of an empty database may be (an admin); checked in the transaction that creates it."""
    check_role(role)
    if not name.strip() or len(name) > 200:
        raise InputError("operator name must be 1 to 200 characters")
    email = check_email(email)
    topics = check_topics(role, topics)
    token = new_token()
    async with pool.acquire() as conn, conn.transaction():
        if first_admin:
            await _check_first_admin(conn, role)
        tenant = await get_tenant(conn, tenant_code)
        twin = await conn.fetchrow(queries("operators")["account_of"], tenant["id"], email)
        if twin is not None:
            raise ConflictError(_twin(email, twin))
        try:
            row = await conn.fetchrow(
                queries("operators")["insert_operator"],
                tenant["id"],
                name.strip(),
                email,
                role,
                hash_token(token),
                token_prefix(token),
                list(topics),
            )
        except asyncpg.UniqueViolationError:  # created at the same moment by someone else
            raise ConflictError(_twin(email, None)) from None
        assert row is not None  # noqa: S101 - INSERT … RETURNING returns the row
        await audit.record(
            conn,
            actor=actor,
            action="operator.create",
            target=f"operator:{row['id']}",
            tenant_id=tenant["id"],
            details={
                "name": name,
                "role": role,
                **({"topics": list(topics)} if topics else {}),
                **({"first_admin": True} if first_admin else {}),
            },
        )
    return NewOperator(row["id"], row["name"], row["role"], tenant_code, token)


async def _check_first_admin(conn: Queryable, role: str) -> None:
    await conn.execute(queries("operators")["lock_for_first_admin"])
    if await any_operator(conn):
        raise ForbiddenError(
            "adding an operator needs an admin's token: set ALERTD_OPERATOR_TOKEN to it (only "
            "the very first admin of an empty database is created without one)"
        )
    if role != "admin":
        raise ForbiddenError(
            f"the first operator of an empty database is its admin (--role admin), not a "
            f"{role}: that admin then adds the others with their token"
        )


def _twin(email: str, row: asyncpg.Record | None) -> str:
    who = f"operator {row['id']} ({row['name']}, {row['role']})" if row else "an operator"
    return (
        f"{email} already has an account, {who}: one person, one account (to give them another "
        "role or commune, disable that account first)"
    )


async def same_person(conn: Queryable, first: int, second: int) -> bool:
    """Are these two operator accounts one person (the same id, or the same e-mail)?"""
    return bool(await conn.fetchval(queries("operators")["same_person"], first, second))


async def list_operators(pool: asyncpg.Pool, tenant_code: str | None) -> list[OperatorLine]:
    if tenant_code is not None:
        await get_tenant(pool, tenant_code)
    rows = await pool.fetch(queries("operators")["list_operators"], tenant_code)
    return [OperatorLine(**dict(r)) for r in rows]


async def rotate_token(pool: asyncpg.Pool, operator_id: int, actor: str) -> NewToken:
    token = new_token()
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            queries("operators")["set_token"], operator_id, hash_token(token), token_prefix(token)
        )
        if row is None:
            raise NotFoundError(f"operator {operator_id} does not exist or is disabled")
        await audit.record(
            conn,
            actor=actor,
            action="operator.rotate_token",
            target=f"operator:{operator_id}",
            tenant_id=row["tenant_id"],
        )
    return NewToken(operator_id, token)


async def disable_operator(pool: asyncpg.Pool, operator_id: int, actor: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(queries("operators")["disable"], operator_id)
        if row is None:
            raise NotFoundError(f"operator {operator_id} does not exist or is already disabled")
        await audit.record(
            conn,
            actor=actor,
            action="operator.disable",
            target=f"operator:{operator_id}",
            tenant_id=row["tenant_id"],
        )


async def authenticate(pool: asyncpg.Pool, token: str) -> Operator | None:
    """The operator a token belongs to, or None (unknown, rotated or disabled)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = await pool.fetchrow(queries("operators")["by_token"], hash_token(token))
    if row is None:
        return None
    return Operator(
        row["id"],
        row["tenant_id"],
        row["tenant_code"],
        row["name"],
        row["role"],
        row["token_kind"],
        tuple(row["topics"]),
    )


async def set_token_kind(pool: asyncpg.Pool, operator_id: int, kind: str, actor: str) -> None:
    """``test``: the operator's token works everywhere, and what it sends never leaves the
    machine (training, integration work); ``live``: a real one."""
    if kind not in TOKEN_KINDS:
        raise InputError(f"token kind {kind!r} is not one of {', '.join(TOKEN_KINDS)}")
    async with pool.acquire() as conn, conn.transaction():
        tenant_id = await conn.fetchval(queries("operators")["set_token_kind"], operator_id, kind)
        if tenant_id is None:
            raise NotFoundError(f"operator {operator_id} does not exist")
        await audit.record(
            conn,
            actor=actor,
            action="operator.token_kind",
            target=f"operator:{operator_id}",
            tenant_id=tenant_id,
            details={"kind": kind},
        )
