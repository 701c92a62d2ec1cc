"""kill -9 the daemon in the middle of an alert, three times: nobody lost, nobody twice
(beyond what the daemon counts as in doubt, at most one gateway window per crash).

The daemon runs as a subprocess with the fake provider (its own process) as its gateway; the
provider's log is the outside witness of what was sent.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest
from seed import seed_alert

from alertd import outbox

RECIPIENTS = 20_000
WINDOW = 16
pytestmark = pytest.mark.slow


def _env(dsn: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    env.update(DATABASE_URL=dsn, TOKEN="tok")
    return env


def _sent(log: Path) -> list[str]:
    """The numbers in the provider's log; a line it is still writing is not read yet."""
    if not log.exists():
        return []
    complete = log.read_text().split("\n")[:-1]
    return [json.loads(line)["to"] for line in complete if line.strip()]


def _wait(condition: object, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)  # waiting on another process's progress, bounded by the deadline


async def test_kill_nine_three_times(
    loaded: asyncpg.Pool, db_dsn: str, fake_provider: tuple[int, Path], tmp_path: Path
) -> None:
    port, log = fake_provider
    alert_id = await seed_alert(loaded, RECIPIENTS, text="ALERTE SUBMERSION MARINE (exercice)")
    config = tmp_path / "alertd.toml"
    config.write_text(
        f'[gateways.primary]\nkind = "twilio"\nbase_url = "http://127.0.0.1:{port}"\n'
        f'account_sid = "ACtest"\nsender = "+33600000000"\nwindow = {WINDOW}\n'
        'credentials_env = { auth_token = "TOKEN" }\n'
        "[dispatch]\nlease_s = 1.0\nbackoff_base_s = 0.1\nbackoff_max_s = 0.5\n"
    )
    crashes = await asyncio.to_thread(_crash_then_finish, config, db_dsn, log)

    sent = collections.Counter(_sent(log))
    expected = {f"+3373{i:07d}" for i in range(1, RECIPIENTS + 1)}
    assert set(sent) == expected  # nobody lost
    twice = sum(n - 1 for n in sent.values())
    in_doubt = await loaded.fetchval(
        "SELECT count(*) FROM deliveries WHERE alert_id = $1 AND in_doubt", alert_id
    )
    assert twice <= in_doubt  # every second message is one the daemon counts as in doubt
    assert in_doubt <= crashes * WINDOW  # at most one gateway window per crash
    statuses = await outbox.progress(loaded, alert_id)
    assert statuses.get("submitted", 0) == RECIPIENTS


def _crash_then_finish(config: Path, dsn: str, log: Path) -> int:
    """kill -9 the daemon at three moments of the alert, then let a last one finish it."""
    command = [
        sys.executable,
        "-m",
        "alertd",
        "--log-format",
        "json",
        "--config",
        str(config),
        "serve",
    ]
    crashes = 0
    for stop_at in (3_000, 8_000, 13_000):
        daemon = subprocess.Popen(
            command, env=_env(dsn), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait(lambda at=stop_at: len(_sent(log)) >= at, 120)
        finally:
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=10)
        crashes += 1
    daemon = subprocess.Popen(
        command, env=_env(dsn), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait(lambda: len(set(_sent(log))) >= RECIPIENTS, 180)
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
    assert code == 0
    return crashes
