"""Alerts over HTTP: the same lifecycle as the CLI, with roles, territories and idempotency."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from tests.api.conftest import Tokens, auth, draft_body

Client = TestClient[Any, Any]


async def _draft(client: Client, token: str, **changes: Any) -> int:
    resp = await client.post("/v1/alerts", json=draft_body(**changes), headers=auth(token))
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["alert"])


async def test_create_preview_send_status(client: Client, tokens: Tokens) -> None:
    resp = await client.post("/v1/alerts", json=draft_body(), headers=auth(tokens.officer))
    assert resp.status == 201
    created = await resp.json()
    assert created["recipients"] == 40
    alert = created["alert"]
    resp = await client.get(f"/v1/alerts/{alert}/preview", headers=auth(tokens.viewer))
    assert (await resp.json())["recipients"] == 40
    resp = await client.post(
        f"/v1/alerts/{alert}/send",
        json={},
        headers=auth(tokens.officer, **{"Idempotency-Key": "k1"}),
    )
    assert resp.status == 200, await resp.text()
    sent = await resp.json()
    assert sent["status"] == "sent" and sent["recipients"] == 40
    resp = await client.get(f"/v1/alerts/{alert}", headers=auth(tokens.viewer))
    assert (await resp.json())["status"] == "sent"
    resp = await client.get("/v1/alerts", headers=auth(tokens.viewer))
    assert [a["id"] for a in await resp.json()] == [alert]


async def test_retried_send_returns_the_first_response_and_sends_once(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    alert = await _draft(client, tokens.officer)
    headers = auth(tokens.officer, **{"Idempotency-Key": "send-once"})
    first = await client.post(f"/v1/alerts/{alert}/send", json={}, headers=headers)
    again = await client.post(f"/v1/alerts/{alert}/send", json={}, headers=headers)
    assert first.status == again.status == 200
    assert await first.json() == await again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    # The send was done once: one delivery per recipient, one audit entry of the send.
    assert await loaded.fetchval("SELECT count(*) FROM deliveries WHERE alert_id = $1", alert) == 40
    sends = await loaded.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'alert.send' AND target = $1",
        f"alert:{alert}",
    )
    assert sends == 1


async def test_same_key_with_another_request_is_422(client: Client, tokens: Tokens) -> None:
    first = await _draft(client, tokens.officer)
    second = await _draft(client, tokens.officer)
    headers = auth(tokens.officer, **{"Idempotency-Key": "reused"})
    assert (await client.post(f"/v1/alerts/{first}/send", json={}, headers=headers)).status == 200
    resp = await client.post(f"/v1/alerts/{second}/send", json={}, headers=headers)
    assert resp.status == 422
    assert "different request" in (await resp.json())["detail"]


async def test_send_without_idempotency_key_is_refused(client: Client, tokens: Tokens) -> None:
    alert = await _draft(client, tokens.officer)
    resp = await client.post(f"/v1/alerts/{alert}/send", json={}, headers=auth(tokens.officer))
    assert resp.status == 400
    assert "Idempotency-Key" in (await resp.json())["detail"]


async def test_roles_and_territory_as_the_cli(client: Client, tokens: Tokens) -> None:
    resp = await client.post("/v1/alerts", json=draft_body(), headers=auth(tokens.viewer))
    assert resp.status == 403
    assert "needs the operator role" in (await resp.json())["detail"]
    alert = await _draft(client, tokens.officer)
    resp = await client.get(f"/v1/alerts/{alert}", headers=auth(tokens.gravelines))
    assert resp.status == 403
    assert "outside the territory" in (await resp.json())["detail"]
    resp = await client.get(f"/v1/alerts/{alert}", headers=auth(tokens.admin))
    assert resp.status == 200  # the intercommunality reads its communes' alerts


async def test_test_token_sends_to_the_training_gateway_only(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    from alertd.api import training

    alert = await _draft(client, tokens.test)
    resp = await client.post(
        f"/v1/alerts/{alert}/send", json={}, headers=auth(tokens.test, **{"Idempotency-Key": "t"})
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["note"] == training.TRAINING_NOTE
    # Parked as they were written: the dispatch loop, which claims 'queued', never sees them.
    rows = await loaded.fetch("SELECT status, leased_by FROM deliveries WHERE alert_id = $1", alert)
    assert len(rows) == 40
    assert {(r["status"], r["leased_by"]) for r in rows} == {("sending", "training")}
    assert await training.take(loaded) == 40
    resp = await client.get(f"/v1/alerts/{alert}", headers=auth(tokens.test))
    status = await resp.json()
    assert status["progress"]["delivered"] == 40
    assert status["note"] == training.TRAINING_NOTE
    gateways = await loaded.fetch(
        "SELECT DISTINCT gateway FROM deliveries WHERE alert_id = $1", alert
    )
    assert [g["gateway"] for g in gateways] == ["training"]
    # Its all-clear is training too, whoever sends it.
    resp = await client.post(
        f"/v1/alerts/{alert}/all-clear",
        json={},
        headers=auth(tokens.officer, **{"Idempotency-Key": "c"}),
    )
    assert resp.status == 200, await resp.text()
    child = (await resp.json())["all_clear_id"]
    parked = await loaded.fetchval(
        "SELECT count(*) FROM deliveries WHERE alert_id = $1 AND leased_by = 'training'", child
    )
    assert parked == 40


async def test_a_test_token_never_sends_a_live_alert(client: Client, tokens: Tokens) -> None:
    alert = await _draft(client, tokens.officer)  # a live token's draft
    resp = await client.post(
        f"/v1/alerts/{alert}/send", json={}, headers=auth(tokens.test, **{"Idempotency-Key": "t"})
    )
    assert resp.status == 403
    assert "a live token sends it" in (await resp.json())["detail"]


async def test_deliveries_paged_and_masked(client: Client, tokens: Tokens) -> None:
    alert = await _draft(client, tokens.officer)
    await client.post(
        f"/v1/alerts/{alert}/send",
        json={},
        headers=auth(tokens.officer, **{"Idempotency-Key": "d"}),
    )
    seen: list[dict[str, Any]] = []
    url = f"/v1/alerts/{alert}/deliveries?limit=15"
    while True:
        page = await (await client.get(url, headers=auth(tokens.officer))).json()
        seen += page["items"]
        if page["next_cursor"] is None:
            break
        url = f"/v1/alerts/{alert}/deliveries?limit=15&cursor={page['next_cursor']}"
    assert len(seen) == 40 and len({d["id"] for d in seen}) == 40
    assert all(d["phone"].startswith("+*********") for d in seen)
    assert seen[0]["status"] == "queued"
    page = await (await client.get(url, headers=auth(tokens.admin))).json()
    assert page["items"] == [] or page["items"][0]["phone"].startswith("+3374")
    first = await (
        await client.get(f"/v1/alerts/{alert}/deliveries?limit=1", headers=auth(tokens.admin))
    ).json()
    assert first["items"][0]["phone"].startswith("+3374")  # the admin reads it in clear


async def test_approver_returns_an_alert_with_a_reason(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    await loaded.execute("UPDATE tenants SET approval_threshold = 10 WHERE code = '59183'")
    alert = await _draft(client, tokens.officer)
    resp = await client.post(
        f"/v1/alerts/{alert}/send",
        json={},
        headers=auth(tokens.officer, **{"Idempotency-Key": "p"}),
    )
    assert (await resp.json())["status"] == "pending_approval"
    why = {"reason": "la digue de Malo, pas le port"}
    resp = await client.post(f"/v1/alerts/{alert}/return", json=why, headers=auth(tokens.officer))
    assert resp.status == 403  # the author does not return their own alert
    resp = await client.post(f"/v1/alerts/{alert}/return", json=why, headers=auth(tokens.approver))
    assert resp.status == 200, await resp.text()
    status = await (await client.get(f"/v1/alerts/{alert}", headers=auth(tokens.officer))).json()
    assert status["status"] == "draft"
    details = await loaded.fetchval(
        "SELECT details FROM audit_log WHERE action = 'alert.returned' AND target = $1",
        f"alert:{alert}",
    )
    assert details["reason"] == why["reason"]
    resp = await client.post(f"/v1/alerts/{alert}/return", json=why, headers=auth(tokens.approver))
    assert resp.status == 409  # a draft is not waiting for approval


async def test_a_zone_no_alert_used_is_deleted_one_alerted_is_kept(
    client: Client, tokens: Tokens
) -> None:
    ids = []
    for name in ("a", "b"):
        zone = {"name": name, "circle": {"lon": 2.3431, "lat": 51.0292, "radius_m": 300}}
        resp = await client.post("/v1/zones/circle", json=zone, headers=auth(tokens.officer))
        ids.append((await resp.json())["id"])
    body = {k: v for k, v in draft_body(zone_ids=[ids[1]]).items() if k != "circle"}
    assert (await client.post("/v1/alerts", json=body, headers=auth(tokens.officer))).status == 201
    resp = await client.delete(f"/v1/zones/{ids[0]}", headers=auth(tokens.gravelines))
    assert resp.status == 403
    resp = await client.delete(f"/v1/zones/{ids[0]}", headers=auth(tokens.officer))
    assert resp.status == 200
    assert (await client.get(f"/v1/zones/{ids[0]}", headers=auth(tokens.officer))).status == 404
    resp = await client.delete(f"/v1/zones/{ids[1]}", headers=auth(tokens.officer))
    assert resp.status == 409 and "kept" in (await resp.json())["detail"]


async def test_a_refused_send_does_not_hold_its_key(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    """Refused, nothing was sent: the same key works once the refusal no longer holds."""
    alert = await _draft(client, tokens.officer)
    headers = auth(tokens.viewer, **{"Idempotency-Key": "later"})
    resp = await client.post(f"/v1/alerts/{alert}/send", json={}, headers=headers)
    assert resp.status == 403
    await loaded.execute("UPDATE operators SET role = 'operator' WHERE name = 'Lecteur'")
    resp = await client.post(f"/v1/alerts/{alert}/send", json={}, headers=headers)
    assert resp.status == 200, await resp.text()
    assert "Idempotent-Replayed" not in resp.headers


async def test_the_same_send_twice_at_once_sends_once(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    import asyncio

    alert = await _draft(client, tokens.officer)
    headers = auth(tokens.officer, **{"Idempotency-Key": "both"})
    answers = await asyncio.gather(
        *(client.post(f"/v1/alerts/{alert}/send", json={}, headers=headers) for _ in range(4))
    )
    statuses = sorted(a.status for a in answers)
    assert statuses[0] == 200 and set(statuses) <= {200, 409}
    assert await loaded.fetchval("SELECT count(*) FROM deliveries WHERE alert_id = $1", alert) == 40
    sends = await loaded.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'alert.send' AND target = $1",
        f"alert:{alert}",
    )
    assert sends == 1


async def test_old_idempotency_keys_are_forgotten(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    from alertd.api import idempotency

    alert = await _draft(client, tokens.officer)
    headers = auth(tokens.officer, **{"Idempotency-Key": "old"})
    await client.post(f"/v1/alerts/{alert}/send", json={}, headers=headers)
    assert await idempotency.purge(loaded) == 0  # a fresh key stays
    await loaded.execute("UPDATE api_idempotency_keys SET created_at = now() - interval '2 days'")
    assert await idempotency.purge(loaded) == 1


async def test_a_retried_create_with_a_key_drafts_once(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    headers = auth(tokens.officer, **{"Idempotency-Key": "draft-1"})
    first = await client.post("/v1/alerts", json=draft_body(), headers=headers)
    again = await client.post("/v1/alerts", json=draft_body(), headers=headers)
    assert first.status == again.status == 201
    assert (await first.json())["alert"] == (await again.json())["alert"]
    assert await loaded.fetchval("SELECT count(*) FROM alerts") == 1


async def test_replies_are_paged_and_masked(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    alert = await _draft(client, tokens.officer)
    await loaded.execute(
        "INSERT INTO inbound_messages (gateway, sender, body, kind, alert_id) "
        "SELECT 'primary', '+336123456' || lpad(i::text, 2, '0'), 'Merci', 'reply', $1 "
        "FROM generate_series(1, 3) i",
        alert,
    )
    page = await (
        await client.get(f"/v1/alerts/{alert}/replies?limit=2", headers=auth(tokens.officer))
    ).json()
    assert [r["sender"] for r in page["items"]] == ["+*********01", "+*********02"]
    last = await (
        await client.get(
            f"/v1/alerts/{alert}/replies?cursor={page['next_cursor']}", headers=auth(tokens.admin)
        )
    ).json()
    assert [r["sender"] for r in last["items"]] == ["+33612345603"]
    assert last["next_cursor"] is None
