"""The leases on a gateway's shares, between daemons in this process on a real database: a
joiner waits for the others to shrink, a dead daemon's share is taken over once its lease has
expired (the database's clock moved on by the test), a daemon cut off from the database holds its
gateways when its own lease runs out, and one that stops gives its share back at once."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from argparse import Namespace

import asyncpg
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from alertd.cli.gateways import gateways_list
from alertd.config import Config
from alertd.config.gateways import parse_gateway
from alertd.delivery import metrics
from alertd.delivery.dispatch import Dispatcher, DispatchSettings, claim_size
from alertd.delivery.share_lease import HOLD_MARGIN_S, ShareLeases
from alertd.store.database import create_pool
from alertd.store.queries import queries
from gateways.base import Message
from gateways.fake import FakeGateway
from tests.gateways.test_smpp_sim import gateway, running
from tests.support.seed import seed_alert

LEASE_S = 3.0


def _daemon(pool: asyncpg.Pool, worker: str, clock: list[float] | None = None) -> ShareLeases:
    gateway = FakeGateway("contract", rate=500, window=8, receipts=False)
    now = clock or [0.0]
    return ShareLeases(pool, [gateway], worker=worker, lease_s=LEASE_S, clock=lambda: now[0])


def _gateway(leases: ShareLeases) -> FakeGateway:
    gateway = leases.gateways[0][1]
    assert isinstance(gateway, FakeGateway)
    return gateway


async def _parts(pool: asyncpg.Pool) -> dict[str, float]:
    return {r["worker"]: r["part"] for r in await pool.fetch(queries("shares")["shares"])}


async def test_a_joiner_takes_its_share_once_the_other_has_shrunk(pool: asyncpg.Pool) -> None:
    a, b = _daemon(pool, "host-a:1"), _daemon(pool, "host-b:2")
    for d in (a, b):
        await d.hold_all()
    await a.renew()
    assert a.in_force["contract"].part == 1.0
    await b.renew()
    assert b.held("contract")  # a still holds the whole contract
    assert _gateway(b).on_hold
    await a.renew()
    assert a.in_force["contract"].part == 0.5
    await b.renew()
    assert not _gateway(b).on_hold
    assert await _parts(pool) == {"host-a:1": 0.5, "host-b:2": 0.5}


async def test_a_dead_daemons_share_is_taken_over_once_its_lease_expired(
    pool: asyncpg.Pool,
) -> None:
    a, b = _daemon(pool, "host-a:1"), _daemon(pool, "host-b:2")
    for d in (a, b, a, b):
        await d.renew()
    # a is killed: it renews no more. Until its lease expires, b does not take its half.
    await b.renew()
    assert b.in_force["contract"].part == 0.5
    await pool.execute(  # the database's clock moves past a's lease
        "UPDATE gateway_shares SET expires_at = now() - interval '1 millisecond' "
        "WHERE worker = 'host-a:1'"
    )
    await b.renew()
    assert b.in_force["contract"].part == 1.0
    assert await _parts(pool) == {"host-b:2": 1.0}
    # and b's next renewal was planned for when a's lease ended, not a renewal period later
    assert "contract" not in b.others_end


async def test_a_daemon_cut_off_from_the_database_holds_when_its_lease_runs_out(
    config: Config,
) -> None:
    assert config.database.url is not None
    own = await create_pool(config.database.url, config.database)
    clock = [100.0]
    leases = _daemon(own, "host-a:1", clock)
    gateway = _gateway(leases)
    await leases.renew()
    assert not gateway.on_hold
    await own.close()  # the database out of reach
    clock[0] += LEASE_S - HOLD_MARGIN_S - 0.1
    await leases.renew()  # cannot renew: still within its lease, it goes on
    assert not gateway.on_hold
    clock[0] += 0.2
    await leases.hold_expired()
    assert gateway.on_hold
    sending = asyncio.create_task(gateway.submit([Message("1", "+33730000001", "Test", 1)]))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not sending.done()  # nothing leaves beyond a share it may no longer have
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending


async def test_a_daemon_that_stops_gives_its_share_back_at_once(pool: asyncpg.Pool) -> None:
    a, b = _daemon(pool, "host-a:1"), _daemon(pool, "host-b:2")
    for d in (a, b, a, b):
        await d.renew()
    stop = asyncio.Event()
    stop.set()
    await a.run(stop)  # stops at once: leaves
    assert _gateway(a).on_hold
    await b.renew()
    assert await _parts(pool) == {"host-b:2": 1.0}


async def test_a_daemon_claims_a_second_of_its_share_at_most(loaded: asyncpg.Pool) -> None:
    """Rows claimed are rows the other daemons cannot send: a daemon holding a third of the rate
    claims about a second of its own pace, not half a lease of the whole contract's."""
    settings = DispatchSettings(lease_s=60, concurrency=3)
    gateway = FakeGateway("contract", rate=500, window=64, receipts=False)
    alone = claim_size(settings, [gateway])
    third = claim_size(settings, [gateway], {"contract": 1 / 3})
    assert (alone, third) == (1000, 83)  # 500 segments/s, two a message: 250/s, a third: 83/s


