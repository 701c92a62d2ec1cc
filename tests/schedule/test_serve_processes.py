"""``alertd serve`` as real processes, killed with SIGKILL just before, during and after a
firing: the notice is sent once, to everyone, by whichever daemon leads next. The fake provider
(its own process) is the outside witness of what left.

The firing's time is set by the test relative to now (the daemons run on the real clock); the
test waits on the database's state, bounded by a deadline, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from alertd.schedule import scheduler, schedules
from alertd.schedule.rules import Rule
from tests.schedule.conftest import Waste, spec
from tests.support.serve_process import sent_numbers, serve_process

pytestmark = pytest.mark.slow
GATEWAY = (
    '[gateways.primary]\nkind = "twilio"\nbase_url = "http://127.0.0.1:{port}"\n'
    'account_sid = "ACtest"\nsender = "+33600000000"\nwindow = 16\n'
    'credentials_env = {{ auth_token = "TOKEN" }}\n'
    # A killed daemon's claims come back after the lease: a second, not a minute, here.
    "[dispatch]\nlease_s = 1.0\nbackoff_base_s = 0.1\nbackoff_max_s = 0.5\n"
)
LEAD_S = 4.0  # the notice is due this long after it is saved


def _kill(daemon: subprocess.Popen[bytes]) -> None:
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(timeout=10)


async def _until(pool: asyncpg.Pool, query: str, *args: object, within: float = 60.0) -> object:
    """The first non-null answer of ``query``: another process's progress, polled."""
    deadline = time.monotonic() + within
    while (value := await pool.fetchval(query, *args)) in (None, False):
        assert time.monotonic() < deadline, f"timed out waiting for: {query}"
        await asyncio.sleep(0.005)
    return value


LEADING = (
    "SELECT true FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1 "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
DRAFTED = "SELECT alert_id FROM schedule_firings WHERE schedule_id = $1"
SENDING = (
    "SELECT true FROM alerts a JOIN schedule_firings f ON f.alert_id = a.id "
    "WHERE f.schedule_id = $1 AND a.status IN ('sending', 'sent')"
)
DONE = "SELECT alert_id FROM schedule_firings WHERE schedule_id = $1 AND status = 'sent'"


@pytest.mark.parametrize("moment", ["before", "during", "after"])
async def test_a_daemon_killed_around_a_firing_sends_it_once(
    waste: Waste, db_dsn: str, fake_provider: tuple[int, Path], tmp_path: Path, moment: str
) -> None:
    pool = waste.world.ctx.pool
    port, log = fake_provider
    config = tmp_path / "alertd.toml"
    config.write_text(GATEWAY.format(port=port))
    lock = scheduler.LOCK_KEY & 0xFFFF_FFFF  # pg_locks shows a bigint key's low half as objid
    first = serve_process(config, db_dsn)
    second = None
    try:
        await _until(pool, LEADING, lock)
        due = datetime.now(UTC) + timedelta(seconds=LEAD_S)
        made = await schedules.create(
            waste.world.ctx,
            waste.agent,
            spec(waste.sector, Rule(run_at=due)),
            datetime.now(UTC),
            "t",
        )
        # before: its alert drafted ahead, not yet due; during: being sent; after: sent.
        await _until(pool, {"before": DRAFTED, "during": SENDING, "after": DONE}[moment], made.id)
        if moment == "before":
            assert datetime.now(UTC) < due
        _kill(first)
        second = serve_process(config, db_dsn)
        alert_id = await _until(pool, DONE, made.id)
        expected = {
            r["phone"]
            for r in await pool.fetch(
                "SELECT phone FROM subscribers WHERE id = ANY($1::bigint[])", waste.residents
            )
        }
        deadline = time.monotonic() + 60
        while set(sent_numbers(log)) != expected:
            assert time.monotonic() < deadline, "not everyone was sent the notice"
            await asyncio.sleep(0.05)
    finally:
        for d in (first, second):
            if d is not None and d.poll() is None:
                d.send_signal(signal.SIGTERM)
                d.wait(timeout=30)
    firings = await pool.fetch(
        "SELECT status FROM schedule_firings WHERE schedule_id = $1", made.id
    )
    assert [r["status"] for r in firings] == ["sent"]
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 1
    assert await pool.fetchval(
        "SELECT count(*) FROM deliveries WHERE alert_id = $1", alert_id
    ) == len(waste.residents)
    twice = sum(n - 1 for n in collections.Counter(sent_numbers(log)).values())
    in_doubt = await pool.fetchval("SELECT count(*) FROM deliveries WHERE in_doubt")
    assert twice <= in_doubt  # a second copy only where the daemon counts one in doubt


async def test_two_daemons_running_together_fire_a_notice_once(
    waste: Waste, db_dsn: str, fake_provider: tuple[int, Path], tmp_path: Path
) -> None:
    pool = waste.world.ctx.pool
    port, log = fake_provider
    config = tmp_path / "alertd.toml"
    config.write_text(GATEWAY.format(port=port))
    daemons = [serve_process(config, db_dsn), serve_process(config, db_dsn)]
    try:
        await _until(pool, LEADING, scheduler.LOCK_KEY & 0xFFFF_FFFF)
        due = datetime.now(UTC) + timedelta(seconds=LEAD_S)
        made = await schedules.create(
            waste.world.ctx,
            waste.agent,
            spec(waste.sector, Rule(run_at=due)),
            datetime.now(UTC),
            "t",
        )
        await _until(pool, DONE, made.id)
        deadline = time.monotonic() + 60
        while len(sent_numbers(log)) < len(waste.residents):
            assert time.monotonic() < deadline, "not everyone was sent the notice"
            await asyncio.sleep(0.05)
        leaders = await pool.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            scheduler.LOCK_KEY & 0xFFFF_FFFF,
        )
    finally:
        for d in daemons:
            d.send_signal(signal.SIGTERM)
        codes = [d.wait(timeout=30) for d in daemons]
    assert codes == [0, 0]
    assert leaders == 1
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 1
    assert sorted(collections.Counter(sent_numbers(log)).values()) == [1] * len(waste.residents)
