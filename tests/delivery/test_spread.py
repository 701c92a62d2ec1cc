"""First attempts spread over the gateways of the same priority, by free capacity and weight."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from alertd.config import Config, load_config, with_overrides
from alertd.config.gateways import parse_gateway
from alertd.delivery import daemon, outbox
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from alertd.delivery.spread import pace, shares, tiers
from alertd.errors import ConfigError
from gateways.base import Limits
from gateways.fake import FakeGateway
from tests.support.seed import seed_alert

N = 800


def smscs(count: int) -> list[FakeGateway]:
    """Four binds' worth of one operator: same latency, same window."""
    return [FakeGateway(f"smsc{i}", latency=0.005, window=20, receipts=False) for i in range(count)]


def test_shares_follow_capacity_and_backlog() -> None:
    assert shares(1000, [1.0] * 4, [0] * 4) == [250] * 4
    assert shares(1000, [2.0, 1.0, 1.0], [0, 0, 0]) == [500, 250, 250]
    assert shares(10, [1.0, 1.0], [10, 0]) == [0, 10]  # the busy one gets none until it drains
    assert shares(7, [5.0], [100]) == [7]
    assert pace(Limits(rate=0, window=50)) == 200.0  # 50 per assumed 0.25 s round trip
    assert pace(Limits(rate=100, window=50)) == 50.0  # 100 segments/s, two per message


def test_tiers_group_by_priority_and_skip_open_circuits() -> None:
    a, b, c = FakeGateway("a"), FakeGateway("b"), FakeGateway("c")
    assert [[g.name for g in t] for t in tiers([a, b, c], {"a": 1, "b": 1, "c": 2})] == [
        ["a", "b"],
        ["c"],
    ]
    assert [[g.name for g in t] for t in tiers([a, b, c], None)] == [["a"], ["b"], ["c"]]
    for _ in range(a.breaker.threshold):
        a.breaker.failure()
    assert [[g.name for g in t] for t in tiers([a, b, c], {"a": 1, "b": 1, "c": 2})] == [
        ["b"],
        ["c"],
    ]


async def test_four_gateways_of_one_priority_each_take_about_a_quarter(
    loaded: asyncpg.Pool,
) -> None:
    await seed_alert(loaded, N)
    gateways = smscs(4)
    dispatcher = Dispatcher(loaded, gateways, worker="w1", priorities={g.name: 1 for g in gateways})
    assert await dispatcher.drain() == N
    counts = [len(g.received) for g in gateways]
    assert all(N / 4 * 0.8 <= c <= N / 4 * 1.2 for c in counts), counts
    phones = [m.to for g in gateways for m in g.received]
    assert len(phones) == len(set(phones)) == N


async def test_weights_are_honoured(loaded: asyncpg.Pool) -> None:
    await seed_alert(loaded, N)
    gateways = smscs(3)
    dispatcher = Dispatcher(
        loaded,
        gateways,
        worker="w1",
        priorities={g.name: 1 for g in gateways},
        weights={"smsc0": 2.0},
    )
    assert await dispatcher.drain() == N
    counts = [len(g.received) for g in gateways]
    assert N / 2 * 0.8 <= counts[0] <= N / 2 * 1.2, counts  # twice the share of each other
    assert all(N / 4 * 0.8 <= c <= N / 4 * 1.2 for c in counts[1:]), counts


async def test_a_gateway_whose_circuit_is_open_gets_none(loaded: asyncpg.Pool) -> None:
    await seed_alert(loaded, N)
    gateways = smscs(4)
    gateways[1].outage = True
    gateways[1].breaker.threshold = 1
    gateways[1].breaker.failure()  # open
    dispatcher = Dispatcher(loaded, gateways, worker="w1", priorities={g.name: 1 for g in gateways})
    assert await dispatcher.drain() == N
    counts = [len(g.received) for g in gateways]
    assert counts[1] == 0
    assert all(N / 3 * 0.8 <= c <= N / 3 * 1.2 for c in counts[:1] + counts[2:]), counts


async def test_failover_still_goes_to_the_next_priority(loaded: asyncpg.Pool) -> None:
    await seed_alert(loaded, 300)
    first = smscs(2)
    for gateway in first:
        gateway.outage = True
        gateway.breaker.threshold = 1
    backup = FakeGateway("backup", receipts=False)
    settings = DispatchSettings(backoff_base_s=0.0, backoff_max_s=0.0)
    dispatcher = Dispatcher(
        loaded,
        [*first, backup],
        worker="w1",
        settings=settings,
        priorities={"smsc0": 1, "smsc1": 1, "backup": 2},
    )
    while await dispatcher.drain():
        pass
    assert len({m.to for m in backup.received}) == len(backup.received) == 300
    assert [len(g.received) for g in first] == [0, 0]


def test_weight_is_read_from_the_gateway_table() -> None:
    assert parse_gateway("a", {"kind": "fake", "weight": 2}, {}).weight == 2.0
    assert parse_gateway("a", {"kind": "fake"}, {}).weight == 1.0
    with pytest.raises(ConfigError, match=r"gateways\.a: weight must be between 0.01 and 1000"):
        parse_gateway("a", {"kind": "fake", "weight": 0}, {})


TWO_OF_ONE_PRIORITY = """
[gateways.big]
kind = "fake"
latency = 0.005
weight = 3
[gateways.small]
kind = "fake"
latency = 0.005
"""


async def test_the_daemon_spreads_over_the_configured_priorities_and_weights(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    alert_id = await seed_alert(loaded, 400)
    toml = tmp_path / "alertd.toml"
    toml.write_text(TWO_OF_ONE_PRIORITY)
    assert config.database.url is not None
    cfg = load_config({"DATABASE_URL": config.database.url}, toml)
    cfg = with_overrides(cfg, database={"pool_min": 1, "pool_max": 4})
    stop = asyncio.Event()
    task = asyncio.create_task(
        daemon.run(
            cfg,
            stop=stop,
            signals=False,
            settings=DispatchSettings(idle_s=0.05),
            allow_fake=True,
        )
    )

    async def sent() -> None:
        counts = await outbox.progress(loaded, alert_id)
        while counts.get("delivered") != 400:
            await asyncio.sleep(0.05)  # the daemon's progress, bounded by wait_for
            counts = await outbox.progress(loaded, alert_id)

    await asyncio.wait_for(sent(), 30)
    stop.set()
    assert await asyncio.wait_for(task, 30) == 0
    rows = await loaded.fetch("SELECT gateway, count(*) AS n FROM deliveries GROUP BY gateway")
    counts = {r["gateway"]: r["n"] for r in rows}
    assert 400 * 0.75 * 0.8 <= counts["big"] <= 400 * 0.75 * 1.2, counts  # three shares of four
    assert counts["big"] + counts["small"] == 400
