"""Gateway benchmarks: the rate limiter against the wall clock, through the fake gateway.

``alertd bench ratelimit``: N one-segment messages submitted by several concurrent senders to a
fake gateway limited to R segments a second; the baseline is the contract itself, N / R seconds.
It prints the elapsed time, the achieved rate and its share of the contract, and how evenly the
senders were served.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from gateways.base import Message
from gateways.fake import FakeGateway


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
