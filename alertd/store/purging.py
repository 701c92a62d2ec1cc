"""Old rows forgotten on a timer, while a block runs: at once, then every ``every_s``. A
database that fails a turn is logged and tried at the next one; the task is yielded, for the
daemon to watch."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from alertd.logs import get_logger
from alertd.store.lost import DATABASE_FAILED

log = get_logger(__name__)
HOUR_S = 3600.0


@contextlib.asynccontextmanager
async def purging(
    name: str,
    purge: Callable[[], Awaitable[int]],
    *,
    purged: str,
    failed: str,
    counted: str = "rows",
    every_s: float = HOUR_S,
) -> AsyncIterator[asyncio.Task[None]]:
    """``purge`` returns how many it removed (logged as ``purged``, that many ``counted``, when
    some were); ``failed``: the event of a turn the database refused."""

    async def loop() -> None:
        while True:
            try:
                removed = await purge()
                if removed:
                    log.info(purged, **{counted: removed})
            except DATABASE_FAILED as exc:
                log.warning(failed, error=str(exc))
            await asyncio.sleep(every_s)

    task = asyncio.create_task(loop(), name=name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
