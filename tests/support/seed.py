"""Seeding the database for dispatch tests: n subscribers of Dunkerque and one alert to them."""

from __future__ import annotations

import asyncpg

from alertd.delivery import outbox


async def seed_alert(
    pool: asyncpg.Pool,
    n: int,
    *,
    text: str = "ALERTE SUBMERSION",
    hazard: str = "submersion",
    priority: int = outbox.LIFE_SAFETY,
    enqueue: bool = True,
) -> int:
    """n active subscribers (+33730000001…) in Dunkerque, one alert with a French text, and,
    unless told otherwise, one queued delivery each. Returns the alert id."""
    tenant = await pool.fetchval("SELECT id FROM tenants WHERE code = '59183'")
    await pool.execute(
        "INSERT INTO subscribers (tenant_id, phone, postcode, status, consent_at) "
        "SELECT $1, '+3373' || lpad(i::text, 7, '0'), '59140', 'active', now() "
        "FROM generate_series(1, $2::int) i",
        tenant,
        n,
    )
    severity = "life_safety" if priority == outbox.LIFE_SAFETY else "information"
    alert_id = int(
        await pool.fetchval(
            "INSERT INTO alerts (tenant_id, hazard, severity, texts) VALUES ($1, $2, $3, $4) "
            "RETURNING id",
            tenant,
            hazard,
            severity,
            {"fr": text},
        )
    )
    if enqueue:
        ids = [
            r["id"]
            for r in await pool.fetch(
                "SELECT id FROM subscribers WHERE tenant_id = $1 ORDER BY id", tenant
            )
        ]
        await outbox.enqueue(
            pool,
            alert_id,
            priority,
            subscriber_ids=ids,
            matched_by=["address"] * len(ids),
            languages=["fr"] * len(ids),
        )
    return alert_id
