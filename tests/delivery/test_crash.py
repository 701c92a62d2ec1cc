"""The daemon against the worst night: kill -9 in the middle of an alert (three times), two
daemons on one database, a primary gateway that fails for a while. Nobody lost, nobody twice
(beyond what the daemon counts as in doubt, at most one gateway window per crash).

The daemons run as subprocesses with the fake provider (its own process) as their gateway; the
provider's log is the outside witness of what was sent.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from alertd.delivery import outbox
from tests.support.provider import provider_process
from tests.support.seed import seed_alert

RECIPIENTS = 20_000
WINDOW = 16
FAST_RETRIES = "[dispatch]\nlease_s = 1.0\nbackoff_base_s = 0.1\nbackoff_max_s = 0.5\n"
pytestmark = pytest.mark.slow


def _gateway(name: str, port: int, priority: int = 1) -> str:
    return (
        f'[gateways.{name}]\nkind = "twilio"\nbase_url = "http://127.0.0.1:{port}"\n'
        f'account_sid = "ACtest"\nsender = "+33600000000"\nwindow = {WINDOW}\n'
        f'priority = {priority}\ncredentials_env = {{ auth_token = "TOKEN" }}\n'
    )


def _daemon(config: Path, dsn: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    env.update(DATABASE_URL=dsn, TOKEN="tok")
    command = [sys.executable, "-m", "alertd", "--log-format", "json", "--config", str(config)]
    return subprocess.Popen(
        [*command, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _stop(daemon: subprocess.Popen[bytes]) -> int:
    daemon.send_signal(signal.SIGTERM)
    return daemon.wait(timeout=30)


def _sent(log: Path) -> list[str]:
    """The numbers in the provider's log; a line it is still writing is not read yet."""
    if not log.exists():
        return []
    complete = log.read_text().split("\n")[:-1]
    return [json.loads(line)["to"] for line in complete if line.strip()]


def _wait(condition: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)  # waiting on another process's progress, bounded by the deadline


def _everyone(n: int) -> set[str]:
    return {f"+3373{i:07d}" for i in range(1, n + 1)}


async def test_kill_nine_three_times(
    loaded: asyncpg.Pool, db_dsn: str, fake_provider: tuple[int, Path], tmp_path: Path
) -> None:
    port, log = fake_provider
    alert_id = await seed_alert(loaded, RECIPIENTS, text="ALERTE SUBMERSION MARINE (exercice)")
    config = tmp_path / "alertd.toml"
    config.write_text(_gateway("primary", port) + FAST_RETRIES)
    seed = random.randrange(1_000_000)  # noqa: S311 - moments of a crash, not secrets
    moments = sorted(random.Random(seed).sample(range(1_000, RECIPIENTS - 2_000), 3))  # noqa: S311
    crashes = await asyncio.to_thread(_crash_then_finish, config, db_dsn, log, moments)

    sent = collections.Counter(_sent(log))
    assert set(sent) == _everyone(RECIPIENTS), f"kill -9 after {moments} (seed {seed})"
    twice = sum(n - 1 for n in sent.values())
    in_doubt = await loaded.fetchval(
        "SELECT count(*) FROM deliveries WHERE alert_id = $1 AND in_doubt", alert_id
    )
    assert twice <= in_doubt  # every second message is one the daemon counts as in doubt
    assert in_doubt <= crashes * WINDOW  # at most one gateway window per crash
    statuses = await outbox.progress(loaded, alert_id)
    assert statuses.get("submitted", 0) == RECIPIENTS


def _crash_then_finish(config: Path, dsn: str, log: Path, moments: list[int]) -> int:
    """kill -9 the daemon at these moments of the alert, then let a last one finish it."""
    crashes = 0
    for stop_at in moments:
        daemon = _daemon(config, dsn)
        try:
            _wait(lambda at=stop_at: len(_sent(log)) >= at, 120)  # type: ignore[misc]
        finally:
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=10)
        crashes += 1
    daemon = _daemon(config, dsn)
    try:
        _wait(lambda: len(set(_sent(log))) >= RECIPIENTS, 180)
    finally:
        assert _stop(daemon) == 0
    return crashes


async def test_two_daemons_on_one_database_send_nothing_twice(
    loaded: asyncpg.Pool, db_dsn: str, fake_provider: tuple[int, Path], tmp_path: Path
) -> None:
    n = 10_000
    port, log = fake_provider
    alert_id = await seed_alert(loaded, n)
    config = tmp_path / "alertd.toml"
    config.write_text(_gateway("primary", port) + "[dispatch]\nbatch = 100\n")

    def both() -> list[int]:
        daemons = [_daemon(config, db_dsn), _daemon(config, db_dsn)]
        try:
            _wait(lambda: len(_sent(log)) >= n, 120)
        finally:
            codes = [_stop(d) for d in daemons]
        return codes

    assert await asyncio.to_thread(both) == [0, 0]
    sent = _sent(log)
    assert len(sent) == len(set(sent)) == n
    assert set(sent) == _everyone(n)
    assert await outbox.progress(loaded, alert_id) == {
        "submitted": n,
        "in_doubt": 0,
        "rerouted": 0,
    }


async def test_a_failing_primary_fails_over_and_everyone_gets_it_once(
    loaded: asyncpg.Pool, db_dsn: str, tmp_path: Path
) -> None:
    n = 5_000
    alert_id = await seed_alert(loaded, n)
    primary_log, backup_log = tmp_path / "primary.jsonl", tmp_path / "backup.jsonl"
    with provider_process(primary_log) as primary, provider_process(backup_log) as backup:
        config = tmp_path / "alertd.toml"
        config.write_text(
            _gateway("primary", primary, 1) + _gateway("backup", backup, 2) + FAST_RETRIES
        )

        def fail_for_a_while() -> int:
            daemon = _daemon(config, db_dsn)
            try:
                _wait(lambda: len(_sent(primary_log)) >= 1_000, 60)
                _control(primary, "fail")
                _wait(lambda: len(_sent(backup_log)) >= 1_000, 60)
                _control(primary, "ok")
                _wait(lambda: len(_sent(primary_log)) + len(_sent(backup_log)) >= n, 120)
            finally:
                code = _stop(daemon)
            return code

        assert await asyncio.to_thread(fail_for_a_while) == 0
    sent = _sent(primary_log) + _sent(backup_log)
    assert len(sent) == len(set(sent)) == n  # nobody twice, across both operators
    assert set(sent) == _everyone(n)
    assert len(_sent(backup_log)) >= 1_000
    counts = await outbox.progress(loaded, alert_id)
    assert (counts["submitted"], counts["in_doubt"]) == (n, 0)


def _control(port: int, mode: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/control",
        data=json.dumps({"mode": mode}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback
        assert answer.status == 200
