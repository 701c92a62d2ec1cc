"""Issue 15 item 5: the API's previews, sends and update plans match zones against the daemon's
in-memory index when it is loaded, with exactly the recipients of the database path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from alertd.alerts import territory_data
from alertd.api.app import create_app
from alertd.api.indexed import index_matcher
from alertd.config import METROPOLE_EXTENT, Config
from alertd.delivery import enqueue
from alertd.delivery.live_index import LiveIndex, Reach
from tests.api.conftest import Tokens, auth, draft_body, seed
from tests.support.alert_world import DUNKERQUE, circle

Client = TestClient[Any, Any]
WASTE = {
    "template": "waste_disrupted",
    "params": {"sector": "Rosendaël", "date": "demain", "reason": "grève", "sender": "CUD"},
    "topics": ["dechets"],
}
FACTS = ("recipients", "by_address", "by_postcode", "by_language", "postcode_only_unmatched")


class CountingIndex(LiveIndex):
    """The real index, counting the zones it was asked about (to know which path answered)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.asked = 0

    def reach(self, *args: Any, **kwargs: Any) -> Reach:
        self.asked += 1
        return super().reach(*args, **kwargs)


async def _world(pool: asyncpg.Pool) -> Tokens:
    """Residents at addresses, known by postcode only, with topics, languages, exercise."""
    tokens = await seed(pool)
    await pool.execute(
        "UPDATE subscribers SET topics = '{dechets}' WHERE id % 3 = 0; "
        "UPDATE subscribers SET lon = NULL, lat = NULL, language = 'nl' WHERE id % 4 = 0"
    )
    return tokens


@pytest.fixture
async def index(loaded: asyncpg.Pool) -> CountingIndex:
    return CountingIndex(loaded)


@pytest.fixture
async def clients(
    config: Config, loaded: asyncpg.Pool, index: CountingIndex
) -> AsyncIterator[tuple[Client, Client]]:
    by_db = TestClient(TestServer(create_app(config, loaded), host="127.0.0.1"))
    by_index = TestClient(TestServer(create_app(config, loaded, index=index), host="127.0.0.1"))
    async with by_db as db, by_index as memory:
        yield db, memory


async def _facts(client: Client, token: str, alert: int) -> dict[str, Any]:
    resp = await client.get(f"/v1/alerts/{alert}/preview", headers=auth(token))
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    return {k: body[k] for k in FACTS}


async def _create(client: Client, token: str, **changes: Any) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/v1/alerts", json=draft_body(**changes), headers=auth(token))
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    return int(body["alert"]), {k: body[k] for k in FACTS if k in body}


@pytest.mark.parametrize("areas", [False, True], ids=["no-postcode-areas", "postcode-areas"])
@pytest.mark.parametrize(
    "changes",
    [{}, WASTE, {"exercise": True}, {"circle": {"lon": 2.35, "lat": 51.03, "radius_m": 3000}}],
    ids=["life-safety", "topics", "exercise", "wide"],
)
async def test_api_preview_from_the_index_equals_the_database_path(
    clients: tuple[Client, Client],
    loaded: asyncpg.Pool,
    index: CountingIndex,
    areas: bool,
    changes: dict[str, Any],
) -> None:
    by_db, by_index = clients
    tokens = await _world(loaded)
    if areas:
        await territory_data.import_demo_areas(loaded, "245900428", METROPOLE_EXTENT, "t")
    await index.load()
    alert, created = await _create(by_index, tokens.officer, **changes)
    asked = index.asked
    assert asked >= 1  # the draft's check that it reaches somebody, and its preview
    from_index = await _facts(by_index, tokens.viewer, alert)
    assert index.asked == asked + 1
    from_db = await _facts(by_db, tokens.viewer, alert)
    assert index.asked == asked + 1
    assert from_index == from_db
    assert from_index["recipients"] > 0
    assert created.get("recipients", from_db["recipients"]) == from_db["recipients"]
    if not areas:
        assert from_db["postcode_only_unmatched"] > 0  # the postcode-only residents said so


async def test_the_index_matcher_gives_the_same_people_as_the_database(
    loaded: asyncpg.Pool, index: CountingIndex
) -> None:
    await _world(loaded)
    await territory_data.import_demo_areas(loaded, "245900428", METROPOLE_EXTENT, "t")
    await index.load()
    tenant = await loaded.fetchval("SELECT id FROM tenants WHERE code = '59183'")
    matcher = index_matcher(index)
    for spec in (
        {"life_safety": True, "topics": (), "exercise": False},
        {"life_safety": False, "topics": ("dechets",), "exercise": False},
        {"life_safety": True, "topics": (), "exercise": True},
    ):
        kw: dict[str, Any] = {"tenant_id": tenant, "geometries": [circle(DUNKERQUE, 500)], **spec}
        db = await enqueue.match(loaded, **kw)
        memory = await matcher(loaded, **kw)
        assert sorted(memory.by_address) == sorted(db.by_address), spec
        assert sorted(memory.by_postcode) == sorted(db.by_postcode), spec
        assert memory.languages() == db.languages(), spec
        assert memory.languages(db.ids()) == db.languages(db.ids()), spec
        assert {i: memory.language[i] for i in db.ids()} == {i: db.language[i] for i in db.ids()}
        assert memory.ids() == db.ids(), spec
        assert memory.unplaced == db.unplaced, spec
        assert db.ids(), spec
    assert index.asked == 3


async def test_send_and_an_update_plan_match_from_the_index(
    clients: tuple[Client, Client], loaded: asyncpg.Pool, index: CountingIndex
) -> None:
    by_db, by_index = clients
    tokens = await _world(loaded)
    await index.load()
    alert, _ = await _create(by_index, tokens.officer)
    asked = index.asked
    resp = await by_index.post(
        f"/v1/alerts/{alert}/send",
        json={},
        headers=auth(tokens.officer, **{"Idempotency-Key": "s"}),
    )
    assert resp.status == 200, await resp.text()
    sent = await resp.json()
    assert index.asked > asked
    written = await loaded.fetchval("SELECT count(*) FROM deliveries WHERE alert_id = $1", alert)
    assert sent["recipients"] == written > 0
    wrong = await loaded.fetchval(
        "SELECT count(*) FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
        "WHERE d.alert_id = $1 AND d.language <> s.language",
        alert,
    )
    assert wrong == 0  # each in their own language, looked up in the index
    # An update to a wider zone: its plan (newcomers, leavers) from the index, as from the db.
    wider = {
        "circle": {"lon": DUNKERQUE[0], "lat": DUNKERQUE[1], "radius_m": 2000},
        "params": {"message": "La digue tient."},
    }
    plans = []
    for client in (by_index, by_db):
        asked = index.asked
        resp = await client.post(
            f"/v1/alerts/{alert}/update/preview", json=wider, headers=auth(tokens.officer)
        )
        assert resp.status == 200, await resp.text()
        plans.append(await resp.json())
        assert index.asked == asked + (client is by_index)
    assert plans[0] == plans[1]
    assert plans[0]["holders"] == written


async def test_without_a_loaded_index_the_database_answers(
    clients: tuple[Client, Client], loaded: asyncpg.Pool, index: CountingIndex
) -> None:
    _, by_index = clients
    tokens = await _world(loaded)
    alert, _ = await _create(by_index, tokens.officer)  # the index was never loaded
    facts = await _facts(by_index, tokens.viewer, alert)
    assert facts["recipients"] > 0
    assert index.asked == 0
