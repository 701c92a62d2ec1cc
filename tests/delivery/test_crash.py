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
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from alertd.config import DatabaseConfig
from alertd.delivery import outbox
from alertd.delivery.dispatch import DispatchSettings, claim_size
from alertd.store.database import EmbeddedPostgres, create_pool
from alertd.store.migrate import migrate
from gateways.fake import FakeGateway
from tests.support.own_postgres import own_postgres
from tests.support.provider import provider_process
from tests.support.seed import seed_alert
from tests.support.serve_process import sent_numbers, serve_process

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


def _stop(daemon: subprocess.Popen[bytes]) -> int:
    daemon.send_signal(signal.SIGTERM)
    return daemon.wait(timeout=30)


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

    sent = collections.Counter(sent_numbers(log))
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
        daemon = serve_process(config, dsn)
        try:
            _wait(lambda at=stop_at: len(sent_numbers(log)) >= at, 120)  # type: ignore[misc]
        finally:
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=10)
        crashes += 1
    daemon = serve_process(config, dsn)
    try:
        _wait(lambda: len(set(sent_numbers(log))) >= RECIPIENTS, 180)
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
        daemons = [serve_process(config, db_dsn), serve_process(config, db_dsn)]
        try:
            _wait(lambda: len(sent_numbers(log)) >= n, 120)
        finally:
            codes = [_stop(d) for d in daemons]
        return codes

    assert await asyncio.to_thread(both) == [0, 0]
    sent = sent_numbers(log)
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
            daemon = serve_process(config, db_dsn)
            try:
                _wait(lambda: len(sent_numbers(primary_log)) >= 1_000, 60)
                _control(primary, "fail")
                _wait(lambda: len(sent_numbers(backup_log)) >= 1_000, 60)
                _control(primary, "ok")
                _wait(
                    lambda: len(sent_numbers(primary_log)) + len(sent_numbers(backup_log)) >= n, 120
                )
            finally:
                code = _stop(daemon)
            return code

        assert await asyncio.to_thread(fail_for_a_while) == 0
    sent = sent_numbers(primary_log) + sent_numbers(backup_log)
    assert len(sent) == len(set(sent)) == n  # nobody twice, across both operators
    assert set(sent) == _everyone(n)
    assert len(sent_numbers(backup_log)) >= 1_000
    counts = await outbox.progress(loaded, alert_id)
    assert (counts["submitted"], counts["in_doubt"]) == (n, 0)


