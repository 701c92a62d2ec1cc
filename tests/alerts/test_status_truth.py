"""Issue 14, case 12 (and the time-zone edge of 13): status tells the truth. `--follow` waits for
the follow-ups, cancelled is its own column, "no daemon is connected" is said, times are in the
tenant's time zone with the zone shown."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from alertd import tenants
from alertd.alerts import followups, lifecycle, status
from alertd.cli import alert_output
from alertd.delivery import progress
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from alertd.errors import InputError
from gateways.fake import FakeGateway
from tests.support.alert_world import DUNKERQUE, World, build_world, circle, draft

NEAR_ZONE = circle(DUNKERQUE, 500)  # the 40 near residents
NOW = DispatchSettings(backoff_base_s=0, backoff_max_s=0)


@pytest.fixture
async def world(loaded: asyncpg.Pool) -> World:
    return await build_world(loaded)


async def _sent(w: World) -> int:
    alert_id = await lifecycle.create(w.ctx, w.officer, draft(NEAR_ZONE), "t")
    await lifecycle.send(w.ctx, w.officer, alert_id, "t")
    return alert_id


async def test_follow_waits_for_the_follow_ups(world: World) -> None:
    """It printed `done` while the all-clear was still queued."""
    alert_id = await _sent(world)
    fake = FakeGateway("fake")
    await Dispatcher(world.ctx.pool, [fake], worker="w", settings=NOW).drain()
    await followups.all_clear(world.ctx, world.officer, alert_id, params={}, actor="t")
    report = await status.status(world.ctx, world.officer, alert_id)
    assert progress.from_counts(report.progress).done  # the alert itself is done …
    assert not alert_output.finished(report)  # … but not what follows it
    looks = 0

    async def fetch() -> status.Status:
        nonlocal looks
        looks += 1
        await Dispatcher(world.ctx.pool, [fake], worker="w", settings=NOW).drain()
        return await status.status(world.ctx, world.officer, alert_id)

    last, _ = await alert_output.follow(fetch, report, as_json=True)
    assert looks == 1 and alert_output.finished(last)
    assert len(fake.received) == 80  # the alert and its all-clear, all handed over


async def test_cancelled_is_its_own_column_not_a_failure(world: World) -> None:
    alert_id = await _sent(world)
    await followups.cancel(world.ctx, world.officer, alert_id, "t")
    report = await status.status(world.ctx, world.officer, alert_id)
    state = progress.from_counts(report.progress)
    assert (state.failed, state.cancelled) == (0, 40)
    assert "failed 0  cancelled 40" in progress.line(state)


async def test_no_daemon_connected_is_said(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no daemon, `--follow` showed `0/s ETA ?` forever, saying nothing."""
    alert_id = await _sent(world)
    report = await status.status(world.ctx, world.officer, alert_id)
    assert report.daemons == 0
    state = progress.from_counts(report.progress)
    assert alert_output.NO_DAEMON in alert_output.follow_line(report, state)
    alert_output.print_status(report)
    assert "no daemon is connected" in capsys.readouterr().out


async def test_times_are_in_the_tenants_time_zone_with_the_zone_shown(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """They were UTC without saying so."""
    winter = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert alert_output.local_time(winter, "Europe/Paris") == (
        "2026-12-01 09:00 CET (Europe/Paris)"
    )
    assert alert_output.local_time(summer, "Europe/Paris", short=True) == "2026-07-01 10:00 CEST"
    assert alert_output.local_time(winter, "Nowhere/Atlantis", short=True).endswith("UTC")
    alert_id = await _sent(world)
    report = await status.status(world.ctx, world.officer, alert_id)
    alert_output.print_status(report)
    shown = capsys.readouterr().out
    assert report.timezone == "Europe/Paris" and "(Europe/Paris)" in shown
    assert "valid until" in shown


async def test_a_tenant_chooses_its_time_zone(world: World) -> None:
    await tenants.update_tenant(world.ctx.pool, "59183", "t", timezone="America/Cayenne")
    alert_id = await _sent(world)
    assert (await status.status(world.ctx, world.officer, alert_id)).timezone == "America/Cayenne"
    with pytest.raises(InputError, match="time zone 'Paris' is unknown"):
        await tenants.update_tenant(world.ctx.pool, "59183", "t", timezone="Paris")


async def test_following_an_alert_waiting_for_approval_says_so_and_returns(world: World) -> None:
    """It drew an empty bar and said `done` over an alert nobody had approved yet."""
    await world.ctx.pool.execute("UPDATE tenants SET approval_threshold = 10 WHERE code = '59183'")
    alert_id = await _sent(world)  # 40 recipients: above the threshold, it waits
    report = await status.status(world.ctx, world.officer, alert_id)
    assert report.status == "pending_approval"
    looks = 0

    async def fetch() -> status.Status:
        nonlocal looks
        looks += 1
        return report

    await alert_output.follow(fetch, report, as_json=True)
    assert looks == 0  # nothing will move until a second person approves: no endless watch
    waiting = alert_output.not_sent_yet(report)
    assert waiting is not None and f"alertd alert approve {alert_id}" in waiting
    assert alert_output.follow_line(report, progress.from_counts(report.progress)) == waiting
