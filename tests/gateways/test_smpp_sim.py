"""The project's SMSC simulator (alertd.tools.smsc_sim): its own process with --stats, as the
benchmark runs it, and its fault modes in-process."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from gateways.base import Message, Outcome
from gateways.smpp import SmppGateway

WAIT = 5.0


def gateway(port: int, name: str = "smsc", **options: object) -> SmppGateway:
    return SmppGateway(
        name, host="127.0.0.1", port=port, system_id="alertd", password="x",
        timeout=2.0, reconnect_min=0.05, **options,  # type: ignore[arg-type]
    )  # fmt: skip


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
        batch = [Message(f"d{i}", "+33612345678", "Alerte", 1) for i in range(20)]
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
