"""Issue 14, case 5: no fake gateway in a deployment by accident."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from structlog.testing import capture_logs

from alertd import operators
from alertd.config import Config, load_config, with_overrides
from alertd.delivery import daemon, fake_gateways, outbox
from alertd.delivery.dispatch import DispatchSettings
from alertd.errors import ConfigError
from tests.support.cli import alertd
from tests.support.seed import seed_alert

EXAMPLE = Path(__file__).resolve().parents[2] / "ops" / "alertd.example.toml"
FAKE = '[gateways.bench]\nkind = "fake"\n'


def test_the_example_configuration_has_no_active_fake_gateway() -> None:
    config = load_config({}, EXAMPLE)
    assert [g.name for g in config.gateways if g.kind == "fake"] == []


def test_serve_refuses_a_fake_gateway_unless_told(tmp_path: Path) -> None:
    toml = tmp_path / "alertd.toml"
    toml.write_text(FAKE)
    result = alertd("--config", str(toml), "serve", dsn="postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 78, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "gateways.bench" in lines[0] and "--allow-fake-gateway" in lines[0]


async def test_serve_refuses_a_configured_fake_in_process(config: Config, tmp_path: Path) -> None:
    toml = tmp_path / "alertd.toml"
    toml.write_text(FAKE)
    assert config.database.url is not None
    cfg = load_config({"DATABASE_URL": config.database.url}, toml)
    with pytest.raises(ConfigError, match="sends nothing to anyone"):
        await daemon.run(cfg, stop=asyncio.Event(), signals=False)


async def test_an_allowed_fake_is_said_at_start_and_in_the_alerts_status(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    alert_id = await seed_alert(loaded, 20)
    toml = tmp_path / "alertd.toml"
    toml.write_text(FAKE)
    assert config.database.url is not None
    cfg = load_config({"DATABASE_URL": config.database.url}, toml)
    cfg = with_overrides(cfg, database={"pool_min": 1, "pool_max": 4})
    stop = asyncio.Event()
    assert await fake_gateways.fake_note(loaded, alert_id) is None
    with capture_logs() as logs:
        task = asyncio.create_task(
            daemon.run(
                cfg,
                stop=stop,
                signals=False,
                settings=DispatchSettings(idle_s=0.05),
                allow_fake=True,
            )
        )
        counts = await outbox.progress(loaded, alert_id)
        while counts.get("delivered") != 20:
            await asyncio.sleep(0.05)
            counts = await outbox.progress(loaded, alert_id)
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0
    warned = [e for e in logs if e["event"] == "serve.fake_gateway"]
    assert warned and warned[0]["gateway"] == "bench" and warned[0]["log_level"] == "warning"
    assert await fake_gateways.fake_note(loaded, alert_id) == fake_gateways.FAKE_NOTE
    # What the duty officer reads.
    officer = await operators.create_operator(
        loaded,
        tenant_code="59183",
        name="Officier",
        role="operator",
        email="officier@cud.example",
        actor="test",
    )
    shown = alertd(
        "alert",
        "status",
        str(alert_id),
        dsn=config.database.url,
        env={"ALERTD_OPERATOR_TOKEN": officer.token},
    )
    assert shown.returncode == 0, shown.stderr
    assert "sent through a FAKE gateway: nothing left this machine" in shown.stdout
    as_json = alertd(
        "alert",
        "status",
        str(alert_id),
        "--json",
        dsn=config.database.url,
        env={"ALERTD_OPERATOR_TOKEN": officer.token},
    )
    assert json.loads(as_json.stdout)["note"] == fake_gateways.FAKE_NOTE  # scripts see it too
    # A real gateway started later under that name takes it off the list.
    await fake_gateways.record(loaded, fakes=[], real=["bench"], worker="test")
    assert await fake_gateways.fake_note(loaded, alert_id) is None


def test_the_cli_warns_loudly_when_a_fake_is_allowed(db_dsn: str, tmp_path: Path) -> None:
    toml = tmp_path / "alertd.toml"
    toml.write_text(FAKE)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("ALERTD_") and k != "DATABASE_URL"
    }
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
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "serve.started" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    text = "".join(seen) + err
    assert proc.returncode == 0, text
    assert "WARNING: gateway bench is FAKE: nothing sent through it leaves this machine" in text
    assert "serve.fake_gateway" in text
