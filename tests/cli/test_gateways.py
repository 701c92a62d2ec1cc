"""The fake provider as a separate process, and `gateways check` against it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import alertd


def test_gateways_check_against_the_fake_provider(
    fake_provider: tuple[int, Path], tmp_path: Path
) -> None:
    port, _ = fake_provider
    config = tmp_path / "alertd.toml"
    config.write_text(
        f'[gateways.primary]\nkind = "twilio"\nbase_url = "http://127.0.0.1:{port}"\n'
        'account_sid = "ACtest"\nsender = "+33600000000"\n'
        'credentials_env = { auth_token = "TOKEN" }\n'
        '[gateways.demo]\nkind = "fake"\npriority = 2\n'
    )
    ok = alertd("--config", str(config), "gateways", "check", "--json", env={"TOKEN": "tok"})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    states = {g["name"]: g for g in json.loads(ok.stdout)}
    assert states["primary"]["ok"] and states["primary"]["state"] == "closed"
    wrong = alertd("--config", str(config), "gateways", "check", env={"TOKEN": "nope"})
    assert wrong.returncode == 69
    assert "FAILING" in wrong.stdout


@pytest.fixture
def smsc() -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "alertd.tools.smsc_sim", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "listening PORT" once bound: no sleeping
        assert line.startswith("listening "), line
        yield int(line.split()[1])
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_gateways_check_against_the_smsc_simulator(smsc: int, tmp_path: Path) -> None:
    config = tmp_path / "alertd.toml"
    config.write_text(
        f'[gateways.smsc]\nkind = "smpp"\nhost = "127.0.0.1"\nport = {smsc}\n'
        'system_id = "alertd"\ncredentials_env = { password = "PW" }\n'
    )
    result = alertd("--config", str(config), "gateways", "check", "--json", env={"PW": "x"})
    assert result.returncode == 0, result.stdout + result.stderr
    [state] = json.loads(result.stdout)
    assert (state["name"], state["ok"], state["state"]) == ("smsc", True, "closed")
