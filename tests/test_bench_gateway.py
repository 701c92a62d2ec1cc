from __future__ import annotations

from alertd.bench_gateway import ratelimit_benchmark


async def test_ratelimit_benchmark_reports_its_figures() -> None:
    result = await ratelimit_benchmark(messages=400, rate=20_000, senders=4, batch=50)
    assert result["messages"] == 400
    assert result["per_sender"] == [100, 100, 100, 100]
    assert result["baseline_seconds"] == 0.02
    assert {"seconds", "deviation_pct", "achieved_per_second", "share_of_contract"} <= set(result)
