"""A bind's pause after the SMSC throttled it (ESME_RTHROTTLED, ESME_RMSGQFUL): submissions wait
until the pause is over, then go on in the order they first queued (their ticket): the throttled
ones, which keep their ticket, before those that came after them. One pause for the bind, not a
back-off per message: a throttle answer while paused extends the pause, never doubles it."""

from __future__ import annotations

import asyncio
import itertools

from gateways.limits import Clock


class Gate:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.until = 0.0
        self.pauses = 0
        self._tickets = itertools.count()
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []
        self._timer: asyncio.Task[None] | None = None

    def ticket(self) -> int:
        return next(self._tickets)

    @property
    def paused(self) -> bool:
        return self.clock.now() < self.until

    def pause(self, seconds: float) -> None:
        if not self.paused:
            self.pauses += 1
        self.until = max(self.until, self.clock.now() + seconds)
        if self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._wake())

    async def enter(self, ticket: int) -> None:
        """Return at once when open and nobody waits; else wait for the end of the pause and
        for every earlier ticket."""
        if not self.paused and not self._waiting:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((ticket, future))
        if self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._wake())
        await future

    async def _wake(self) -> None:
        while self.paused:
            await self.clock.sleep(self.until - self.clock.now())
        waiting, self._waiting = sorted(self._waiting, key=lambda w: w[0]), []
        for _ticket, future in waiting:  # resumed in this order: the callbacks run in turn
            if not future.done():
                future.set_result(None)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for _ticket, future in self._waiting:
            if not future.done():
                future.set_result(None)
        self._waiting.clear()
