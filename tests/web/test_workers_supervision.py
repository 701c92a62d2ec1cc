"""The daemon's watch over its page processes: started again with a growing pause when one
dies; one that keeps dying stops serve with the reason (and a non-zero exit, said by the CLI)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest
from structlog.testing import capture_logs

from alertd.config import Config, load_config, with_overrides
from alertd.delivery import daemon
from alertd.web import workers
from alertd.web.workers import Restarts
from gateways.fake import FakeGateway
from tests.support.net import free_port


def test_a_death_waits_longer_each_time_then_gives_up_at_the_fifth_in_a_minute() -> None:
    restarts = Restarts()
    pauses = [restarts.died(t) for t in (0.0, 1.0, 2.0, 3.0)]
    assert pauses == [0.5, 1.0, 2.0, 4.0]
    assert restarts.died(4.0) is None


def test_deaths_a_minute_apart_never_give_up() -> None:
    restarts = Restarts()
    assert all(restarts.died(t * 61.0) == 0.5 for t in range(20))


def test_a_pause_is_capped() -> None:
    restarts = Restarts(max_deaths=100)
    assert [restarts.died(float(t)) for t in range(7)][-1] == workers.MAX_PAUSE_S


def test_a_page_process_is_told_no_secret() -> None:
    config = load_config({"ALERTD_OPERATOR_TOKEN": "secret-token"})
    told = workers.for_pages(config)
    assert told.operator.token == "" and told.gateways == ()
    assert told.signup == config.signup and told.database == config.database


@contextlib.asynccontextmanager
async def _watched(config: Config, pool: asyncpg.Pool) -> AsyncIterator[daemon.Watched]:
    async with workers.running(config, pool, 1) as pages:
        yield [pages.watch] if pages.watch else None


@pytest.mark.slow
async def test_a_page_process_that_keeps_dying_stops_serve_with_the_reason(
    config: Config, loaded: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page processes are told a database nobody answers on: each dies at start.
    monkeypatch.setattr(workers, "FIRST_PAUSE_S", 0.01)
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    pages = with_overrides(
        config, database={"url": unreachable}, serve={"signup_listen": "127.0.0.1:0"}
    )
    stop = asyncio.Event()
    with capture_logs() as logs:
        died = await asyncio.wait_for(
            daemon.serve(
                config,
                stop=stop,
                signals=False,
                gateways=[FakeGateway(receipts=False)],
                listeners=[lambda pool, gateways, index: _watched(pages, pool)],
            ),
            60,
        )
    assert died is not None
    assert "signup_workers" in died and "died 5 times" in died and "exit code 1" in died
    deaths = [e for e in logs if e["event"] == "signup.worker_died"]
    assert [e["exit_code"] for e in deaths] == [1] * workers.MAX_DEATHS
    assert deaths[-1]["restart_in_s"] is None
    assert any(e["event"] == "serve.task_died" for e in logs)
