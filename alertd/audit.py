"""The audit log: who did what, when. Append-only (a trigger refuses updates and deletes).

Callers pass no phone number in clear: targets are ids ("subscriber:42"), details carry masked
numbers when a number must be mentioned at all.
"""

from __future__ import annotations

import getpass
from typing import Any

from alertd.store.types import Queryable


def cli_actor() -> str:
    """The actor for commands run on the server's shell: the system account that ran them."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


async def record(
    conn: Queryable,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    tenant_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (actor, tenant_id, action, target, details) "
        "VALUES ($1, $2, $3, $4, $5)",
        actor,
        tenant_id,
        action,
        target,
        details or {},
    )
