"""A tenant's SMS keywords over HTTP: read within the territory, changed by its admin (audited),
refused with a problem that names the word and the rule and changes nothing, and in force for
the next inbound SMS."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from alertd import operators
from alertd.delivery import consumer
from alertd.subscribers.sms_keywords import ReplyLimits, SmsKeywords
from templates import Catalog
from tests.api.conftest import Tokens, auth
from tests.subscribers.test_sms_keywords import Listening

Client = TestClient[Any, Any]
WORDS_OF = "SELECT subscribe_words, help_words, language_words, stop_words FROM tenants ORDER BY id"


async def _stored(pool: asyncpg.Pool) -> tuple[list[asyncpg.Record], int]:
    """Every tenant's words and the audit log's length: what a refusal must leave as it was."""
    return await pool.fetch(WORDS_OF), await pool.fetchval("SELECT count(*) FROM audit_log")


async def test_the_keywords_are_read_within_the_territory(client: Client, tokens: Tokens) -> None:
    resp = await client.get("/v1/tenants/59183/keywords", headers=auth(tokens.viewer))
    assert resp.status == 200, await resp.text()
    shown = await resp.json()
    assert {"ARRET", "STOP"} <= set(shown.pop("stop"))
    assert shown == {
        "code": "59183",
        "name": "Dunkerque",
        "subscribe": ["ALERTE", "INSCRIPTION", "START"],
        "help": ["AIDE", "HELP", "INFO"],
        "language": ["LANGUE", "LANGUAGE"],
    }
    # The intercommunality's admin reads its communes'.
    resp = await client.get("/v1/tenants/59273/keywords", headers=auth(tokens.admin))
    assert resp.status == 200 and (await resp.json())["code"] == "59273"
    # Another commune's operator does not, nor a commune's its intercommunality's.
    for token, code in ((tokens.gravelines, "59183"), (tokens.officer, "245900428")):
        resp = await client.get(f"/v1/tenants/{code}/keywords", headers=auth(token))
        assert resp.status == 403, code
        assert "cannot read the SMS keywords" in (await resp.json())["detail"]
    resp = await client.get("/v1/tenants/99999/keywords", headers=auth(tokens.admin))
    assert resp.status == 404 and "tenant '99999' does not exist" in (await resp.json())["detail"]


async def test_an_admin_changes_any_of_the_lists_and_it_is_audited(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    resp = await client.patch(
        "/v1/tenants/59183/keywords",
        json={"subscribe": ["alerte", " Abonnement "]},
        headers=auth(tokens.admin),
    )
    assert resp.status == 200, await resp.text()
    changed = await resp.json()
    assert changed["subscribe"] == ["ABONNEMENT", "ALERTE"]
    assert changed["help"] == ["AIDE", "HELP", "INFO"]  # not given: kept
    entry = await loaded.fetchrow(
        "SELECT actor, target, details, t.code FROM audit_log a JOIN tenants t "
        "ON t.id = a.tenant_id WHERE action = 'tenant.keywords'"
    )
    assert entry is not None
    admin = await loaded.fetchval("SELECT id FROM operators WHERE name = 'Préfet'")
    assert entry["actor"] == f"operator:{admin}" and entry["code"] == "59183"
    assert entry["details"] == {"subscribe": ["ABONNEMENT", "ALERTE"]}
    # Help and language words may be emptied; the lists not given stay.
    resp = await client.patch(
        "/v1/tenants/59183/keywords",
        json={"help": [], "language": ["Langue", "LANGUE"]},
        headers=auth(tokens.admin),
    )
    assert resp.status == 200, await resp.text()
    shown = await (
        await client.get("/v1/tenants/59183/keywords", headers=auth(tokens.viewer))
    ).json()
    assert (shown["subscribe"], shown["help"], shown["language"]) == (
        ["ABONNEMENT", "ALERTE"],
        [],
        ["LANGUE"],
    )


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"subscribe": []}, 400, "subscribe words: at least one word is needed"),
        ({"subscribe": [" "]}, 400, "subscribe words: at least one word is needed"),
        ({"subscribe": ["ALERTE 2"]}, 400, "'ALERTE 2' is not a word of letters only"),
        ({"help": ["Stop"]}, 400, "keyword STOP is in the STOP words and the help words"),
        ({"help": ["arrêt"]}, 400, "keyword ARRET is in the STOP words and the help words"),
        (
            {"language": ["ALERTE"]},
            400,
            "keyword ALERTE is in the subscribe words and the language words",
        ),
        (
            {"subscribe": ["SOS"], "help": ["SOS", "AIDE"]},
            400,
            "keyword SOS is in the subscribe words and the help words",
        ),
        ({}, 400, "nothing to change"),
        ({"subscribe": ["ALERTE,AIDE"]}, 400, "subscribe words: 'ALERTE,AIDE' is not one word"),
        ({"subscribe": "ALERTE"}, 422, "body.subscribe: 'ALERTE' is not of type 'array'"),
        ({"stop": ["FIN"]}, 422, "'stop' was unexpected"),  # STOP words: POST /tenants/{code}
    ],
)
async def test_bad_words_are_refused_and_change_nothing(
    client: Client,
    tokens: Tokens,
    loaded: asyncpg.Pool,
    body: dict[str, Any],
    status: int,
    detail: str,
) -> None:
    before = await _stored(loaded)
    resp = await client.patch("/v1/tenants/59183/keywords", json=body, headers=auth(tokens.admin))
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    assert detail in (await resp.json())["detail"]
    assert await _stored(loaded) == before


async def test_only_an_admin_of_the_territory_changes_them(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    gravelines_admin = await operators.create_operator(
        loaded,
        tenant_code="59273",
        name="Maire",
        role="admin",
        email="maire@example.org",
        actor="test",
    )
    before = await _stored(loaded)
    change = {"subscribe": ["ABONNEMENT"]}
    for token, code, status, detail in (
        (tokens.approver, "59183", 403, "needs the admin role"),
        (tokens.viewer, "59183", 403, "needs the admin role"),
        (gravelines_admin.token, "59183", 403, "outside their territory"),
        (tokens.admin, "99999", 404, "tenant '99999' does not exist"),
    ):
        resp = await client.patch(f"/v1/tenants/{code}/keywords", json=change, headers=auth(token))
        assert resp.status == status, await resp.text()
        assert detail in (await resp.json())["detail"]
    resp = await client.patch(
        "/v1/tenants/59183/keywords", data=b"{not json", headers=auth(tokens.admin)
    )
    assert resp.status == 400 and "not valid JSON" in (await resp.json())["detail"]
    assert await _stored(loaded) == before


async def test_a_word_set_over_http_subscribes_the_next_sms(
    client: Client, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    fake = Listening("demo")
    consuming = asyncio.create_task(
        consumer.consume(loaded, fake, Catalog(), keywords=SmsKeywords(ReplyLimits(3, 1000)))
    )
    try:
        # 59140 is Dunkerque's, within the intercommunality: the words of both count for it.
        for code in ("245900428", "59183"):
            resp = await client.patch(
                f"/v1/tenants/{code}/keywords",
                json={"subscribe": ["Abonnement"]},
                headers=auth(tokens.admin),
            )
            assert resp.status == 200, await resp.text()
        known = await loaded.fetchval("SELECT count(*) FROM subscribers")
        # ALERTE is no keyword there any more: kept as a message, nobody subscribed.
        assert await fake.deliver_inbound("+33611220000", "ALERTE 59140")
        assert await fake.deliver_inbound("+33611223344", "abonnement 59140")
        answer = await asyncio.wait_for(fake.arrived.get(), 10)
        assert answer.to == "+33611223344" and "Dunkerque" in answer.text
        row = await loaded.fetchrow(
            "SELECT s.status, t.code FROM subscribers s JOIN tenants t ON t.id = s.tenant_id "
            "WHERE s.phone = '+33611223344'"
        )
        assert row is not None and (row["status"], row["code"]) == ("active", "59183")
        assert await loaded.fetchval("SELECT count(*) FROM subscribers") == known + 1
        kinds = await loaded.fetch("SELECT kind FROM inbound_messages ORDER BY id")
        assert [r["kind"] for r in kinds] == ["reply", "subscribe"]
    finally:
        await fake.close()
        await asyncio.wait_for(consuming, 10)
