"""The project's SMSC simulator (alertd.tools.smsc_sim): its own process with --stats, as the
benchmark runs it; and the helpers the other SMPP test files share to run it in-process."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alertd.tools.smsc_sim import Faults, Smsc
from gateways.base import Message, Outcome
from gateways.smpp import SmppGateway

WAIT = 5.0


def gateway(port: int, name: str = "smsc", **options: Any) -> SmppGateway:
    options.setdefault("timeout", 2.0)
    options.setdefault("reconnect_min", 0.02)
    options.setdefault("reconnect_max", 0.1)
    options.setdefault("unbind_wait", 0.5)
    return SmppGateway(
        name, host="127.0.0.1", port=port, system_id="alertd", password="x", sender="MAIRIE",
        **options,
    )  # fmt: skip


@asynccontextmanager
async def running(**faults: Any) -> AsyncIterator[tuple[Smsc, int]]:
    smsc = Smsc(Faults(**faults))
    port = await smsc.start()
    try:
        yield smsc, port
    finally:
        await smsc.stop()


@asynccontextmanager
async def started(port: int, **options: Any) -> AsyncIterator[SmppGateway]:
    g = gateway(port, **options)
    await g.start()
    try:
        yield g
    finally:
        await g.close()


def msg(i: int = 0, text: str = "Alerte crue", **kw: Any) -> Message:
    return Message(f"d{i}", f"+336120{i:05d}", text, kw.pop("segments", 1), **kw)


async def until(check: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Wait, without sleeping for nothing, until ``check`` holds (polled every 10 ms)."""
    async with asyncio.timeout(WAIT):
        while True:
            value = check()
            if value if isinstance(value, bool) else await value:
                return
            await asyncio.sleep(0.01)
    raise AssertionError(what)


async def test_the_process_prints_its_port_and_writes_its_stats(tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alertd.tools.smsc_sim", "--port", "0", "--latency-ms", "20",
        "--stats", str(stats), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.startswith(b"listening ")
        port = int(line.split()[1])
        gateways = [gateway(port, f"g{i}", window=5) for i in range(2)]
        for g in gateways:
            await g.start()
        batch = [msg(i) for i in range(20)]
        results = await asyncio.gather(*(g.submit(batch) for g in gateways))
        assert {r.outcome for rs in results for r in rs} == {Outcome.ACCEPTED}
        for g in gateways:
            await g.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    figures = json.loads(stats.read_text())
    assert figures["submit_sm"] == 40
    assert figures["binds_max"] == 2
    # 20 ms of latency, 20 messages, a window of 5: the window was full, and never more
    assert figures["outstanding_max_per_bind"] == 5


async def test_a_bind_limit_refuses_the_binds_beyond_it() -> None:
    async with running(max_binds=2) as (smsc, port), started(port, binds=3) as g:
        assert smsc.stats["binds_max"] == 2
        assert smsc.stats["binds_refused"] >= 1
        results = await g.submit([msg(i) for i in range(6)])
        assert {r.outcome for r in results} == {Outcome.ACCEPTED}
        assert {s.bind for s in smsc.submits} <= {c.index for c in smsc.conns if c.kind}
