"""The simulator in a process of its own (its own CPU, as a real SMSC), for the benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path


@contextlib.asynccontextmanager
async def smsc_process(latency_ms: float, stats: Path | None = None) -> AsyncIterator[int]:
    """Start ``python -m alertd.tools.smsc_sim``; yields its port. Stopped by SIGTERM, on which it
    writes its counters (``stats``) a last time."""
    more = ["--stats", str(stats)] if stats is not None else []
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alertd.tools.smsc_sim",
        "--port",
        "0",
        "--latency-ms",
        str(latency_ms),
        *more,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None  # noqa: S101 - asked for above
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line.startswith(b"listening "):
            raise RuntimeError("the SMSC simulator (python -m alertd.tools.smsc_sim) did not start")
        yield int(line.split()[1])
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
