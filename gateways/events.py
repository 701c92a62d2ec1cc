"""The stream of events every adapter hands the daemon: delivery receipts and inbound messages,
published as they arrive and read through ``events()`` until the gateway closes.

Once closed, ``events()`` ends for every reader, one already waiting and a later one alike, and
``publish`` refuses (False): a webhook then answers 503 so that the provider tries again later,
to a daemon that is running. ``open()``, at a gateway's start, takes events again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gateways.base import Event


class EventQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()  # None: the end
        self.closed = False

    def open(self) -> None:
        """Take events again after a close; those not read yet are kept, in order."""
        if not self.closed:
            return
        self.closed = False
        waiting = [self._queue.get_nowait() for _ in range(self._queue.qsize())]
        for event in waiting:
            if event is not None:
                self._queue.put_nowait(event)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.put_nowait(None)

    def publish(self, event: Event) -> bool:
        """Queue an event; False when closed (it is not queued)."""
        if self.closed:
            return False
        self._queue.put_nowait(event)
        return True

    async def events(self) -> AsyncIterator[Event]:
        while True:
            event = await self._queue.get()
            if event is None:
                self._queue.put_nowait(None)  # every later reader ends too
                return
            yield event