async def test_a_daemon_without_a_share_claims_nothing(loaded: asyncpg.Pool) -> None:
    await seed_alert(loaded, 10)
    gateway = FakeGateway("contract", receipts=False)
    dispatcher = Dispatcher(loaded, [gateway], worker="host-b:2", parts=lambda: {"contract": 0.0})
    assert await dispatcher.step() == 0
    assert await loaded.fetchval("SELECT count(*) FROM deliveries WHERE status = 'queued'") == 10


async def test_gateways_list_shows_each_daemons_share(
    pool: asyncpg.Pool, config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = _daemon(pool, "host-a:1"), _daemon(pool, "host-b:2")
    for d in (a, b, a, b):
        await d.renew()
    contract = parse_gateway(
        "contract", {"kind": "fake", "rate": 500, "window": 8, "priority": 1}, {}
    )
    listed = dataclasses.replace(config, gateways=(contract,))
    assert await gateways_list(Namespace(json=True), listed) == 0
    [row] = json.loads(capsys.readouterr().out.splitlines()[-1])  # after the renewals' log
    assert [(s["worker"], s["rate"]) for s in row["shares"]] == [
        ("host-a:1", 250.0),
        ("host-b:2", 250.0),
    ]
    assert await gateways_list(Namespace(json=False), listed) == 0
    assert "host-a:1 250/s, host-b:2 250/s" in capsys.readouterr().out


async def test_the_metrics_show_each_daemons_share(pool: asyncpg.Pool) -> None:
    a, b = _daemon(pool, "host-a:1"), _daemon(pool, "host-b:2")
    for d in (a, b, a, b):
        await d.renew()
    figures = await metrics.read_figures(pool)
    assert figures.shares == {
        ("contract", "host-a:1"): (250.0, 0),
        ("contract", "host-b:2"): (250.0, 0),
    }
    registry = CollectorRegistry()
    registry.register(metrics.ScrapeCollector(figures, {}))
    text = generate_latest(registry).decode()
    assert 'alertd_gateway_share_rate{gateway="contract",worker="host-b:2"} 250.0' in text


async def test_binds_are_counted_by_the_leases_from_before_they_open_until_they_are_closed(
    pool: asyncpg.Pool,
) -> None:
    """Two daemons on an SMPP account of 4 binds (the SMSC simulator counts them): whatever the
    moment, the binds open are no more than the leases count, and those no more than 4."""
    async with running(latency=0.01) as (smsc, port):
        a_gateway, b_gateway = gateway(port, binds=4), gateway(port, binds=4)
        a = ShareLeases(pool, [a_gateway], worker="host-a:1", lease_s=LEASE_S)
        b = ShareLeases(pool, [b_gateway], worker="host-b:2", lease_s=LEASE_S)

        async def counted() -> int:
            rows = await pool.fetch(queries("shares")["shares"])
            total = sum(r["binds"] for r in rows)
            assert smsc.stats["binds"] <= total <= 4
            return total

        try:
            for d, g in ((a, a_gateway), (b, b_gateway)):
                await d.hold_all()
                await d.renew()
                await g.start()
            assert smsc.stats["binds"] == 4  # a alone so far
            for d in (a, b, a, b, a, b):
                await d.renew()
                await counted()
                await asyncio.gather(*d._enacting)
                await counted()
            assert (a.open_binds["smsc"], b.open_binds["smsc"]) == (2, 2)
            assert smsc.stats["binds"] == 4
        finally:
            for d, g in ((a, a_gateway), (b, b_gateway)):
                await d.leave()
                await g.close()


async def test_a_lease_is_not_written_when_the_others_grew_since_they_were_read(
    pool: asyncpg.Pool,
) -> None:
    put = queries("shares")["put"]
    # b read nothing in force and decided the whole contract; meanwhile a took half of it.
    assert await pool.fetchval(put, "contract", "host-a:1", 0.5, 0, 500.0, 0, LEASE_S, 0.0, 0)
    assert not await pool.fetchval(put, "contract", "host-b:2", 1.0, 0, 500.0, 0, LEASE_S, 0.0, 0)
    assert await pool.fetchval(put, "contract", "host-b:2", 0.5, 0, 500.0, 0, LEASE_S, 0.5, 0)
    assert await _parts(pool) == {"host-a:1": 0.5, "host-b:2": 0.5}
