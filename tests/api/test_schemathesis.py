"""Schemathesis against the live API on a real database: whatever it generates from the OpenAPI
document, the server answers without a server error and as the document says."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import aiohttp
import asyncpg
import schemathesis
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode, checks

from alertd import operators
from alertd.api.app import create_app
from alertd.config import Config
from tests.api.conftest import Tokens, auth, draft_body

EXAMPLES = 40  # per operation, valid and invalid: 30 operations, 20 to 40 s in all
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]


def _near_the_seeded(doc: dict[str, Any]) -> dict[str, Any]:
    """The served document, with path ids and tenant codes narrowed to the few the test seeded:
    random ids up to 10^18 would only ever meet a 404."""
    for methods in doc["paths"].values():
        for operation in methods.values():
            for param in operation["parameters"]:
                if param["in"] == "path" and param["name"] == "code":
                    param["schema"] = {"enum": ["59183", "59273", "245900428"]}
                elif param["in"] == "path":
                    param["schema"] = {"type": "integer", "minimum": 1, "maximum": 4}
    return doc


def _fuzz(base_url: str, doc: dict[str, Any], token: str) -> tuple[list[str], set[str]]:
    """Every operation with generated data: the failures, described, and the operations that
    did their work at least once. Valid requests come from the narrowed document; invalid ones
    from the document as served, so that "invalid" means invalid for the API (an id past the
    narrowing, e.g. an operator the fuzzing created, is a valid id)."""
    narrowed = schemathesis.openapi.from_dict(_near_the_seeded(copy.deepcopy(doc)))
    served = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    reached: set[str] = set()  # operations that answered 2xx at least once
    pairs = zip(narrowed.get_all_operations(), served.get_all_operations(), strict=True)
    for valid, invalid in pairs:
        _fuzz_one(valid.ok(), invalid.ok(), base_url, token, failures, reached)
    return failures, reached


def _fuzz_one(
    operation: Any,
    served: Any,
    base_url: str,
    token: str,
    failures: list[str],
    reached: set[str],
) -> None:
    assert operation.label == served.label  # the same operation in both documents
    # Valid requests, and requests made invalid on purpose (wrong types, missing fields, values
    # out of range): both must get a documented answer, the invalid ones a 4xx.
    strategy = operation.as_strategy() | served.as_strategy(GenerationMode.NEGATIVE)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        # The same examples on every run: CI must not pass or fail by luck. (Run it with
        # derandomize off by hand to explore further.)
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        given_headers = dict(case.headers or {})
        negative = case._meta is not None and case._meta.generation.mode.is_negative
        # Our token, unless the invalid request is precisely one without a token.
        headers = {} if negative and "Authorization" not in given_headers else auth(token)
        if "Idempotency-Key" in given_headers:
            headers["Idempotency-Key"] = given_headers["Idempotency-Key"]
        response = case.call(base_url=base_url, headers=headers)
        if response.status_code < 300:
            reached.add(operation.label)
        try:
            case.validate_response(response, checks=CHECKS)
        except AssertionError as exc:  # schemathesis's failures are AssertionErrors
            failures.append(f"{operation.label}: {exc}")

    run()


async def _seed(pool: asyncpg.Pool, tokens: Tokens, config: Config) -> None:
    """Two alerts (one sent), a zone: something for the generated ids to find."""
    async with TestClient(TestServer(create_app(config, pool), host="127.0.0.1")) as client:
        for _ in range(2):
            resp = await client.post("/v1/alerts", json=draft_body(), headers=auth(tokens.officer))
            assert resp.status == 201
        resp = await client.post(
            "/v1/alerts/1/send", json={}, headers=auth(tokens.officer, **{"Idempotency-Key": "s"})
        )
        assert resp.status == 200
        resp = await client.post(
            "/v1/zones/circle",
            json={"name": "site", "circle": {"lon": 2.3431, "lat": 51.0292, "radius_m": 500}},
            headers=auth(tokens.officer),
        )
        assert resp.status == 201, await resp.text()


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    config: Config, loaded: asyncpg.Pool, tokens: Tokens
) -> None:
    # Generous limits: schemathesis fires hundreds of requests as fast as it can.
    app = create_app(config, loaded, rate=10_000, burst=10_000)
    await _seed(loaded, tokens, config)
    # An admin of its own, past the ids the fuzzing reaches: it may rotate or disable the
    # others' tokens, never its own.
    fuzzer = await operators.create_operator(
        loaded,
        tenant_code="245900428",
        name="Fuzz",
        role="admin",
        email="fuzz@example.org",
        actor="test",
    )
    async with TestServer(app, host="127.0.0.1") as server:
        base_url = str(server.make_url("")).rstrip("/")
        async with aiohttp.ClientSession() as http, http.get(f"{base_url}/v1/openapi.json") as r:
            doc = await r.json()  # the document as served
        failures, reached = await asyncio.to_thread(_fuzz, base_url, doc, fuzzer.token)
    assert failures == [], "\n\n".join(failures[:10])
    # Not only refusals: the generated requests reached the real work of most operations.
    assert len(reached) >= 12, sorted(reached)
