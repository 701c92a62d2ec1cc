"""One contract, one limit (issue 18), measured from outside: real ``alertd serve`` processes on
one database, the fake provider (its own process) or the SMSC simulator counting what arrives.
The 30 s windows make these slow; the same measurements are ``alertd bench shared-rate``."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from alertd.tools.bench_shared_rate import Setting, rate_with, smpp_shared

pytestmark = pytest.mark.slow
CONTRACT = Setting(rate=500.0, window_s=30.0, lease_s=3.0)
TOLERANCE = 0.03
TAKEOVER_SLACK_S = 0.5


@pytest.mark.timeout(180)
async def test_two_daemons_send_at_the_contract_not_twice_it(
    pool: asyncpg.Pool, db_dsn: str, tmp_path: Path
) -> None:
    found = await rate_with(pool, db_dsn, tmp_path, 2, CONTRACT)
    assert found["per_second"] == pytest.approx(CONTRACT.rate, rel=TOLERANCE), found
    assert found["shares"] == [0.5, 0.5]


@pytest.mark.timeout(240)
async def test_three_daemons_hold_the_contract_and_take_over_a_killed_ones_share(
    pool: asyncpg.Pool, db_dsn: str, tmp_path: Path
) -> None:
    found = await rate_with(pool, db_dsn, tmp_path, 3, CONTRACT, kill=True)
    assert found["per_second"] == pytest.approx(CONTRACT.rate, rel=TOLERANCE), found
    assert found["shares"] == pytest.approx([1 / 3] * 3, abs=1e-3)
    # Once the dead daemon's lease has expired (at most one lease after the kill: its last
    # renewal came before it), the two others hold the whole contract at their next renewal,
    # planned for that moment (TAKEOVER_SLACK_S: the renewal's transaction on a busy machine).
    assert found["takeover_s"] <= CONTRACT.lease_s + TAKEOVER_SLACK_S, found
    assert found["per_second_after_kill"] == pytest.approx(CONTRACT.rate, rel=TOLERANCE), found


@pytest.mark.timeout(120)
async def test_two_daemons_never_open_more_binds_than_the_account_has(
    pool: asyncpg.Pool, db_dsn: str, tmp_path: Path
) -> None:
    found = await smpp_shared(pool, db_dsn, tmp_path, daemons=2, binds=4, rate_per_bind=100.0)
    assert found["binds_max"] <= 4, found
    assert found["binds_held"] == [2, 2]
    # The throughput of 4 binds at their contracted rate, not of 8 nor of 2.
    assert found["per_second"] == pytest.approx(400.0, rel=TOLERANCE), found