def _control(port: int, mode: str, **more: float) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/control",
        data=json.dumps({"mode": mode, **more}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback
        assert answer.status == 200


# The figure. The breaker's cooldown is 2 s here (breaker_cooldown_s), not 30: after the
# slow period, the alert goes on within seconds instead of waiting half a minute.
BAD_NIGHT_RECIPIENTS = 20_000
TIMEOUT_S = 0.5  # the Twilio gateway's timeout_s; the provider then answers after SLOW_S
SLOW_S = 3.0


@pytest.mark.timeout(600)
async def test_a_bad_night_two_kills_a_postgresql_restart_and_a_slow_provider(
    fake_provider: tuple[int, Path], tmp_path: Path
) -> None:
    """One alert through the fake provider process, its own PostgreSQL (embedded binaries): the
    daemon kill -9ed at 10 %, the provider answering after SLOW_S (> the gateway's timeout) at
    30 % until the daemon has counted some in doubt, PostgreSQL stopped and started at 50 %
    (under the daemon, which must carry on), kill -9 again at 70 %, a last daemon finishes.

    The bound on in doubt, one window per fault: at a kill or at the restart, what the daemon
    holds handed to the gateway and unrecorded is at most its batches in flight (concurrency) of
    at most claim_size deliveries each; those come back as in doubt when their lease lapses. In
    the slow period, the messages awaiting an answer when the provider slowed down are at most
    the same (and the gateway's window, smaller here); the breaker opens after a few timeouts and
    the period ends before its cooldown, so no probe adds any. Four faults, four such windows.
    From the provider's log: nobody missing, extra copies at most the in-doubt count."""
    n = BAD_NIGHT_RECIPIENTS
    port, log = fake_provider
    settings = DispatchSettings(lease_s=1.0, backoff_base_s=0.1, backoff_max_s=0.5)
    window = settings.concurrency * claim_size(settings, [FakeGateway("g", window=WINDOW)])
    async with own_postgres() as (server, dsn):
        alert_id = await _seed_own(dsn, n)
        config = tmp_path / "alertd.toml"
        gateway = _gateway("primary", port) + f"timeout_s = {TIMEOUT_S}\nbreaker_cooldown_s = 2\n"
        config.write_text(gateway + FAST_RETRIES)
        night = _Night(config, dsn, log, tmp_path / "daemon.jsonl", alert_id)
        try:
            await night.live_through(server, port, n)
        finally:
            night.kill_all()
        counts = await night.progress()
    sent = collections.Counter(sent_numbers(log))
    figures = {
        "recipients": n,
        "accepted_by_provider": sum(sent.values()),
        "delivered_once": sum(1 for k in sent.values() if k == 1),
        "extra_copies": sum(k - 1 for k in sent.values()),
        "missing": len(_everyone(n) - set(sent)),
        "in_doubt": counts["in_doubt"],
        "in_doubt_bound": 4 * window,
    }
    print(json.dumps(figures))
    assert set(sent) == _everyone(n)  # nobody missing
    assert figures["extra_copies"] <= counts["in_doubt"]
    assert counts["in_doubt"] <= 4 * window  # at most one window per fault
    assert counts.get("submitted", 0) == n
    assert not any(p in night.log.read_text() for p in list(sent)[:100])  # masked in its logs


async def _seed_own(dsn: str, n: int) -> int:
    """Migrate the database, load the test territory, seed one alert to n; its id."""
    from alertd.tenants import load_territory

    pool = await create_pool(dsn, DatabaseConfig(url=dsn, pool_min=1, pool_max=4))
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        await load_territory(pool, "test")
        return await seed_alert(pool, n, text="ALERTE SUBMERSION MARINE (exercice)")
    finally:
        await pool.close()


class _Night:
    """The daemons of one bad night (each appending its JSON log to ``log``) and its faults."""

    def __init__(self, config: Path, dsn: str, sent: Path, log: Path, alert_id: int) -> None:
        self.config, self.dsn, self.sent, self.log = config, dsn, sent, log
        self.alert_id = alert_id
        self.daemons: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
        env.update(DATABASE_URL=self.dsn, TOKEN="tok")
        command = [sys.executable, "-m", "alertd", "--log-format", "json"]
        with self.log.open("ab") as out:
            daemon = subprocess.Popen(
                [*command, "--config", str(self.config), "serve"], env=env, stdout=out, stderr=out
            )
        self.daemons.append(daemon)
        return daemon

    def kill_all(self) -> None:
        """A failed wait leaves no daemon behind."""
        for left in self.daemons:
            if left.poll() is None:
                left.kill()
                left.wait(timeout=10)

    async def progress(self) -> dict[str, int]:
        conn = await asyncpg.connect(self.dsn)
        try:
            return await outbox.progress(conn, self.alert_id)
        finally:
            await conn.close()

    async def until_sent(self, count: int) -> None:
        await asyncio.to_thread(_wait, lambda: len(sent_numbers(self.sent)) >= count, 100)

    async def until_logged(self, event: str) -> None:
        await asyncio.to_thread(_wait, lambda: event in self.log.read_text(), 30)

    async def live_through(self, server: EmbeddedPostgres, port: int, n: int) -> None:
        daemon = self.start()
        await self.until_sent(n // 10)
        _kill(daemon)  # fault 1
        daemon = self.start()
        await self.until_sent(3 * n // 10)
        before = (await self.progress())["in_doubt"]
        _control(port, "slow", delay=SLOW_S)  # fault 2, until the daemon counts some in doubt
        try:
            await _until_async(self._more_in_doubt_than, before, 30)
        finally:
            _control(port, "ok")
        await self.until_sent(n // 2)
        await asyncio.to_thread(server.stop)  # fault 3
        await self.until_logged("serve.database_lost")
        await asyncio.to_thread(server.start)
        await self.until_logged("serve.database_back")
        await self.until_sent(7 * n // 10)
        _kill(daemon)  # fault 4 (it checks that the daemon survived the restart)
        daemon = self.start()
        await asyncio.to_thread(_wait, lambda: len(set(sent_numbers(self.sent))) >= n, 100)
        assert await asyncio.to_thread(_stop, daemon) == 0

    async def _more_in_doubt_than(self, before: int) -> bool:
        return (await self.progress())["in_doubt"] > before


def _kill(daemon: subprocess.Popen[bytes]) -> None:
    assert daemon.poll() is None, f"the daemon had exited ({daemon.returncode})"
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(timeout=10)


async def _until_async(check: Callable[[int], Awaitable[bool]], arg: int, within: float) -> None:
    async def poll() -> None:
        while True:
            if await check(arg):
                return
            await asyncio.sleep(0.05)  # another process's progress, bounded by wait_for

    await asyncio.wait_for(poll(), within)
