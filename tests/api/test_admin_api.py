"""Administration, subscribers (CSV import, RGPD export and erasure) and the audit log over HTTP:
admins only, within their territory."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from tests.api.conftest import Tokens, auth

Client = TestClient[Any, Any]
CSV = "phone,postcode\n06 12 34 56 01,59140\n06 12 34 56 02,59140\nnot a phone,59140\n"


async def test_tenants_list_is_the_territory(client: Client, tokens: Tokens) -> None:
    codes = {
        t["code"]
        for t in await (await client.get("/v1/tenants", headers=auth(tokens.admin))).json()
    }
    assert {"245900428", "59183", "59273"} <= codes
    mine = await (await client.get("/v1/tenants", headers=auth(tokens.officer))).json()
    assert [t["code"] for t in mine] == ["59183"]


async def test_update_tenant_admin_only(client: Client, tokens: Tokens) -> None:
    change = {"approval_threshold": 12}
    resp = await client.post("/v1/tenants/59183", json=change, headers=auth(tokens.approver))
    assert resp.status == 403 and "needs the admin role" in (await resp.json())["detail"]
    resp = await client.post("/v1/tenants/59183", json=change, headers=auth(tokens.admin))
    assert resp.status == 200
    assert (await resp.json())["approval_threshold"] == 12


async def test_operators_created_with_a_test_token_kind(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    body = {
        "name": "Formation",
        "email": "formation@example.org",
        "role": "operator",
        "tenant": "59183",
        "token_kind": "test",
    }
    resp = await client.post("/v1/operators", json=body, headers=auth(tokens.admin))
    assert resp.status == 201, await resp.text()
    new = await resp.json()
    assert new["token"].startswith("alertd_")
    kind = await loaded.fetchval("SELECT token_kind FROM operators WHERE id = $1", new["id"])
    assert kind == "test"
    # The new token works; a rotated one stops working.
    assert (await client.get("/v1/alerts", headers=auth(new["token"]))).status == 200
    resp = await client.post(
        f"/v1/operators/{new['id']}/rotate-token", json={}, headers=auth(tokens.admin)
    )
    assert (await client.get("/v1/alerts", headers=auth(new["token"]))).status == 401
    rotated = (await resp.json())["token"]
    assert (await client.get("/v1/alerts", headers=auth(rotated))).status == 200
    listed = await (await client.get("/v1/operators", headers=auth(tokens.admin))).json()
    assert all("token_hash" not in o for o in listed)
    assert new["id"] in {o["id"] for o in listed}


async def test_a_commune_admin_cannot_reach_another_commune(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    from alertd import operators

    other = await operators.create_operator(
        loaded,
        tenant_code="59273",
        name="Maire",
        role="admin",
        email="maire@example.org",
        actor="test",
    )
    body = {"name": "X", "email": "x@example.org", "role": "admin", "tenant": "59183"}
    resp = await client.post("/v1/operators", json=body, headers=auth(other.token))
    assert resp.status == 403 and "outside their territory" in (await resp.json())["detail"]


async def test_csv_import_export_and_erase(client: Client, tokens: Tokens) -> None:
    resp = await client.post(
        "/v1/subscribers/import", json={"tenant": "59183", "csv": CSV}, headers=auth(tokens.admin)
    )
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    assert (report["inserted"], report["rejected"]) == (2, 1)
    assert report["rejected_rows"][0].startswith("line 4")
    who = {"phone": "06 12 34 56 01", "tenant": "59183"}
    resp = await client.post("/v1/subscribers/export", json=who, headers=auth(tokens.officer))
    assert resp.status == 403
    resp = await client.post("/v1/subscribers/export", json=who, headers=auth(tokens.admin))
    export = await resp.json()
    assert export["phone"] == "+33612345601" and len(export["subscriptions"]) == 1
    resp = await client.post("/v1/subscribers/erase", json=who, headers=auth(tokens.admin))
    assert (await resp.json())["erased"] == 1
    resp = await client.post("/v1/subscribers/export", json=who, headers=auth(tokens.admin))
    assert resp.status == 404
    assert "+*********01" in (await resp.json())["detail"]  # masked, as the CLI's message


async def test_audit_read_and_verify(client: Client, tokens: Tokens) -> None:
    await client.post(
        "/v1/tenants/59183", json={"approval_threshold": 7}, headers=auth(tokens.admin)
    )
    page = await (
        await client.get("/v1/audit?action=tenant.update", headers=auth(tokens.admin))
    ).json()
    assert [e["tenant"] for e in page["items"]] == ["59183"]
    assert (await client.get("/v1/audit", headers=auth(tokens.viewer))).status == 403
    resp = await client.post("/v1/audit/verify", json={}, headers=auth(tokens.admin))
    assert resp.status == 200
    assert (await resp.json())["problem"] is None
