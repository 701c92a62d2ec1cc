from __future__ import annotations

from alertd.tools.bench_gateway import ratelimit_benchmark


async def test_ratelimit_benchmark_reports_its_figures() -> None:
    result = await ratelimit_benchmark(messages=400, rate=20_000, senders=4, batch=50)
    assert result["messages"] == 400
    assert result["per_sender"] == [100, 100, 100, 100]
    assert result["baseline_seconds"] == 0.02
    assert {"seconds", "deviation_pct", "achieved_per_second", "share_of_contract"} <= set(result)


async def test_http_benchmark_counts_what_the_provider_accepted() -> None:
    from alertd.tools.bench_gateway import http_benchmark

    result = await http_benchmark(messages=200, windows=(1, 8))
    assert result["accepted_by_provider"] == 400  # both runs, every message, once
    assert result["window_1_per_second"] > 0 and result["window_8_per_second"] > 0
    assert "ratio" in result


async def test_smpp_benchmark_against_the_simulator() -> None:
    from alertd.tools.bench_gateway import smpp_benchmark

    result = await smpp_benchmark(messages=200, windows=(1, 4), latency_ms=1.0)
    assert result["smsc_latency_ms"] == 1.0
    assert result["window_1_per_second"] > 0 and result["window_4_per_second"] > 0
    assert "ratio" in result
