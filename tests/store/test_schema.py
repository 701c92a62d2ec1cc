"""The database enforces the invariants, whatever the code does."""

from __future__ import annotations

import asyncpg
import pytest


async def _tenant(pool: asyncpg.Pool, code: str = "59183") -> int:
    return int(
        await pool.fetchval(
            "INSERT INTO tenants (code, kind, name) VALUES ($1, 'commune', 'Dunkerque') "
            "RETURNING id",
            code,
        )
    )


async def _subscriber(pool: asyncpg.Pool, tenant: int, phone: str = "+33612345678") -> int:
    return int(
        await pool.fetchval(
            "INSERT INTO subscribers (tenant_id, phone, postcode, status, consent_at) "
            "VALUES ($1, $2, '59140', 'active', now()) RETURNING id",
            tenant,
            phone,
        )
    )


async def test_phone_is_unique_per_tenant_not_globally(pool: asyncpg.Pool) -> None:
    dunkerque, gravelines = await _tenant(pool), await _tenant(pool, "59273")
    await _subscriber(pool, dunkerque)
    await _subscriber(pool, gravelines)  # the same person may follow two communes
    with pytest.raises(asyncpg.UniqueViolationError):
        await _subscriber(pool, dunkerque)


async def test_one_delivery_per_alert_and_subscriber(pool: asyncpg.Pool) -> None:
    tenant = await _tenant(pool)
    sub = await _subscriber(pool, tenant)
    alert = await pool.fetchval(
        "INSERT INTO alerts (tenant_id, hazard, severity) VALUES ($1, 'flood', 'life_safety') "
        "RETURNING id",
        tenant,
    )
    await pool.execute(
        "INSERT INTO deliveries (alert_id, subscriber_id) VALUES ($1, $2)", alert, sub
    )
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(
            "INSERT INTO deliveries (alert_id, subscriber_id) VALUES ($1, $2)", alert, sub
        )


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        (
            "INSERT INTO subscribers (tenant_id, phone, postcode) "
            "VALUES ($1, '0612345678', '59140')",
            asyncpg.CheckViolationError,
        ),
        (
            "INSERT INTO subscribers (tenant_id, phone, lon) VALUES ($1, '+33612345678', 2.3)",
            asyncpg.CheckViolationError,
        ),
        (
            "INSERT INTO subscribers (tenant_id, phone, postcode, lon, lat) "
            "VALUES ($1, '+33612345678', '59140', 700000, 7000000)",
            asyncpg.CheckViolationError,
        ),
        (
            "INSERT INTO subscribers (tenant_id, phone, postcode, status) "
            "VALUES ($1, '+33612345678', '59140', 'active')",
            asyncpg.CheckViolationError,
        ),
        (
            "INSERT INTO subscribers (tenant_id, phone, postcode, status) "
            "VALUES ($1, '+33612345678', '59140', 'gone')",
            asyncpg.CheckViolationError,
        ),
        (
            "INSERT INTO subscribers (tenant_id, phone) VALUES ($1, '+33612345678')",
            asyncpg.CheckViolationError,
        ),
        (
            "INSERT INTO operators (tenant_id, name, role, token_hash, token_prefix) "
            "VALUES ($1, 'x', 'god', 'h', 'p')",
            asyncpg.CheckViolationError,
        ),
        (
            "INSERT INTO zones (tenant_id, kind, name, geometry) VALUES ($1, 'volcano', 'x', '{}')",
            asyncpg.CheckViolationError,
        ),
        (
            "INSERT INTO alerts (tenant_id, hazard, severity) VALUES ($1, 'flood', 'medium')",
            asyncpg.CheckViolationError,
        ),
    ],
)
async def test_invalid_rows_are_refused(
    pool: asyncpg.Pool, sql: str, error: type[Exception]
) -> None:
    tenant = await _tenant(pool)
    with pytest.raises(error):
        await pool.execute(sql, tenant)


async def test_tenant_codes_are_insee_or_siren(pool: asyncpg.Pool) -> None:
    for code in ("59183", "2A004", "245900428"):
        await pool.execute(
            "INSERT INTO tenants (code, kind, name) VALUES ($1, $2, 'x')",
            code,
            "intercommunality" if len(code) == 9 else "commune",
        )
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("INSERT INTO tenants (code, kind, name) VALUES ('5918', 'commune', 'x')")


async def test_audit_log_is_append_only(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO audit_log (actor, action) VALUES ('test', 'x')")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await pool.execute("UPDATE audit_log SET action = 'y'")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await pool.execute("DELETE FROM audit_log")
    assert await pool.fetchval("SELECT action FROM audit_log") == "x"


async def test_dispatch_indexes_exist(pool: asyncpg.Pool) -> None:
    names = {r["indexname"] for r in await pool.fetch("SELECT indexname FROM pg_indexes")}
    assert {
        "deliveries_queued_idx",
        "deliveries_sending_idx",
        "deliveries_gateway_msg_idx",
        "inbound_gateway_message_idx",
        "subscribers_tenant_postcode_status_idx",
    } <= names
