"""``alertd serve`` inside a benchmark's own process: the daemon with one fake gateway and the
listener the benchmark measures, yielded once the subscriber index is loaded."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence

import asyncpg

from alertd.config import Config
from alertd.delivery import daemon, live_index
from gateways.base import Gateway
from gateways.fake import FakeGateway

Listener = daemon.Listener


@contextlib.asynccontextmanager
async def serving(
    config: Config, listener: Listener, *, ready_timeout_s: float
) -> AsyncIterator[tuple[live_index.LiveIndex, FakeGateway]]:
    """The daemon runs ``listener`` as serve runs its listeners; the index is the one the
    daemon handed it."""
    gateway = FakeGateway("bench")
    held: list[live_index.LiveIndex] = []

    def watched(
        pool: asyncpg.Pool, gateways: Sequence[Gateway], index: live_index.LiveIndex
    ) -> contextlib.AbstractAsyncContextManager[daemon.Watched]:
        held.append(index)
        return listener(pool, gateways, index)

    stop = asyncio.Event()
    gateways: list[Gateway] = [gateway]
    task = asyncio.create_task(
        daemon.serve(config, stop=stop, signals=False, gateways=gateways, listeners=[watched])
    )
    try:
        deadline = time.monotonic() + ready_timeout_s
        while not (held and held[0].ready):
            if task.done():
                raise RuntimeError(f"the daemon stopped: {task.result()}")
            if time.monotonic() > deadline:
                raise RuntimeError("the daemon's index did not load in time")
            await asyncio.sleep(0.05)
        yield held[0], gateway
    finally:
        stop.set()
        await task
