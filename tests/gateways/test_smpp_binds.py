"""Issue 13, cases 1 and 7: a gateway is a pool of binds; the connection (one breaker failure
per lost connection, no bind storm, never-written is a plain retry, a link that dies right after
the bind comes back, a refused bind says so). Against the project's SMSC simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateways.base import Gateway, Limits, Outcome, Receipt, Share
from gateways.breaker import CircuitBreaker
from gateways.smpp import bodies
from tests.gateways.test_smpp_sim import WAIT, msg, running, started, until
from tests.support.gateway_contract import GatewayContract, next_events


async def test_a_gateway_is_a_pool_of_binds_each_with_its_window() -> None:
    async with (
        running(latency=0.02, receipts=True) as (smsc, port),
        started(port, binds=3, window=4, rate=100) as g,
    ):
        assert g.limits == Limits(rate=300, window=12)  # what the dispatcher sees: the whole
        results = await g.submit([msg(i) for i in range(60)])
        assert {r.outcome for r in results} == {Outcome.ACCEPTED}
        assert smsc.stats["binds_max"] == 3
        assert smsc.stats["outstanding_max_per_bind"] == 4  # every window full, never more
        per_bind = [sum(1 for s in smsc.submits if s.bind == b) for b in range(3)]
        assert min(per_bind) >= 15, per_bind  # spread over the binds, least loaded first
        # receipts come on every bind, in turn, and all match the gateway's ids
        events = await next_events(g, 60)
        assert {e.message_id for e in events if isinstance(e, Receipt)} == {
            r.message_id for r in results
        }


async def test_a_bind_that_fails_leaves_the_others_sending() -> None:
    async with running() as (smsc, port), started(port, binds=2, window=2, reconnect_min=0.3) as g:
        smsc.conns[0].writer.transport.abort()
        await until(lambda: not g.pool.binds[0].up, "bind 0 seen down")
        results = await g.submit([msg(i) for i in range(4)])
        assert {r.outcome for r in results} == {Outcome.ACCEPTED}
        assert all(s.bind == 1 for s in smsc.submits)  # the bind that was up
        await until(lambda: g.pool.binds[0].up, "bind 0 reconnected on its own")
        assert smsc.stats["binds_total"] == 3


async def test_one_dropped_connection_is_one_breaker_failure() -> None:
    breaker = CircuitBreaker(threshold=2)
    async with running(hold=True) as (smsc, port), started(port, window=8, breaker=breaker) as g:
        sending = asyncio.create_task(g.submit([msg(i) for i in range(6)]))
        await until(lambda: len(smsc.submits) == 6, "six submits outstanding")
        smsc.cut()
        results = await asyncio.wait_for(sending, WAIT)
        assert [r.outcome for r in results] == [Outcome.IN_DOUBT] * 6
        assert g.health() == "closed"  # one failure for the connection, not six


async def test_no_link_is_a_plain_retry_and_one_bind_attempt_at_a_time() -> None:
    options = {"window": 50, "timeout": 0.5, "reconnect_min": 0.2}
    async with running() as (smsc, port), started(port, **options) as g:
        smsc.faults.close_after_bind = True  # every bind from now on dies at once
        smsc.cut()
        await until(lambda: not g.pool.binds[0].up, "seen down")
        before = g.session.bind_attempts
        results = await g.submit([msg(i) for i in range(50)])
        assert {r.outcome for r in results} == {Outcome.RETRY}  # never written: not in doubt
        assert g.session.bind_attempts - before <= 3  # no bind storm (it was 50)


async def test_unbind_in_the_same_read_as_bind_resp_gets_a_link_that_comes_back() -> None:
    async with running() as (smsc, port), started(port, reconnect_min=0.02) as g:
        smsc.faults.unbind_after_bind = True
        smsc.cut()
        await until(lambda: smsc.stats["binds_total"] >= 3, "bound and unbound again")
        smsc.faults.unbind_after_bind = False

        async def accepted() -> bool:
            [result] = await g.submit([msg()])
            return result.outcome is Outcome.ACCEPTED

        await until(accepted, "the link came back")


class TestSmppPoolContract(GatewayContract):
    """The shared contract, for a pool of two transmitter+receiver binds on the simulator."""

    @pytest.fixture
    async def gateway(self) -> AsyncIterator[Gateway]:
        faults = {"receipts": True, "status_by_destination": {"33699999999": 0x0B}}
        options = {"binds": 2, "bind": "transmitter+receiver"}
        async with running(**faults) as (smsc, port), started(port, **options) as g:
            self.smsc = smsc
            yield g

    async def inject_inbound(self, gateway: Gateway, sender: str, text: str) -> None:
        receiver = next(c for c in self.smsc.conns if c.kind == "receiver")
        body = bodies.ShortMessage(
            destination_addr="MAIRIE", source_addr=sender.removeprefix("+"), source_addr_ton=1,
            short_message=text.encode("ascii"),
        )  # fmt: skip
        assert await self.smsc.deliver(receiver, body) == 0


async def test_a_share_of_the_binds_closes_the_others_after_their_answers() -> None:
    """Issue 18: ``binds = 4`` is the account's; a daemon holds the binds of its share only."""
    async with running(latency=0.02) as (smsc, port), started(port, binds=4, window=4) as g:
        assert smsc.stats["binds"] == 4
        sending = asyncio.create_task(g.submit([msg(i) for i in range(16)]))
        await until(lambda: len(smsc.submits) > 0, "messages on their way")
        await g.share(Share(0.5, 2))  # a second daemon joined
        assert smsc.stats["binds"] == 2
        results = await asyncio.wait_for(sending, WAIT)
        assert {r.outcome for r in results} == {Outcome.ACCEPTED}  # none lost on the way
        more = await g.submit([msg(i) for i in range(16, 24)])
        assert {r.outcome for r in more} == {Outcome.ACCEPTED}
        assert len({s.bind for s in smsc.submits[-8:]}) == 2  # over the binds it holds
        assert smsc.stats["binds_max"] == 4
        await g.share(Share(0.0, 0))  # the lease ran out: nothing open, nothing sent
        assert smsc.stats["binds"] == 0
        held = asyncio.create_task(g.submit([msg(99)]))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not held.done()
        await g.share(Share(1.0, 4))  # the others are gone
        await until(lambda: smsc.stats["binds"] == 4, "four binds again")
        assert [r.outcome for r in await asyncio.wait_for(held, WAIT)] == [Outcome.ACCEPTED]
