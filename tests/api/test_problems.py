"""Errors as RFC 9457 problem details, 4xx for every bad input, bounded bodies; auth and rate
limits."""

from __future__ import annotations

import io
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from alertd.api.app import create_app
from alertd.config import Config
from tests.api.conftest import Tokens, auth, draft_body

Client = TestClient[Any, Any]
PROBLEM = "application/problem+json"


async def _problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == PROBLEM
    body: dict[str, Any] = await resp.json()
    assert set(body) == {"type", "title", "status", "detail"}
    assert body["status"] == status
    return body


async def test_no_token_is_401_with_a_challenge(client: Client, tokens: Tokens) -> None:
    resp = await client.get("/v1/alerts")
    body = await _problem(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in body["detail"]
    await _problem(await client.get("/v1/alerts", headers=auth("alertd_nope")), 401)


async def test_malformed_json_is_400(client: Client, tokens: Tokens) -> None:
    resp = await client.post(
        "/v1/alerts",
        data=b"{not json",
        headers=auth(tokens.officer, **{"Content-Type": "application/json"}),
    )
    assert "not valid JSON" in (await _problem(resp, 400))["detail"]


async def test_wrong_types_and_unknown_fields_are_422(client: Client, tokens: Tokens) -> None:
    resp = await client.post(
        "/v1/alerts", json=draft_body(exercise="yes"), headers=auth(tokens.officer)
    )
    assert "exercise" in (await _problem(resp, 422))["detail"]
    resp = await client.post(
        "/v1/alerts", json=draft_body(colour="red"), headers=auth(tokens.officer)
    )
    assert "colour" in (await _problem(resp, 422))["detail"]
    resp = await client.get("/v1/alerts?limit=lots", headers=auth(tokens.officer))
    await _problem(resp, 422)
    resp = await client.get("/v1/alerts?limt=5", headers=auth(tokens.officer))
    assert "unknown query parameter 'limt'" in (await _problem(resp, 422))["detail"]


async def test_domain_errors_carry_the_cli_message(client: Client, tokens: Tokens) -> None:
    resp = await client.post(
        "/v1/alerts", json=draft_body(template="nosuch"), headers=auth(tokens.officer)
    )
    body = await _problem(resp, 400)
    assert "nosuch" in body["detail"]
    body = await _problem(await client.get("/v1/alerts/999999", headers=auth(tokens.officer)), 404)
    assert body["detail"] == "alert 999999 does not exist"


async def test_unknown_route_and_method_are_problems(client: Client, tokens: Tokens) -> None:
    await _problem(await client.get("/v1/nothing", headers=auth(tokens.officer)), 404)
    await _problem(await client.get("/v1/alerts/abc", headers=auth(tokens.officer)), 404)
    resp = await client.delete("/v1/alerts", headers=auth(tokens.officer))
    await _problem(resp, 405)
    assert "GET" in resp.headers["Allow"]


async def test_a_body_too_large_is_413(client: Client, tokens: Tokens) -> None:
    big = b'{"template": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    resp = await client.post(
        "/v1/alerts",
        data=io.BytesIO(big),
        headers=auth(tokens.officer, **{"Content-Type": "application/json"}),
    )
    await _problem(resp, 413)


async def test_phone_numbers_are_masked_in_problems(client: Client, tokens: Tokens) -> None:
    resp = await client.post(
        "/v1/alerts",
        json=draft_body(params={"commune": "+33 6 12 34 56 78"}),
        headers=auth(tokens.officer),
    )
    assert resp.status >= 400
    assert "12 34 56" not in await resp.text()


async def test_rate_limit_is_429_with_retry_after(
    config: Config, loaded: asyncpg.Pool, tokens: Tokens
) -> None:
    app = create_app(config, loaded, rate=0.5, burst=3)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        statuses = [
            (await client.get("/v1/templates", headers=auth(tokens.viewer))).status
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        resp = await client.get("/v1/templates", headers=auth(tokens.viewer))
        body = await _problem(resp, 429)
        assert int(resp.headers["Retry-After"]) >= 1
        assert "too many requests" in body["detail"]
        # Per token: another operator is not slowed down by this one.
        assert (await client.get("/v1/templates", headers=auth(tokens.officer))).status == 200
