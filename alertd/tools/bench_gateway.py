"""Gateway benchmarks: the rate limiter against the wall clock, through the fake gateway.

``alertd bench ratelimit``: N one-segment messages submitted by several concurrent senders to a
fake gateway limited to R segments a second; the baseline is the contract itself, N / R seconds.
It prints the elapsed time, the achieved rate and its share of the contract, and how evenly the
senders were served.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alertd.tools.smsc_sim.process import smsc_process
from gateways.base import Gateway, Message, Outcome
from gateways.fake import FakeGateway
from gateways.http_twilio import TwilioGateway
from gateways.smpp import SmppGateway


async def _sender(gateway: FakeGateway, name: str, count: int, batch: int) -> int:
    sent = 0
    for start in range(0, count, batch):
        chunk = [
            Message(f"{name}-{i}", f"+3373{i:07d}", "Test", 1)
            for i in range(start, min(start + batch, count))
        ]
        sent += len(await gateway.submit(chunk))
    return sent


async def ratelimit_benchmark(
    messages: int, rate: float, senders: int = 4, batch: int = 100
) -> dict[str, Any]:
    gateway = FakeGateway("bench", rate=rate, window=max(64, batch), receipts=False)
    await gateway.start()
    share = messages // senders
    started = time.perf_counter()
    counts = await asyncio.gather(
        *(_sender(gateway, f"s{k}", share, batch) for k in range(senders))
    )
    elapsed = time.perf_counter() - started
    await gateway.close()
    total = sum(counts)
    expected = total / rate
    return {
        "benchmark": "rate_limiter",
        "messages": total,
        "rate": rate,
        "senders": senders,
        "seconds": round(elapsed, 3),
        "baseline_seconds": round(expected, 3),
        "deviation_pct": round(100 * (elapsed - expected) / expected, 2),
        "achieved_per_second": round(total / elapsed, 1),
        "share_of_contract": round(total / elapsed / rate, 4),
        "per_sender": counts,
    }


_SID, _TOKEN = "ACbench", "bench-token"


async def _throughput(gateway: Gateway, messages: int, batch: int) -> float:
    """Submissions per second through ``gateway`` (started), in batches."""
    started = time.perf_counter()
    for first in range(0, messages, batch):
        chunk = [
            Message(f"b{i}", f"+3373{i:07d}", "Exercice alertd", 1)
            for i in range(first, min(first + batch, messages))
        ]
        results = await gateway.submit(chunk)
        if any(r.outcome is not Outcome.ACCEPTED for r in results):
            raise RuntimeError(f"the benchmark gateway refused a message: {results[0].reason}")
    return messages / (time.perf_counter() - started)


def provider_command(log: Path, account_sid: str, auth_token: str) -> list[str]:
    """The command line of `alertd fake-provider` on a free loopback port, logging to ``log``."""
    return [
        sys.executable,
        "-m",
        "alertd",
        "--log-format",
        "json",
        "fake-provider",
        "--port",
        "0",
        "--log",
        str(log),
        "--account-sid",
        account_sid,
        "--auth-token",
        auth_token,
    ]


def listening_port(line: str | bytes) -> int | None:
    """The port, when this log line of the fake provider says it listens."""
    text = line.decode() if isinstance(line, bytes) else line
    if "fake_provider_listening" not in text:
        return None
    return int(json.loads(text)["port"])


@asynccontextmanager
async def _provider_process(folder: Path) -> AsyncIterator[tuple[int, Path]]:
    """The fake provider in its own process (as in production, the peer has its own CPU)."""
    log = folder / "accepted.jsonl"
    proc = await asyncio.create_subprocess_exec(
        *provider_command(log, _SID, _TOKEN),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None  # noqa: S101 - asked for above
        port = await asyncio.wait_for(_listening_port(proc.stderr), 30)
        yield port, log
    finally:
        proc.terminate()
        await proc.wait()


async def _listening_port(stream: asyncio.StreamReader) -> int:
    while line := await stream.readline():
        if (port := listening_port(line)) is not None:
            return port
    raise RuntimeError("the fake provider stopped before listening")


async def http_benchmark(messages: int, windows: tuple[int, ...] = (1, 64)) -> dict[str, Any]:
    """Twilio-dialect submissions to the fake provider process, no rate limit, per window."""
    figures: dict[str, Any] = {"benchmark": "gateway_http", "messages": messages}
    with tempfile.TemporaryDirectory(prefix="alertd-bench-http-") as folder:
        async with _provider_process(Path(folder)) as (port, log):

            def twilio(window: int) -> Gateway:
                return TwilioGateway(
                    "bench",
                    account_sid=_SID,
                    auth_token=_TOKEN,
                    from_number="+33600000000",
                    rate=0,
                    window=window,
                    base_url=f"http://127.0.0.1:{port}",
                )

            figures |= await _per_window(twilio, messages, windows)
        figures["accepted_by_provider"] = len(log.read_text(encoding="utf-8").splitlines())
    return figures


async def _per_window(
    make: Callable[[int], Gateway], messages: int, windows: tuple[int, ...]
) -> dict[str, float]:
    """Submissions per second for each window, and the last window's ratio to the first."""
    figures: dict[str, float] = {}
    for window in windows:
        gateway = make(window)
        await gateway.start()
        try:
            rate = await _throughput(gateway, messages, batch=max(window * 4, 64))
        finally:
            await gateway.close()
        figures[f"window_{window}_per_second"] = round(rate, 1)
    first, last = windows[0], windows[-1]
    figures["ratio"] = round(
        figures[f"window_{last}_per_second"] / figures[f"window_{first}_per_second"], 2
    )
    return figures


async def smpp_benchmark(
    messages: int, windows: tuple[int, ...] = (1, 64), latency_ms: float = 0.0
) -> dict[str, Any]:
    """submit_sm to the loopback SMSC simulator (its own process), no rate limit, per window."""
    figures: dict[str, Any] = {
        "benchmark": "gateway_smpp",
        "messages": messages,
        "smsc_latency_ms": latency_ms,
    }
    async with smsc_process(latency_ms) as port:

        def smpp(window: int) -> Gateway:
            return SmppGateway(
                "bench",
                host="127.0.0.1",
                port=port,
                system_id="alertd",
                password="bench",  # noqa: S106 - the loopback simulator takes any
                rate=0,
                window=window,
            )

        figures |= await _per_window(smpp, messages, windows)
    return figures
