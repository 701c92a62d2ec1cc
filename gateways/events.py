"""The stream of events every adapter hands the daemon: delivery receipts and inbound messages,
published as they arrive and read through ``events()`` until the gateway closes.

Nothing a provider sends is acknowledged before it is stored. An adapter hands an event over
with ``await deliver(event)``: it returns True only once the reader (the daemon's consumer) has
committed it to the database and called ``settle(event, True)``; False when the gateway is
closed, when the reader could not store it (``settle(event, False)``), or after
``ACK_TIMEOUT_S``.
On False the adapter tells the provider to send it again (a webhook answers 5xx, SMPP answers
``deliver_sm_resp`` with an error, OVH keeps the incoming message to poll again). A reader that
dies or a daemon killed between receipt and commit thus loses nothing the provider will not
resend; the daemon's side is idempotent (a receipt applied twice changes nothing, a second STOP
is not confirmed twice).

``publish`` is the same hand-over without the wait, for events nobody needs to confirm (the
in-process fake gateway).

Once closed, ``events()`` ends for every reader, one already waiting and a later one alike;
``publish`` refuses (False) and ``deliver`` answers False at once, those still waiting included:
a webhook then answers 503 so that the provider tries again later, to a daemon that is running.
``open()``, at a gateway's start, takes events again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import http_exceptions, web

from gateways.base import Event

ACK_TIMEOUT_S = 10.0  # under Twilio's 15 s webhook timeout: we answer before it gives up

# Events handed over with deliver() and not settled yet, by identity: the reader settles the
# very object it was given. Module-wide, since the reader sees events, not the queue they came by.
_waiting: dict[int, tuple[Event, asyncio.Future[bool]]] = {}


def settle(event: Event, stored: bool) -> None:
    """The reader's word on an event: stored (committed) or not. No-op for a published one."""
    entry = _waiting.get(id(event))
    if entry is not None and entry[0] is event and not entry[1].done():
        entry[1].set_result(stored)


class EventQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()  # None: the end
        self._delivering: set[asyncio.Future[bool]] = set()
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
        for future in self._delivering:  # the provider is told at once to send it again
            if not future.done():
                future.set_result(False)

    def publish(self, event: Event) -> bool:
        """Queue an event; False when closed (it is not queued)."""
        if self.closed:
            return False
        self._queue.put_nowait(event)
        return True

    async def deliver(self, event: Event) -> bool:
        """Queue an event and wait, at most ACK_TIMEOUT_S, until the reader has stored it (see
        the module's doc)."""
        if self.closed:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        _waiting[id(event)] = (event, future)
        self._delivering.add(future)
        try:
            self._queue.put_nowait(event)
            return await asyncio.wait_for(future, ACK_TIMEOUT_S)
        except TimeoutError:
            return False
        finally:
            self._delivering.discard(future)
            if _waiting.get(id(event), (None,))[0] is event:
                del _waiting[id(event)]

    async def events(self) -> AsyncIterator[Event]:
        while True:
            event = await self._queue.get()
            if event is None:
                self._queue.put_nowait(None)  # every later reader ends too
                return
            yield event


async def form_of(request: web.Request) -> list[tuple[str, str]]:
    """A webhook's POSTed form fields, in order (a signature may cover repeated ones); a body
    that cannot be read (invalid UTF-8, an unknown charset, a broken multipart) is the sender's
    fault: 400, never a 500."""
    try:
        form = await request.post()
    except (ValueError, LookupError, AssertionError, http_exceptions.HttpProcessingError) as exc:
        raise web.HTTPBadRequest(text=f"unreadable body: {type(exc).__name__}") from None
    return [(k, v) for k, v in form.items() if isinstance(v, str)]
