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
from collections.abc import AsyncIterator, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

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
    """At most ``rate`` units a second over time, at most ``burst`` at once.

    ``share(part)`` narrows it, at run time, to a part of the contract (several processes share
    one gateway's contract); ``share(0)`` holds every request not yet gone until a part is given
    again, including those already waiting for their turn."""

    def __init__(self, rate: float, burst: float | None = None, clock: Clock | None = None) -> None:
        if rate < 0:
            raise ValueError("rate must be 0 (unlimited) or more")
        self.contract = rate
        self.rate = rate
        self._burst_given = burst
        self.burst = max(1.0, burst if burst is not None else rate / 10)
        self.clock = clock or SystemClock()
        self._tat = self.clock.now()  # theoretical arrival time of the next unit
        self._gone = self._tat  # the schedule's end for the units that went
        self.part = 1.0
        self._open = asyncio.Event()
        self._open.set()
        self._changed = asyncio.Event()  # set (and replaced) when the share changes

    def share(self, part: float) -> None:
        """Use ``part`` (0 to 1) of the contract from now on; 0: hold. The units waiting for
        their turn, booked at the old rate, are booked again at the new one, after those that
        went: a smaller share is kept from now (not after what was booked at the old rate, up
        to a window), a larger one used from now. No burst is built up while held."""
        part = min(1.0, max(0.0, part))
        if part == self.part:
            return
        self.part = part
        if part == 0:
            self._open.clear()
        else:
            if self.contract > 0:
                self.rate = self.contract * part
                given = self._burst_given
                self.burst = max(1.0, given * part if given is not None else self.rate / 10)
            self._open.set()
        self._tat = max(self._gone, self.clock.now())
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    @property
    def held(self) -> bool:
        return not self._open.is_set()

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
        while True:
            await self._open.wait()
            changed = self._changed
            wait = self.reserve(units)
            booked = self._tat
            if wait > 0:
                await self._sleep(wait, changed)
            if not changed.is_set():  # else the share changed meanwhile: booked again
                self._gone = max(self._gone, booked)
                return

    async def _sleep(self, seconds: float, changed: asyncio.Event) -> None:
        """Until the turn comes, or the share changes."""
        sleeping = asyncio.ensure_future(self.clock.sleep(seconds))
        waking = asyncio.ensure_future(changed.wait())
        try:
            await asyncio.wait({sleeping, waking}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in (sleeping, waking):
                future.cancel()


class Window:
    """At most ``size`` operations in flight; ``async with window.slot():``."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("window must be 1 or more")
        self.size = size
        self._free = asyncio.Semaphore(size)
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._free:
            self.in_flight += 1
            self._idle.clear()
            try:
                yield
            finally:
                self.in_flight -= 1
                if self.in_flight == 0:
                    self._idle.set()

    async def idle(self) -> None:
        """Return once nothing is in flight."""
        await self._idle.wait()


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

    def share(self, part: float) -> None:
        """This process's part of the gateway's rate (see RateLimiter.share)."""
        self.rate.share(part)

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

    def sleep(self, seconds: float) -> Coroutine[Any, Any, None]:
        # Time moves when the sleep is asked for, not when the task that sleeps first runs:
        # a sleep raced against an event (RateLimiter._sleep) runs in a task of its own.
        self.t += max(0.0, seconds)
        return asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.t += seconds
