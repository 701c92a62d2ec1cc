"""An `alert send` killed midway: the alert stays `sending` with part of its deliveries written.
The daemon finishes it, re-running the command says what it resumed, `alert status` says so."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from alertd.alerts import lifecycle, status
from alertd.cli.alert_output import print_status
from alertd.config import Config
from alertd.delivery import daemon, enqueue, outbox
from alertd.delivery.dispatch import DispatchSettings
from alertd.store.queries import queries
from gateways.fake import FakeGateway
from tests.support.alert_world import DUNKERQUE, World, build_world, circle, draft

ZONE = circle(DUNKERQUE, 500)  # 40 residents
WRITTEN = 15  # what the killed command had written


@pytest.fixture
async def world(loaded: asyncpg.Pool) -> World:
    return await build_world(loaded)


async def interrupted(w: World) -> int:
    """An alert sent by a command that was killed after writing WRITTEN of its deliveries (the
    very steps `lifecycle.send` takes, cut short), a minute ago."""
    pool = w.ctx.pool
    alert_id = await lifecycle.create(w.ctx, w.officer, draft(ZONE), "t")
    await lifecycle.preview(w.ctx, w.officer, alert_id)
    found = await lifecycle.recipients_of(w.ctx, alert_id)
    await pool.execute(queries("alerts")["start_sending"], alert_id, w.officer.id, ["draft"])
    alert = await enqueue.alert_zones(pool, alert_id)
    some = set(sorted(found.ids())[:WRITTEN])
    assert await enqueue.write(pool, alert_id, enqueue.priority_of(alert), found, some) == WRITTEN
    await pool.execute(
        "UPDATE alerts SET updated_at = now() - interval '1 minute' WHERE id = $1", alert_id
    )
    return alert_id


async def _until(check: Callable[[], Any], within: float = 30.0) -> None:
    async def poll() -> None:
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), within)


async def test_the_daemon_finishes_an_interrupted_send_with_nobody_twice(
    world: World, config: Config
) -> None:
    pool = world.ctx.pool
    alert_id = await interrupted(world)
    gateway = FakeGateway("demo")
    stop = asyncio.Event()
    task = asyncio.create_task(
        daemon.run(
            config, stop=stop, signals=False, settings=DispatchSettings(idle_s=0.05),
            gateways=[gateway],
        )
    )  # fmt: skip

    async def delivered() -> bool:
        return (await outbox.progress(pool, alert_id)).get("delivered") == 40

    await _until(delivered)
    stop.set()
    assert await asyncio.wait_for(task, 30) == 0
    assert await pool.fetchval("SELECT status FROM alerts WHERE id = $1", alert_id) == "sent"
    copies = collections.Counter(m.to for m in gateway.received)
    assert len(copies) == 40
    assert set(copies.values()) == {1}


async def test_an_enqueue_in_progress_is_left_to_its_command(world: World) -> None:
    pool = world.ctx.pool
    alert_id = await interrupted(world)
    async with enqueue.enqueuing(pool, alert_id, wait=True):  # as a running `alert send`
        assert await enqueue.resume_interrupted(pool, None) == []
        report = await status.status(world.ctx, world.officer, alert_id)
        assert (report.enqueue, report.written) == ("writing", WRITTEN)
    [done] = await enqueue.resume_interrupted(pool, None)
    assert (done.alert_id, done.recipients, done.written) == (alert_id, 40, 40 - WRITTEN)
    assert await enqueue.resume_interrupted(pool, None) == []  # sent now


async def test_status_shows_it_and_sending_again_says_what_it_resumed(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = world.ctx.pool
    alert_id = await interrupted(world)
    report = await status.status(world.ctx, world.officer, alert_id)
    assert (report.status, report.enqueue, report.written) == ("sending", "interrupted", WRITTEN)
    print_status(report)
    shown = capsys.readouterr().out
    assert f"enqueue incomplete: {WRITTEN} of 40 written; the daemon resumes it" in shown
    again = await lifecycle.send(world.ctx, world.officer, alert_id, "t")
    assert (again.status, again.resumed, again.recipients, again.written) == (
        "sent",
        True,
        40,
        40 - WRITTEN,
    )
    report = await status.status(world.ctx, world.officer, alert_id)
    assert (report.status, report.enqueue, report.written) == ("sent", None, 40)
    assert (
        await pool.fetchval("SELECT count(*) FROM deliveries WHERE alert_id = $1", alert_id) == 40
    )
