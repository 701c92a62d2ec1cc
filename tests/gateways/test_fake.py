"""The fake gateway: the shared contract, and the faults it can play."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateways.base import Gateway, Message, Outcome, Receipt, ReceiptStatus
from gateways.fake import FakeGateway
from gateways.limits import ManualClock
from tests.support.gateway_contract import GOOD, UNALLOCATED, GatewayContract, next_events


class TestFakeContract(GatewayContract):
    @pytest.fixture
    async def gateway(self) -> AsyncIterator[Gateway]:
        fake = FakeGateway(reject_numbers=frozenset({UNALLOCATED}))
        await fake.start()
        yield fake
        await fake.close()

    async def inject_inbound(self, gateway: Gateway, sender: str, text: str) -> None:
        assert isinstance(gateway, FakeGateway)
        gateway.inject_inbound(sender, text)


def messages(n: int, segments: int = 1) -> list[Message]:
    return [Message(f"d{i}", f"+3361{i:07d}", "Alerte", segments) for i in range(n)]


async def test_records_what_it_accepted() -> None:
    fake = FakeGateway()
    await fake.submit(messages(5))
    assert [m.ref for m in fake.received] == ["d0", "d1", "d2", "d3", "d4"]


async def test_rate_in_segments_on_a_driven_clock() -> None:
    clock = ManualClock()
    fake = FakeGateway(rate=100, clock=clock)
    start = clock.now()
    await fake.submit(messages(50, segments=2))
    # 100 segments at 100/s: the last message leaves after 1 s, less the burst tolerance
    # (10 segments) and its own 2-segment interval.
    assert clock.now() - start == pytest.approx(1.0 - 0.09 - 0.02, abs=1e-6)


async def test_outage_then_recovery_and_the_breaker() -> None:
    clock = ManualClock()
    fake = FakeGateway(clock=clock)
    fake.breaker.clock = clock
    fake.outage = True
    results = await fake.submit(messages(5))
    assert {r.outcome for r in results} == {Outcome.RETRY}
    assert all(r.retry_after and "outage" in (r.reason or "") for r in results)
    assert fake.health() == "open"
    fake.outage = False
    clock.advance(31)
    assert fake.health() == "half_open"
    [ok] = await fake.submit(messages(1))
    assert ok.outcome is Outcome.ACCEPTED and fake.health() == "closed"


async def test_throttling_and_errors_are_temporary() -> None:
    fake = FakeGateway(throttle_rate=0.2, error_rate=0.2, seed=7)
    results = await fake.submit(messages(1_000))
    outcomes = [r.outcome for r in results]
    assert 300 < outcomes.count(Outcome.RETRY) < 500
    assert outcomes.count(Outcome.REJECTED) == 0
    assert len(fake.received) == outcomes.count(Outcome.ACCEPTED)


async def test_failed_receipt_for_an_absent_subscriber() -> None:
    fake = FakeGateway(fail_numbers=frozenset({GOOD}))
    await fake.submit([Message("d1", GOOD, "Alerte", 1)])
    [receipt] = await next_events(fake, 1)
    assert isinstance(receipt, Receipt)
    assert receipt.status is ReceiptStatus.FAILED and receipt.error


async def test_a_hanging_gateway_answers_when_closed() -> None:
    import asyncio

    fake = FakeGateway()
    fake.hang = True
    pending = asyncio.create_task(fake.submit(messages(2)))
    await asyncio.sleep(0)
    assert not pending.done()
    await fake.close()
    results = await asyncio.wait_for(pending, 5)
    assert {r.outcome for r in results} == {Outcome.RETRY}
