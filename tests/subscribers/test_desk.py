"""The town hall's desk: an operator registers a resident (consent channel guichet, the operator
recorded), through the CLI, the API and the remote CLI; the resident gets a confirmation SMS
through the daemon's gateway and can answer STOP to it. Bad input stores nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from alertd import operators
from alertd.api.app import create_app
from alertd.cli import serve as serve_command
from alertd.config import Config, load_config
from alertd.delivery import consumer, daemon, service_queue
from alertd.delivery.dispatch import DispatchSettings
from alertd.errors import ForbiddenError, InputError, NotFoundError
from alertd.subscribers import addresses, desk, rgpd
from templates import Catalog
from tests.api.conftest import Tokens, auth, seed
from tests.schedule.conftest import agent_of
from tests.subscribers.test_sms_keywords import Listening
from tests.support.cli import alertd
from tests.support.net import free_port, listening

PHONE = "+33699887766"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
BAN = Path(str(resources.files("alertd").joinpath("data", "cud_ban_synthetic.csv")))


@pytest.fixture
async def client(config: Config, loaded: asyncpg.Pool) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(config, loaded), host="127.0.0.1")) as c:
        yield c


@pytest.fixture
async def tokens(loaded: asyncpg.Pool) -> Tokens:
    return await seed(loaded)


async def _op(pool: asyncpg.Pool, token: str) -> operators.Operator:
    op = await operators.authenticate(pool, token)
    assert op is not None
    return op


async def _register(pool: asyncpg.Pool, token: str, **kw: Any) -> desk.Registered:
    fields: dict[str, Any] = {"phone": "06 99 88 77 66", "postcode": "59140"}
    fields.update(kw)
    return await desk.register(
        pool,
        await _op(pool, token),
        desk.DeskRequest(**fields),
        catalog=Catalog(),
        region="FR",
        now=NOW,
    )


async def test_the_desk_registers_records_the_operator_and_the_confirmation_leaves(
    loaded: asyncpg.Pool, tokens: Tokens
) -> None:
    done = await _register(loaded, tokens.officer, topics=("dechets",), language="en")
    assert (done.tenant, done.before, done.confirmation, done.located) == (
        "59183",
        "new",
        "queued",
        False,
    )
    assert PHONE not in json.dumps(done.__repr__())
    row = await loaded.fetchrow("SELECT * FROM subscribers WHERE phone = $1", PHONE)
    assert (row["consent_channel"], row["status"], row["language"], row["topics"]) == (
        "guichet",
        "active",
        "en",
        ["dechets"],
    )
    op = await _op(loaded, tokens.officer)
    consents = await loaded.fetch("SELECT scope, channel, operator_id FROM subscriber_consents")
    assert {(r["scope"], r["channel"], r["operator_id"]) for r in consents} == {
        ("alerts", "guichet", op.id),
        ("dechets", "guichet", op.id),
    }
    fake = Listening("primary")
    assert await service_queue.send_due(loaded, [fake], "w", NOW) == 1
    sms = fake.arrived.get_nowait()
    assert sms.to == PHONE
    assert sms.text.startswith("Dunkerque: you will receive alerts for Dunkerque")
    assert "STOP" in sms.text
    assert await service_queue.send_due(loaded, [fake], "w", NOW) == 0  # sent once
    assert await loaded.fetchval("SELECT status FROM service_sms") == "sent"


async def test_the_resident_answers_stop_to_the_confirmation(
    loaded: asyncpg.Pool, tokens: Tokens
) -> None:
    await _register(loaded, tokens.officer)
    fake = Listening("primary")
    consuming = asyncio.create_task(consumer.consume(loaded, fake, Catalog()))
    await service_queue.send_due(loaded, [fake], "w", NOW)
    await asyncio.wait_for(fake.arrived.get(), 10)
    assert await fake.deliver_inbound(PHONE, "STOP")
    answer = await asyncio.wait_for(fake.arrived.get(), 10)
    assert "ne recevrez plus" in answer.text
    await fake.close()
    await asyncio.wait_for(consuming, 10)
    assert await loaded.fetchval("SELECT status FROM subscribers WHERE phone = $1", PHONE) == (
        "stopped"
    )


async def test_a_waste_agent_registers_at_the_desk_too(loaded: asyncpg.Pool) -> None:
    """Decided: the information role staffs the same counters; the only SMS goes to the
    resident."""
    agent = await agent_of(loaded)
    done = await desk.register(
        loaded,
        agent,
        desk.DeskRequest(phone="06 99 88 77 66", postcode="59140", topics=("dechets",)),
        catalog=Catalog(),
        region="FR",
        now=NOW,
    )
    row = await loaded.fetchrow(
        "SELECT status, consent_channel, topics FROM subscribers WHERE id = $1", done.subscriber_id
    )
    assert (row["status"], row["consent_channel"], row["topics"]) == (
        "active",
        "guichet",
        ["dechets"],
    )
    assert await loaded.fetchval("SELECT count(*) FROM service_sms WHERE phone = $1", PHONE) == 1


async def test_an_address_is_located_from_the_address_file(
    loaded: asyncpg.Pool, tokens: Tokens
) -> None:
    await addresses.import_ban(loaded, BAN, "test")
    done = await _register(loaded, tokens.officer, street="r. Jean-Jaures", number="7")
    assert done.located
    assert done.address == "7 r. Jean-Jaures"
    point = await loaded.fetchrow("SELECT lon, lat FROM subscribers WHERE phone = $1", PHONE)
    expected = await loaded.fetchrow(
        "SELECT lon, lat FROM addresses WHERE postcode = '59140' AND street = 'Rue Jean Jaurès' "
        "AND number = 7"
    )
    assert tuple(point) == tuple(expected)


@pytest.mark.parametrize(
    ("who", "fields", "error"),
    [
        ("viewer", {}, ForbiddenError),
        ("gravelines", {}, ForbiddenError),  # a resident of another commune
        ("officer", {"phone": "03 28 59 12 34"}, InputError),  # a landline
        ("officer", {"phone": "12"}, InputError),
        ("officer", {"postcode": "75001"}, InputError),
        ("officer", {"language": "de"}, InputError),
        ("officer", {"topics": ("meteo",)}, InputError),
        ("officer", {"number": "7"}, InputError),  # a number without its street
    ],
)
async def test_bad_input_or_no_right_stores_nothing(
    loaded: asyncpg.Pool, tokens: Tokens, who: str, fields: dict[str, Any], error: type
) -> None:
    before = await loaded.fetchval("SELECT count(*) FROM subscribers")
    with pytest.raises(error):
        await _register(loaded, getattr(tokens, who), **fields)
    assert await loaded.fetchval("SELECT count(*) FROM subscribers") == before
    assert await loaded.fetchval("SELECT count(*) FROM subscriber_consents") == 0
    assert await loaded.fetchval("SELECT count(*) FROM service_sms") == 0


async def test_a_commune_desk_places_a_shared_postcode_in_its_own_commune(
    loaded: asyncpg.Pool, tokens: Tokens
) -> None:
    done = await _register(loaded, tokens.gravelines, postcode="59820")
    assert done.tenant == "59273"


async def test_rgpd_export_holds_the_consents_and_erasure_removes_them(
    loaded: asyncpg.Pool, tokens: Tokens
) -> None:
    await _register(loaded, tokens.officer, topics=("dechets",))
    export = await rgpd.export_subscriber(loaded, PHONE, None, "FR", "test")
    assert [(c["scope"], c["given"], c["channel"]) for c in export["consents"]] == [
        ("alerts", True, "guichet"),
        ("dechets", True, "guichet"),
    ]
    assert await rgpd.erase_subscriber(loaded, PHONE, None, "FR", "test") == 1
    assert await loaded.fetchval("SELECT count(*) FROM subscriber_consents") == 0
    assert await loaded.fetchval("SELECT count(*) FROM service_sms") == 0
    with pytest.raises(NotFoundError):
        await rgpd.export_subscriber(loaded, PHONE, None, "FR", "test")


def test_the_cli_registers_and_says_the_confirmation_is_queued(
    db_dsn: str, loaded: asyncpg.Pool, tokens: Tokens
) -> None:
    env = {"ALERTD_OPERATOR_TOKEN": tokens.officer}
    done = alertd(
        "subscribers", "register", "--phone", "06 99 88 77 66", "--postcode", "59140",
        "--topics", "dechets", dsn=db_dsn, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "registered +*********66 with Dunkerque (59183), 59140" in done.stdout
    assert "no daemon is running" in done.stdout
    again = alertd(
        "subscribers", "register", "--phone", "06 99 88 77 66", "--postcode", "59140",
        "--json", dsn=db_dsn, env=env,
    )  # fmt: skip
    assert json.loads(again.stdout)["before"] == "active"
    refused = alertd(
        "subscribers", "register", "--phone", "06 99 88 77 66", "--postcode", "75001",
        dsn=db_dsn, env=env,
    )  # fmt: skip
    assert refused.returncode == 65
    assert "75001" in refused.stderr
    assert "Traceback" not in refused.stderr
    viewer = alertd(
        "subscribers", "register", "--phone", "0699887700", "--postcode", "59140",
        dsn=db_dsn, env={"ALERTD_OPERATOR_TOKEN": tokens.viewer},
    )  # fmt: skip
    assert viewer.returncode == 77
    no_token = alertd(
        "subscribers", "register", "--phone", "0699887700", "--postcode", "59140", dsn=db_dsn
    )
    assert no_token.returncode == 77


async def test_the_api_registers_once_per_idempotency_key(
    client: TestClient[Any, Any], tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    body = {"phone": "06 99 88 77 66", "postcode": "59140", "topics": ["dechets"]}
    headers = auth(tokens.officer, **{"Idempotency-Key": "desk-1"})
    first = await client.post("/v1/subscribers", json=body, headers=headers)
    assert first.status == 201, await first.text()
    answer = await first.json()
    assert (answer["tenant"], answer["phone"], answer["topics"]) == (
        "59183",
        "+*********66",
        ["dechets"],
    )
    again = await client.post("/v1/subscribers", json=body, headers=headers)
    assert again.status == 201
    assert await loaded.fetchval("SELECT count(*) FROM service_sms") == 1
    viewer = await client.post(
        "/v1/subscribers", json=body, headers=auth(tokens.viewer, **{"Idempotency-Key": "v"})
    )
    assert viewer.status == 403
    bad = await client.post(
        "/v1/subscribers",
        json={**body, "postcode": "75001"},
        headers=auth(tokens.officer, **{"Idempotency-Key": "desk-2"}),
    )
    assert bad.status == 400
    assert "75001" in (await bad.json())["detail"]
    unknown = await client.post(
        "/v1/subscribers",
        json={**body, "nickname": "x"},
        headers=auth(tokens.officer, **{"Idempotency-Key": "desk-3"}),
    )
    assert unknown.status in (400, 422)
    assert await loaded.fetchval("SELECT count(*) FROM subscribers WHERE phone = $1", PHONE) == 1


@pytest.fixture
async def serving(
    config: Config, loaded: asyncpg.Pool, tmp_path: Path
) -> AsyncIterator[tuple[str, Listening]]:
    """A live `alertd serve` with its API on loopback (a port the OS chose) and a fake gateway
    that says what it accepted."""
    port = free_port()
    toml = tmp_path / "serve.toml"
    toml.write_text(f'[serve]\napi_listen = "127.0.0.1:{port}"\napi_rate = 1000\n')
    assert config.database.url is not None
    cfg = load_config({"DATABASE_URL": config.database.url}, toml)
    fake = Listening("primary")
    stop = asyncio.Event()
    task = asyncio.create_task(
        daemon.serve(
            cfg,
            stop=stop,
            signals=False,
            settings=DispatchSettings(idle_s=0.05),
            gateways=[fake],
            listeners=serve_command.listeners(cfg),
            keywords=serve_command.keywords(cfg),
        )
    )
    await listening(port)
    try:
        yield f"http://127.0.0.1:{port}", fake
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) is None


async def test_the_remote_cli_registers_through_the_daemon_which_confirms_at_once(
    serving: tuple[str, Listening], tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    url, fake = serving
    env = {"ALERTD_URL": url, "ALERTD_OPERATOR_TOKEN": tokens.officer}
    done = await asyncio.to_thread(
        alertd, "subscribers", "register", "--phone", "0699887766", "--postcode", "59140",
        dsn=None, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "the running daemon sends it now" in done.stdout
    sms = await asyncio.wait_for(fake.arrived.get(), 10)
    assert (sms.to, sms.text.split(" :")[0]) == (PHONE, "Dunkerque")
    # The daemon also answers the residents' keywords on its gateways.
    assert await fake.deliver_inbound("+33699887700", "ALERTE 59760")
    answer = await asyncio.wait_for(fake.arrived.get(), 10)
    assert answer.text.startswith("Grande-Synthe : inscription enregistr")
    others = await asyncio.to_thread(
        alertd, "subscribers", "export", "--phone", "0699887766", dsn=None, env=env
    )
    assert others.returncode == 78  # the RGPD commands stay on the server
    assert "subscribers register" in others.stderr
