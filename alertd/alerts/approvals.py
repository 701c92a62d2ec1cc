"""Asking for a second person's approval, and withdrawing one that no longer holds: stored and
audited, so that the next send asks again."""

from __future__ import annotations

import asyncpg

from alertd import audit
from alertd.alerts import checks
from alertd.errors import ConflictError, InputError
from alertd.logs import get_logger
from alertd.store.queries import queries

log = get_logger(__name__)


async def revoke(pool: asyncpg.Pool, alert: asyncpg.Record, recipients: int, actor: str) -> None:
    """The recipients moved away from what was approved: the approval no longer holds. Stored
    (so the next send asks again), then refused with the reason."""
    approved = alert["approved_recipients"]
    log.warning(
        "alert.approval_revoked", alert_id=alert["id"], approved=approved, recipients=recipients
    )
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries("alerts")["revoke_approval"], alert["id"])
        await audit.record(
            conn,
            actor=actor,
            action="alert.approval_revoked",
            target=f"alert:{alert['id']}",
            tenant_id=alert["tenant_id"],
            details={"approved_recipients": approved, "recipients": recipients},
        )
    raise ConflictError(
        f"alert {alert['id']} now reaches {recipients} people, not the {approved} that were "
        f"approved (more than {checks.tolerance(approved)} apart: the zone, the postcode areas or "
        f"the residents changed): nothing was sent; preview it again (alertd alert preview "
        f"{alert['id']}) and send it to ask for a new approval"
    )


async def ask(pool: asyncpg.Pool, alert: asyncpg.Record, recipients: int, actor: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        moved = await conn.fetchval(
            queries("alerts")["set_status"], alert["id"], "pending_approval", ["draft"]
        )
        if moved is None:
            raise ConflictError(f"alert {alert['id']} changed meanwhile: look at its status")
        await audit.record(
            conn,
            actor=actor,
            action="alert.approval_requested",
            target=f"alert:{alert['id']}",
            tenant_id=alert["tenant_id"],
            details={"recipients": recipients, "threshold": alert["approval_threshold"]},
        )


async def give_back(pool: asyncpg.Pool, alert: asyncpg.Record, reason: str, actor: str) -> None:
    """An approver returns an alert (or an update) waiting for approval to its author, with the
    reason: it is a draft again, to correct and send anew. The caller checked the approver."""
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InputError("say why the alert is returned (1 to 500 characters)")
    async with pool.acquire() as conn, conn.transaction():
        moved = await conn.fetchval(
            queries("alerts")["set_status"], alert["id"], "draft", ["pending_approval"]
        )
        if moved is None:
            raise ConflictError(
                f"alert {alert['id']} is not waiting for approval ({alert['status']}): only an "
                "alert waiting for approval is returned to its author"
            )
        await audit.record(
            conn,
            actor=actor,
            action="alert.returned",
            target=f"alert:{alert['id']}",
            tenant_id=alert["tenant_id"],
            details={"reason": reason},
        )


async def carry(
    pool: asyncpg.Pool,
    alert: asyncpg.Record,
    approver_id: int,
    recipients: int,
    actor: str,
    *,
    because: str,
) -> None:
    """An alert approved before it was drafted: a schedule's firing, the schedule approved by a
    second person. Stored on the alert as its approval, and audited with the reason."""
    async with pool.acquire() as conn, conn.transaction():
        status = await conn.fetchval(
            queries("alerts")["approve"], alert["id"], approver_id, recipients
        )
        if status is None:
            raise ConflictError(f"alert {alert['id']} changed meanwhile: look at its status")
        await audit.record(
            conn,
            actor=actor,
            action="alert.approve",
            target=f"alert:{alert['id']}",
            tenant_id=alert["tenant_id"],
            details={"approved_by": approver_id, "because": because, "recipients": recipients},
        )
