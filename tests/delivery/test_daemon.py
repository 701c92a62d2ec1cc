"""The daemon: sends what is queued, takes receipts and STOP, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from alertd.config import Config, ServeConfig, load_config, with_overrides
from alertd.delivery import consumer, daemon, inbound, outbox
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from gateways.base import Inbound, Receipt, ReceiptStatus, Webhooks
from gateways.fake import FakeGateway
from gateways.http_ovh import OvhGateway
from gateways.http_twilio import SIGNATURE_HEADER, TwilioGateway, twilio_signature
from templates import Catalog
from tests.support.gateway_contract import next_events
from tests.support.seed import seed_alert

FAKE = '[gateways.demo]\nkind = "fake"\n'


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop ", "ARRÊT", "Arrêt.", "STOP SMS", "arret"])
def test_stop_words(text: str) -> None:
    assert inbound.is_stop(text)


@pytest.mark.parametrize("text", ["Stoppez la pluie", "OK merci", "", "ARRETEZ"])
def test_not_stop(text: str) -> None:
    assert not inbound.is_stop(text)


async def _until_delivered(pool: asyncpg.Pool, alert_id: int, n: int) -> dict[str, int]:
    async def done() -> dict[str, int]:
        counts = await outbox.progress(pool, alert_id)
        while counts.get("delivered") != n:
            await asyncio.sleep(0.05)
            counts = await outbox.progress(pool, alert_id)
        return counts

    return await asyncio.wait_for(done(), 30)


async def test_serve_sends_everything_then_stops_cleanly(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    alert_id = await seed_alert(loaded, 200, text="ALERTE INONDATION", hazard="flood")
    toml = tmp_path / "alertd.toml"
    toml.write_text(FAKE)
    assert config.database.url is not None
    cfg = load_config({"DATABASE_URL": config.database.url}, toml)
    cfg = with_overrides(cfg, database={"pool_min": 1, "pool_max": 4})
    stop = asyncio.Event()
    with capture_logs(processors=[merge_contextvars]) as logs:
        task = asyncio.create_task(
            daemon.run(
                cfg,
                stop=stop,
                signals=False,
                settings=DispatchSettings(idle_s=0.05),
                allow_fake=True,
            )
        )
        counts = await _until_delivered(loaded, alert_id, 200)
        assert counts == {"delivered": 200, "in_doubt": 0, "rerouted": 0}
        assert await daemon.daemons(loaded) == 1  # what `alert send` looks for
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0
    # The worker is bound once where the daemon starts: every line of it says which daemon.
    lines = {e["event"]: e for e in logs}
    assert lines["serve.started"]["worker"] == lines["serve.stopped"]["worker"]
    assert lines["serve.stopped"]["worker"].endswith(f":{os.getpid()}")
    assert await loaded.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sending'") == 0


async def test_stop_is_obeyed_at_once_everywhere(loaded: asyncpg.Pool) -> None:
    for code in ("59183", "59273"):
        tenant = await loaded.fetchval("SELECT id FROM tenants WHERE code = $1", code)
        await loaded.execute(
            "INSERT INTO subscribers (tenant_id, phone, postcode, status, consent_at) "
            "VALUES ($1, '+33612345678', (SELECT postcodes[1] FROM tenants WHERE id = $1), "
            "'active', now())",
            tenant,
        )
    message = Inbound("demo", "+33612345678", None, "Arrêt", datetime.now(UTC), "in-1")
    async with loaded.acquire() as conn, conn.transaction():
        handled = await inbound.handle(conn, message, Catalog())
    assert handled.kind == "stop"
    assert handled.confirmation is not None
    assert "ne recevrez plus" in handled.confirmation
    # An auto-responder, say: a new message (its own id; the same id would be a resend).
    again_message = Inbound("demo", "+33612345678", None, "STOP", datetime.now(UTC), "in-2")
    async with loaded.acquire() as conn, conn.transaction():
        again = await inbound.handle(conn, again_message, Catalog())
    assert (again.kind, again.confirmation) == ("stop", None)
    statuses = {r["status"] for r in await loaded.fetch("SELECT status FROM subscribers")}
    assert statuses == {"stopped"}
    stored = await loaded.fetchrow("SELECT * FROM inbound_messages ORDER BY id LIMIT 1")
    assert (stored["kind"], stored["body"]) == ("stop", "Arrêt")
    audits = await loaded.fetch("SELECT details FROM audit_log WHERE action = 'subscriber.stop'")
    assert len(audits) == 2 and all("12345678" not in str(a["details"]) for a in audits)


async def test_replies_are_kept_against_the_alert_they_answer(loaded: asyncpg.Pool) -> None:
    alert_id = await seed_alert(loaded, 3)
    fake = FakeGateway("demo")
    await Dispatcher(loaded, [fake], worker="w1").drain()
    reply = Inbound("demo", "+33730000002", None, "Bien reçu, on monte", datetime.now(UTC), "r1")
    stranger = Inbound("demo", "+33699999999", None, "Qui êtes-vous ?", datetime.now(UTC), "r2")
    async with loaded.acquire() as conn, conn.transaction():
        assert (await inbound.handle(conn, reply, Catalog())).alert_id == alert_id
        assert (await inbound.handle(conn, stranger, Catalog())).alert_id is None
    stored = await loaded.fetch("SELECT kind, alert_id, subscriber_id FROM inbound_messages")
    assert [(r["kind"], r["alert_id"]) for r in stored] == [("reply", alert_id), ("reply", None)]
    assert await loaded.fetchval("SELECT count(*) FROM subscribers WHERE status = 'stopped'") == 0


async def test_the_daemon_confirms_a_stop_once_through_the_gateway_it_came_by(
    loaded: asyncpg.Pool,
) -> None:
    await seed_alert(loaded, 2, enqueue=False)
    fake = FakeGateway("demo")
    consuming = asyncio.create_task(consumer.consume(loaded, fake, Catalog()))
    fake.inject_inbound("+33730000001", "STOP")
    fake.inject_inbound("+33730000001", "stop")  # twice, as people do

    async def stored() -> int:
        return int(await loaded.fetchval("SELECT count(*) FROM inbound_messages"))

    async def answered() -> None:
        # What is awaited is a row in the database and a message at the gateway: no event says
        # both, so look again until they are there.
        while not fake.received or await stored() < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    await asyncio.wait_for(answered(), 10)
    await fake.close()
    await asyncio.wait_for(consuming, 10)
    assert [m.to for m in fake.received] == ["+33730000001"]
    assert "Dunkerque" in fake.received[0].text
    status = await loaded.fetchval("SELECT status FROM subscribers WHERE phone = '+33730000001'")
    assert status == "stopped"


def test_sigterm_stops_the_daemon_cleanly(db_dsn: str, tmp_path: Path) -> None:
    toml = tmp_path / "alertd.toml"
    toml.write_text(FAKE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    env["DATABASE_URL"] = db_dsn
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "alertd",
            "--log-format",
            "json",
            "--config",
            str(toml),
            "serve",
            "--allow-fake-gateway",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # wait for the daemon to say it runs: no sleeping
        if "serve.started" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "serve.stopped" in err


async def test_receipts_come_back_through_the_webhooks(
    loaded: asyncpg.Pool, config: Config, fake_provider: tuple[int, Path], tmp_path: Path
) -> None:
    """Twilio dialect end to end: submissions to the provider process, signed status callbacks
    to the daemon's webhook listener, deliveries marked delivered."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        hook_port = int(s.getsockname()[1])
    provider_port, _ = fake_provider
    alert_id = await seed_alert(loaded, 50)
    toml = tmp_path / "alertd.toml"
    toml.write_text(
        f'[gateways.primary]\nkind = "twilio"\nbase_url = "http://127.0.0.1:{provider_port}"\n'
        'account_sid = "ACtest"\nsender = "+33600000000"\n'
        f'status_callback = "http://127.0.0.1:{hook_port}/webhooks/primary/status"\n'
        'credentials_env = { auth_token = "TOKEN" }\n'
        f'[serve]\nwebhook_listen = "127.0.0.1:{hook_port}"\n'
    )
    assert config.database.url is not None
    cfg = load_config({"DATABASE_URL": config.database.url, "TOKEN": "tok"}, toml)
    stop = asyncio.Event()
    task = asyncio.create_task(
        daemon.run(
            cfg,
            stop=stop,
            signals=False,
            settings=DispatchSettings(idle_s=0.05),
            allow_fake=True,
        )
    )
    try:
        counts = await _until_delivered(loaded, alert_id, 50)
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0
    assert counts == {"delivered": 50, "in_doubt": 0, "rerouted": 0}


