"""`alertd serve` with `[serve] api_listen`: the API on its own listener beside the dispatch loop;
an alert drafted and sent over HTTP is delivered."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from alertd.cli import serve as serve_command
from alertd.config import Config, load_config
from alertd.delivery import daemon
from alertd.delivery.dispatch import DispatchSettings
from alertd.errors import ConfigError
from gateways.fake import FakeGateway
from tests.api.conftest import Tokens, auth, draft_body


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_api_listen_is_host_and_port(tmp_path: Path) -> None:
    toml = tmp_path / "alertd.toml"
    toml.write_text('[serve]\napi_listen = "127.0.0.1:8089"\n')
    assert load_config({}, toml).serve.api_listen == "127.0.0.1:8089"
    assert load_config({}).serve.api_listen == ""  # no API unless asked
    with pytest.raises(ConfigError, match=r"serve.api_listen .*expected host:port"):
        load_config({"ALERTD_SERVE_API_LISTEN": "8089"})


async def test_serve_answers_the_api_and_delivers_what_it_sends(
    config: Config, loaded: asyncpg.Pool, tokens: Tokens, tmp_path: Path
) -> None:
    port = _free_port()
    toml = tmp_path / "alertd.toml"
    toml.write_text(f'[serve]\napi_listen = "127.0.0.1:{port}"\n')
    assert config.database.url is not None
    cfg = load_config({"DATABASE_URL": config.database.url}, toml)
    stop = asyncio.Event()
    task = asyncio.create_task(
        daemon.serve(
            cfg,
            stop=stop,
            signals=False,
            settings=DispatchSettings(idle_s=0.05),
            gateways=[FakeGateway("primary")],
            listeners=serve_command.listeners(cfg),  # what `alertd serve` runs
        )
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):  # until the listener is up
                try:
                    async with http.get(f"{base}/openapi.json") as resp:
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            async with http.post(
                f"{base}/alerts", json=draft_body(), headers=auth(tokens.officer)
            ) as resp:
                alert = (await resp.json())["alert"]
            headers = auth(tokens.officer, **{"Idempotency-Key": "serve-1"})
            async with http.post(f"{base}/alerts/{alert}/send", json={}, headers=headers) as resp:
                sent = await resp.json()
            assert sent["daemons"] == 1
            for _ in range(200):
                async with http.get(f"{base}/alerts/{alert}", headers=auth(tokens.viewer)) as r:
                    status = await r.json()
                if status["progress"].get("delivered") == 40:
                    break
                await asyncio.sleep(0.05)
            training = await _training_alert(http, base, tokens.test)
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) is None
    assert status["progress"]["delivered"] == 40
    # Through a fake gateway: the status says so, as `alertd alert status` does.
    assert "FAKE" in status["note"]
    # The test token's alert went to the training gateway, never to the daemon's gateway.
    assert training["progress"]["delivered"] == 40 and "training" in training["note"]
    by_gateway = await loaded.fetch(
        "SELECT gateway, count(*) FROM deliveries WHERE alert_id = $1 GROUP BY 1",
        training["alert"],
    )
    assert [tuple(r) for r in by_gateway] == [("training", 40)]


async def _training_alert(http: aiohttp.ClientSession, base: str, token: str) -> dict[str, Any]:
    async with http.post(f"{base}/alerts", json=draft_body(), headers=auth(token)) as resp:
        alert = (await resp.json())["alert"]
    headers = auth(token, **{"Idempotency-Key": "training-1"})
    async with http.post(f"{base}/alerts/{alert}/send", json={}, headers=headers) as resp:
        assert resp.status == 200
    for _ in range(200):
        async with http.get(f"{base}/alerts/{alert}", headers=auth(token)) as resp:
            status: dict[str, Any] = await resp.json()
        if status["progress"].get("delivered") == 40:
            break
        await asyncio.sleep(0.05)
    return status
