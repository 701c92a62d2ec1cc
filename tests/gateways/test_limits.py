"""Rate and window limits, on a clock the test drives (no test sleeps)."""

from __future__ import annotations

import asyncio

import pytest

from gateways.base import Limits, Outcome, SubmitResult
from gateways.breaker import CLOSED, HALF_OPEN, OPEN, Answer, CircuitBreaker, fault
from gateways.limits import ManualClock, Pacer, RateLimiter, Window


async def test_ten_thousand_at_500_per_second_take_twenty_seconds() -> None:
    clock = ManualClock()
    limiter = RateLimiter(500, clock=clock)
    start = clock.now()
    for _ in range(10_000):
        await limiter.acquire(1)
    elapsed = clock.now() - start
    assert 20.0 * 0.98 <= elapsed <= 20.0 * 1.02, elapsed


async def test_rate_is_counted_in_segments() -> None:
    clock = ManualClock()
    limiter = RateLimiter(100, burst=1, clock=clock)
    start = clock.now()
    for _ in range(100):
        await limiter.acquire(3)  # three-part messages
    assert clock.now() - start == pytest.approx(2.97, abs=0.01)


def test_bursts_are_bounded() -> None:
    clock = ManualClock()
    limiter = RateLimiter(500, burst=50, clock=clock)
    clock.advance(3600)  # idle for an hour: no credit beyond the burst
    waits = [limiter.reserve(1) for _ in range(60)]
    assert waits[:50] == [0.0] * 50
    assert all(w > 0 for w in waits[50:])
    assert waits[59] == pytest.approx(10 / 500)


def test_fair_between_concurrent_senders() -> None:
    clock = ManualClock()
    limiter = RateLimiter(10, burst=1, clock=clock)
    # Two senders asking in turn get instants in the order they asked, one interval apart.
    waits = [limiter.reserve(1) for _ in range(6)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


def test_unlimited_never_waits() -> None:
    limiter = RateLimiter(0, clock=ManualClock())
    assert {limiter.reserve(1_000) for _ in range(10)} == {0.0}


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(-1)
    with pytest.raises(ValueError, match="window"):
        Window(0)


async def test_window_bounds_what_is_in_flight() -> None:
    window = Window(3)
    gate = asyncio.Event()
    peak = 0

    async def work() -> None:
        nonlocal peak
        async with window.slot():
            peak = max(peak, window.in_flight)
            await gate.wait()

    tasks = [asyncio.create_task(work()) for _ in range(10)]
    await asyncio.sleep(0)
    assert window.in_flight == 3
    gate.set()
    await asyncio.gather(*tasks)
    assert (peak, window.in_flight) == (3, 0)


async def test_pacer_keeps_the_rate_then_the_window() -> None:
    clock = ManualClock()
    pacer = Pacer(Limits(rate=10, window=2), clock)
    gate = asyncio.Event()
    started: list[float] = []

    async def submit() -> None:
        async with pacer.turn(1):
            started.append(clock.now())
            await gate.wait()

    start = clock.now()
    tasks = [asyncio.create_task(submit()) for _ in range(4)]
    for _ in range(10):
        await asyncio.sleep(0)
    assert pacer.window.in_flight == 2  # the others have their instant, and wait for a slot
    gate.set()
    await asyncio.gather(*tasks)
    assert len(started) == 4 and pacer.window.in_flight == 0
    assert clock.now() - start >= 0.3 - 1e-9  # 4 segments at 10 a second, burst 1


def test_breaker_opens_after_failures_and_probes_after_cooldown() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(threshold=3, cooldown=30, clock=clock)
    for _ in range(2):
        breaker.failure()
    assert breaker.state == CLOSED and breaker.allow()
    breaker.failure()
    assert breaker.state == OPEN and not breaker.allow()
    clock.advance(30)
    assert breaker.state == HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.failure()
    assert breaker.state == OPEN
    clock.advance(30)
    assert breaker.allow()
    breaker.success()
    assert breaker.state == CLOSED and breaker.allow()


def test_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(threshold=3, clock=ManualClock())
    for _ in range(10):
        breaker.failure()
        breaker.failure()
        breaker.success()
    assert breaker.state == CLOSED


def test_breaker_records_answers_and_refuses_while_open() -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=30, clock=ManualClock())
    ok = Answer(SubmitResult.accepted("d1", "m1"), True)
    assert breaker.refusal("gw", "d1") is None
    assert breaker.record(ok, gateway="gw", ref="d1") is ok.result
    for ref in ("d2", "d3"):
        result = breaker.record(fault(ref, "timeout"), gateway="gw", ref=ref)
        assert (result.outcome, result.retry_after) == (Outcome.RETRY, 5.0)
    refused = breaker.refusal("gw", "d4")
    assert refused is not None and refused.reason == "gateway gw: circuit open"
    assert refused.retry_after == 30


async def test_a_share_of_the_rate_is_that_part_of_the_contract() -> None:
    clock = ManualClock()
    limiter = RateLimiter(500, clock=clock)
    limiter.share(0.5)  # two daemons on one contract
    start = clock.now()
    for _ in range(5_000):
        await limiter.acquire(1)
    assert clock.now() - start == pytest.approx(20.0, rel=0.02)


async def test_a_held_share_lets_nothing_go_until_a_part_is_given_again() -> None:
    limiter = RateLimiter(100, burst=1, clock=ManualClock())
    limiter.share(0)
    waiting = asyncio.create_task(limiter.acquire(1))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()
    limiter.share(0.25)
    await asyncio.wait_for(waiting, 1)
    assert limiter.rate == 25


async def test_a_request_booked_before_a_hold_does_not_go_until_the_next_share() -> None:
    clock = ManualClock()
    limiter = RateLimiter(10, burst=1, clock=clock)
    await limiter.acquire(1)  # the next one has to wait for its turn, 0.1 s on
    waiting = asyncio.create_task(limiter.acquire(1))
    await asyncio.sleep(0)  # it sleeps until its turn
    limiter.share(0)  # the lease ran out meanwhile
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()
    limiter.share(1)
    await asyncio.wait_for(waiting, 1)


async def test_a_window_says_when_nothing_is_in_flight() -> None:
    window = Window(2)
    async with window.slot():
        idle = asyncio.create_task(window.idle())
        await asyncio.sleep(0)
        assert not idle.done()
    await asyncio.wait_for(idle, 1)
