"""A bind's pause after the SMSC throttled it (ESME_RTHROTTLED, ESME_RMSGQFUL).

Submissions wait until the pause is over; then one goes alone (the probe: the earliest ticket,
usually the throttled message itself), and once it has an answer other than a throttle, the
rest go on in the order they first queued (their ticket). One pause for the bind, not a back-off
per message: a throttle answer while paused extends the pause, never doubles it, and a burst of
messages is not thrown at an SMSC that has just said it is full."""

from __future__ import annotations

import asyncio
import itertools

from gateways.limits import Clock


class Gate:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.until = 0.0
        self.pauses = 0
        self.probe: int | None = None  # the ticket sent alone after a pause
        self._tickets = itertools.count()
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []
        self._timer: asyncio.Task[None] | None = None

    def ticket(self) -> int:
        return next(self._tickets)

    @property
    def paused(self) -> bool:
        return self.clock.now() < self.until

    def may_send(self, ticket: int) -> bool:
        return not self.paused and self.probe in (None, ticket)

    def pause(self, seconds: float) -> None:
        if not self.paused:
            self.pauses += 1
        self.until = max(self.until, self.clock.now() + seconds)
        self._arm()

    def _arm(self) -> None:
        if self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._wake())

    async def enter(self, ticket: int) -> None:
        """Return at once when open and nobody waits; else wait for the end of the pause, the
        probe's answer and every earlier ticket."""
        if self.may_send(ticket) and (self.probe == ticket or not self._waiting):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((ticket, future))
        self._waiting.sort(key=lambda w: w[0])
        if self.probe is None:
            self._arm()
        await future

    def answered(self, ticket: int) -> None:
        """A submission had an answer other than a throttle: after the probe's, all go on."""
        if self.probe == ticket:
            self.probe = None
            self._release(len(self._waiting))

    async def _wake(self) -> None:
        while self.paused:
            await self.clock.sleep(self.until - self.clock.now())
        if self._waiting:  # a new probe, whatever became of an earlier one
            self.probe = self._waiting[0][0]
            self._release(1)

    def _release(self, count: int) -> None:
        released, self._waiting = self._waiting[:count], self._waiting[count:]
        for _ticket, future in released:  # resumed in this order: the callbacks run in turn
            if not future.done():
                future.set_result(None)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.probe = None
        self._release(len(self._waiting))
