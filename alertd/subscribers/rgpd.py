"""RGPD requests on one person: everything held on them (access), and erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from alertd import audit
from alertd.errors import NotFoundError
from alertd.logs import mask_phone
from alertd.phones import parse_phone
from alertd.store.queries import queries
from alertd.tenants import get_tenant


def _json_ready(record: asyncpg.Record) -> dict[str, Any]:
    out = {}
    for key, value in record.items():
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    return out


async def export_subscriber(
    pool: asyncpg.Pool, phone: str, tenant_code: str | None, region: str, actor: str
) -> dict[str, Any]:
    """Everything held on the person with this phone (RGPD right of access)."""
    e164 = parse_phone(phone, region).e164
    q = queries("subscribers")
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        if tenant_code is not None:
            await get_tenant(conn, tenant_code)
        subs = await conn.fetch(q["by_phone"], e164, tenant_code)
        if not subs:
            raise NotFoundError(f"no subscriber with phone {mask_phone(e164)}")
        ids = [s["id"] for s in subs]
        deliveries = await conn.fetch(q["deliveries_of"], ids)
        inbound = await conn.fetch(q["inbound_of"], e164)
        history = await conn.fetch(q["audit_of"], [f"subscriber:{i}" for i in ids])
        consents = await conn.fetch(queries("enrol")["consents_of"], ids)
        export = {
            "phone": e164,
            "exported_at": datetime.now(UTC).isoformat(),
            "subscriptions": [_json_ready(s) for s in subs],
            "messages_sent": [_json_ready(d) for d in deliveries],
            "messages_received": [_json_ready(m) for m in inbound],
            "history": [_json_ready(a) for a in history],
            # Each consent given or withdrawn (alerts, each topic): when, how, at the desk by whom.
            "consents": [_json_ready(c) for c in consents],
        }
        for sub in subs:
            await audit.record(
                conn,
                actor=actor,
                action="subscriber.export",
                target=f"subscriber:{sub['id']}",
                tenant_id=sub["tenant_id"],
                details={"phone": mask_phone(e164)},
            )
    return export


async def erase_subscriber(
    pool: asyncpg.Pool, phone: str, tenant_code: str | None, region: str, actor: str
) -> int:
    """Erase the person with this phone (RGPD right to erasure); returns subscriptions erased.

    Their subscriptions, their consent records, the messages sent to them and the messages they
    sent go; the audit log keeps that an erasure happened, with the number masked.
    """
    e164 = parse_phone(phone, region).e164
    q = queries("subscribers")
    async with pool.acquire() as conn, conn.transaction():
        if tenant_code is not None:
            await get_tenant(conn, tenant_code)
        erased = await conn.fetch(q["erase_subscribers"], e164, tenant_code)
        if not erased:
            raise NotFoundError(f"no subscriber with phone {mask_phone(e164)}")
        if tenant_code is None or not await conn.fetchval(
            "SELECT exists(SELECT 1 FROM subscribers WHERE phone = $1)", e164
        ):
            await conn.execute(q["erase_inbound"], e164)
            await conn.execute(queries("service_sms")["erase_phone"], e164)
        for row in erased:
            await audit.record(
                conn,
                actor=actor,
                action="subscriber.erase",
                target=f"subscriber:{row['id']}",
                tenant_id=row["tenant_id"],
                details={"phone": mask_phone(e164)},
            )
    return len(erased)
