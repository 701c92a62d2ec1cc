"""Rate and window limits shared by every adapter, driven by a clock that tests can replace.

The rate limiter is a generic cell rate algorithm (a token bucket expressed as a theoretical
arrival time): each request for n segments is given, at the moment it asks, the instant from which
it may go, and the next request's instant moves on by n / rate. Requests are therefore served in
the order they ask (fair between concurrent senders), the long-run rate is exact (no drift from
sleep granularity: the schedule is kept in the limiter, not in the sleeps), and a burst is bounded
by ``burst`` segments. The window bounds how many submissions await the gateway's answer at once.
A `Pacer` holds both for one gateway: every adapter's submissions go through it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from gateways.base import Limits


class Clock(Protocol):
    def now(self) -> float:
        """Seconds, monotonic."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class RateLimiter:
    """At most ``rate`` units a second over time, at most ``burst`` at once."""

    def __init__(self, rate: float, burst: float | None = None, clock: Clock | None = None) -> None:
        if rate < 0:
            raise ValueError("rate must be 0 (unlimited) or more")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate / 10)
        self.clock = clock or SystemClock()
        self._tat = self.clock.now()  # theoretical arrival time of the next unit

    def reserve(self, units: float) -> float:
        """Book ``units`` now; returns how long to wait before using them (0: go)."""
        if self.rate == 0:
            return 0.0
        now = self.clock.now()
        tat = max(self._tat, now)
        allowed_at = tat - (self.burst - 1) / self.rate  # the burst is a tolerance on the schedule
        self._tat = tat + units / self.rate
        wait = allowed_at - now
        return wait if wait > 1e-9 else 0.0  # float noise is not a wait

    async def acquire(self, units: float = 1) -> None:
        wait = self.reserve(units)
        if wait > 0:
            await self.clock.sleep(wait)


class Window:
    """At most ``size`` operations in flight; ``async with window.slot():``."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("window must be 1 or more")
        self.size = size
        self._free = asyncio.Semaphore(size)
        self.in_flight = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._free:
            self.in_flight += 1
            try:
                yield
            finally:
                self.in_flight -= 1


class Pacer:
    """A gateway's contract kept: the rate, in segments, then a slot in the window."""

    def __init__(self, limits: Limits, clock: Clock) -> None:
        self.rate = RateLimiter(limits.rate, clock=clock)
        self.window = Window(limits.window)

    async def wait(self, segments: float) -> None:
        """The rate alone, for a submission sent in several parts (each in its own slot)."""
        await self.rate.acquire(segments)

    def slot(self) -> AbstractAsyncContextManager[None]:
        return self.window.slot()

    @asynccontextmanager
    async def turn(self, segments: float) -> AsyncIterator[None]:
        """Wait for the rate, then hold a window slot while the submission awaits its answer."""
        await self.rate.acquire(segments)
        async with self.window.slot():
            yield


class ManualClock:
    """A clock for tests: time moves only when someone sleeps (instantly) or calls advance().

    The rate limiter computes each wait from the current time, so concurrent sleepers move the
    clock to their own wake-up instants in turn, as a real clock would."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.t += seconds
