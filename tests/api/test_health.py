"""/healthz, /readyz and /metrics (issue 15, item 6), against a real database and the
in-process fake gateway, served on loopback."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from alertd.api import health
from alertd.cli.serve import listeners
from alertd.config import Config, load_config
from alertd.delivery import daemon, metrics
from alertd.delivery.dispatch import DispatchSettings
from gateways.base import Outcome, ReceiptStatus
from gateways.fake import FakeGateway
from tests.support.seed import seed_alert


async def _client(pool: asyncpg.Pool, gateways: list[FakeGateway]) -> TestClient:  # type: ignore[type-arg]
    app = web.Application()
    health.add_routes(app, pool=pool, gateways=gateways)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_healthz_answers_and_readyz_says_why_not(loaded: asyncpg.Pool) -> None:
    primary, backup = FakeGateway("primary"), FakeGateway("backup")
    client = await _client(loaded, [primary, backup])
    try:
        answer = await client.get("/healthz")
        assert answer.status == 200
        assert await answer.json() == {"status": "ok"}
        answer = await client.get("/readyz")
        assert answer.status == 200
        body = await answer.json()
        assert body["ready"] is True
        assert body["gateways"] == {"primary": "closed", "backup": "closed"}
        primary.breaker.trip()
        answer = await client.get("/readyz")
        assert answer.status == 200  # the backup still sends
        assert (await answer.json())["gateways"]["primary"] == "open"
        backup.breaker.trip()
        answer = await client.get("/readyz")
        assert answer.status == 503
        assert "every gateway" in (await answer.json())["why"]
        # A schema this alertd does not know all of: a migration pending.
        last = await loaded.fetchval("SELECT max(version) FROM schema_migrations")
        await loaded.execute("DELETE FROM schema_migrations WHERE version = $1", last)
        answer = await client.get("/readyz")
        assert answer.status == 503
        assert "pending" in (await answer.json())["migrations"]
    finally:
        await client.close()


async def test_metrics_follow_prometheus_conventions_without_phones(loaded: asyncpg.Pool) -> None:
    await seed_alert(loaded, 5)
    await loaded.execute("UPDATE subscribers SET status = 'stopped' WHERE phone LIKE '%05'")
    await loaded.execute("UPDATE deliveries SET created_at = now() - interval '90 seconds'")
    metrics.observe_submit("primary", "accepted", 0.02)
    metrics.observe_submit("primary", "+33730000001", 0.5)  # never a label: counted as other
    metrics.observe_receipt("primary", ReceiptStatus.DELIVERED)
    metrics.observe_submit("primary", Outcome.IN_DOUBT, 0.1)
    gateway = FakeGateway("primary")
    client = await _client(loaded, [gateway])
    try:
        answer = await client.get("/metrics")
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = await answer.text()
    finally:
        await client.close()
    lines = set(text.splitlines())
    assert 'alertd_outbox_messages{state="queued"} 5.0' in lines
    assert 'alertd_outbox_messages{state="delivered"} 0.0' in lines
    assert "alertd_outbox_in_doubt_messages 0.0" in lines
    assert 'alertd_subscribers{status="active"} 4.0' in lines
    assert 'alertd_subscribers{status="stopped"} 1.0' in lines
    assert re.search(r'^alertd_alerts\{state="\w+"\} 1\.0$', text, re.MULTILINE)
    [age] = re.findall(r"^alertd_outbox_oldest_queued_age_seconds (\S+)$", text, re.MULTILINE)
    assert 85 < float(age) < 600
    assert re.search(
        r'^alertd_gateway_submissions_total\{gateway="primary",outcome="accepted"\} [1-9]',
        text,
        re.MULTILINE,
    )
    assert re.search(r'outcome="other"\} [1-9]', text)
    assert re.search(r'outcome="in_doubt"\} [1-9]', text)
    assert re.search(
        r'^alertd_gateway_receipts_total\{gateway="primary",status="delivered"\}',
        text,
        re.MULTILINE,
    )
    assert 'alertd_gateway_submit_seconds_bucket{gateway="primary",le="0.025"}' in text
    assert 'alertd_gateway_circuit_state{gateway="primary",state="closed"} 1.0' in lines
    assert 'alertd_gateway_circuit_state{gateway="primary",state="open"} 0.0' in lines
    assert re.search(
        r'^alertd_build_info\{python="[\d.]+",version="[^"]+"\} 1\.0$', text, re.MULTILINE
    )
    # No phone number anywhere (a number standing alone, not the digits of a float such as a
    # latency's sum, 0.033003807953).
    assert not re.search(r"(?<![\d.])(\+?33\d{8,}|0[67]\d{8})(?!\d)", text)
    for name, _kind in re.findall(r"^# TYPE (\S+) (\w+)$", text, re.MULTILINE):
        assert name.startswith("alertd_")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_answers_on_metrics_listen(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    await seed_alert(loaded, 3, enqueue=False)
    port = _free_port()
    toml = tmp_path / "alertd.toml"
    toml.write_text(
        f'[gateways.primary]\nkind = "fake"\n[serve]\nmetrics_listen = "127.0.0.1:{port}"\n'
    )
    assert config.database.url is not None
    cfg = load_config({"DATABASE_URL": config.database.url}, toml)
    assert cfg.serve.metrics_listen == f"127.0.0.1:{port}"
    stop = asyncio.Event()
    task = asyncio.create_task(
        daemon.run(
            cfg,
            stop=stop,
            signals=False,
            settings=DispatchSettings(idle_s=0.05),
            allow_fake=True,
            listeners=listeners(cfg),
        )
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
                        assert answer.status == 200
                        assert (await answer.json())["gateways"] == {"primary": "closed"}
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("serve never listened on metrics_listen")
            # The daemon loads its subscriber index (the 3 seeded residents) and says so.
            for _ in range(100):
                async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
                    index = (await answer.json())["subscriber_index"]
                if index["loaded"]:
                    break
                await asyncio.sleep(0.05)
            assert index == {"loaded": True, "subscribers": 3}
            async with http.get(f"http://127.0.0.1:{port}/metrics") as answer:
                text = await answer.text()
            assert "alertd_outbox_messages" in text
            assert "alertd_subscriber_index_loaded 1.0" in text
            assert "alertd_subscriber_index_subscribers 3.0" in text
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0


def test_a_bad_metrics_listen_is_a_config_error(tmp_path: Path) -> None:
    import pytest

    from alertd.errors import ConfigError

    toml = tmp_path / "alertd.toml"
    toml.write_text('[serve]\nmetrics_listen = "nowhere"\n')
    with pytest.raises(ConfigError, match="metrics_listen"):
        load_config({}, toml)