async def test_gateways_that_offer_webhooks_are_mounted_the_others_are_not() -> None:
    """The daemon mounts what a gateway offers (gateways.base.Webhooks), whatever its class:
    Twilio and OVH under /webhooks/<name>/ (Twilio's with the public URL its signatures cover),
    the fake gateway, which offers none, nowhere."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    public = "https://alertd.example.org"
    twilio = TwilioGateway("tw", account_sid="ACtest", auth_token="tok", from_number="+33600")
    ovh = OvhGateway(
        "ovh",
        application_key="ak",
        application_secret="as",
        consumer_key="ck",
        service_name="sms-1",
        callback_token="secret",
    )
    fake = FakeGateway("fake")
    assert isinstance(twilio, Webhooks) and isinstance(ovh, Webhooks)
    assert not isinstance(fake, Webhooks)
    form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    signed = {
        SIGNATURE_HEADER: twilio_signature("tok", f"{public}/webhooks/tw/status", form.items())
    }
    serve = ServeConfig(webhook_listen=f"127.0.0.1:{port}", public_url=public)
    base = f"http://127.0.0.1:{port}/webhooks"
    # Read as the daemon does: each webhook answers once its event is stored.
    reading = [asyncio.create_task(next_events(g, 1)) for g in (twilio, ovh)]
    async with daemon._webhooks(serve, [twilio, ovh, fake]), aiohttp.ClientSession() as http:
        async with http.post(f"{base}/tw/status", data=form, headers=signed) as answer:
            assert answer.status == 204
        dlr = {"id": "7", "dlr": "1", "token": "secret"}
        async with http.get(f"{base}/ovh/dlr", params=dlr) as answer:
            assert answer.status == 204
        async with http.get(f"{base}/fake/dlr", params=dlr) as answer:
            assert answer.status == 404
    for gateway, message_id, read in zip((twilio, ovh), ("SM1", "7"), reading, strict=True):
        [event] = await read
        assert isinstance(event, Receipt)
        assert (event.message_id, event.status) == (message_id, ReceiptStatus.DELIVERED)
        await gateway.close()
