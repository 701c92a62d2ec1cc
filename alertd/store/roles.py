"""The two PostgreSQL roles of a deployment: the owner, which runs the migrations and owns every
table, and the application's role, which the daemon and the CLI connect as. The application's
role owns nothing: it reads and writes the data, may only insert into (and read) the audit log,
and can neither TRUNCATE, ALTER, DROP nor disable a trigger (all of which need ownership).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alertd.errors import ConflictError, InputError, NotFoundError
from alertd.store.types import Conn

_ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Tables the application may read and append to, never change.
APPEND_ONLY = ("audit_log",)
# Tables it may only read: the chain's head (written by the audit trigger) and the migrations.
READ_ONLY = ("audit_chain_head", "schema_migrations")


@dataclass(frozen=True, slots=True)
class Grant:
    role: str
    database: str
    owner: str
    tables: int


def _checked_name(role: str) -> str:
    if not _ROLE_RE.match(role):
        raise InputError(
            f"role name {role!r}: use lowercase letters, digits and _ (e.g. alertd_app)"
        )
    return role


def _statements(role: str) -> list[str]:
    # CONNECT and TEMPORARY (the import's staging table) come from PUBLIC by default.
    r = f'"{role}"'
    only_read = ", ".join(READ_ONLY)
    return [
        f"REVOKE CREATE ON SCHEMA public FROM {r}",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        # Idempotent: start from nothing, then the rights it needs.
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
        f"REVOKE INSERT, UPDATE, DELETE ON {only_read} FROM {r}",
        f"REVOKE UPDATE, DELETE ON {', '.join(APPEND_ONLY)} FROM {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
        # Tables and sequences later migrations create (as this owner) get the same rights.
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {r}",
    ]


async def grant_app_role(conn: Conn, role: str) -> Grant:
    """Give ``role`` what the daemon and the CLI need, as the owner (the current user)."""
    role = _checked_name(role)
    found = await conn.fetchrow(
        "SELECT rolsuper, rolbypassrls, current_user AS me, current_database() AS db "
        "FROM pg_roles WHERE rolname = $1",
        role,
    )
    if found is None:
        raise NotFoundError(
            f'role {role} does not exist: create it as an administrator (CREATE ROLE "{role}" '
            "LOGIN PASSWORD '…'), then run this again"
        )
    if role == found["me"]:
        raise ConflictError(
            f"you are connected as {role}: run this as the role that owns the schema (the one "
            "that runs the migrations), naming the application's role"
        )
    if found["rolsuper"]:
        raise ConflictError(f"role {role} is a superuser: the application's role must not be")
    owned = await conn.fetchval(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = $1",
        role,
    )
    if owned:
        raise ConflictError(
            f"role {role} owns {owned} table(s) or sequence(s) here: the application's role "
            "must own nothing (it could change or empty the audit log); give them to the owner "
            f'(REASSIGN OWNED BY "{role}" TO "{found["me"]}")'
        )
    async with conn.transaction():
        for statement in _statements(role):
            await conn.execute(statement)
    tables = await conn.fetchval(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' "
        "AND has_table_privilege($1, c.oid, 'SELECT')",
        role,
    )
    return Grant(role, found["db"], found["me"], int(tables))
