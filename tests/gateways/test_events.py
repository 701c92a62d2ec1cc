"""The event queue every adapter hands the daemon: order, the end at close, a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from gateways.base import Event, Inbound
from gateways.events import EventQueue


def inbound(text: str) -> Inbound:
    return Inbound("gw", "+33612345678", None, text, datetime.now(UTC))


async def read_all(queue: EventQueue) -> list[Event]:
    return [event async for event in queue.events()]


async def test_events_come_in_order_until_close_for_every_reader() -> None:
    queue = EventQueue()
    waiting = asyncio.create_task(read_all(queue))
    for text in ("STOP", "OUI", "NON"):
        assert queue.publish(inbound(text))
    queue.close()
    events = await asyncio.wait_for(waiting, 5)
    assert [e.text for e in events if isinstance(e, Inbound)] == ["STOP", "OUI", "NON"]
    assert await asyncio.wait_for(read_all(queue), 5) == []  # a later reader ends too


async def test_closed_queue_refuses_events_and_a_restart_keeps_the_unread() -> None:
    queue = EventQueue()
    queue.publish(inbound("unread"))
    queue.close()
    assert not queue.publish(inbound("too late"))
    queue.open()
    assert queue.publish(inbound("after the restart"))
    queue.close()
    events = await asyncio.wait_for(read_all(queue), 5)
    assert [e.text for e in events if isinstance(e, Inbound)] == ["unread", "after the restart"]
