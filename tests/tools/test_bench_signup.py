"""alertd bench signup at a small size: every figure is measured, on one line."""

from __future__ import annotations

import json

from alertd.config import Config
from alertd.tools.bench_signup import signup_benchmark


async def test_the_signup_benchmark_measures_a_few_signups(config: Config) -> None:
    result = await signup_benchmark(config, signups=40, rate=200.0)
    assert result["benchmark"] == "signup"
    assert result["errors"] == 0 and result["completed"] == 40
    assert result["active_subscribers"] == 40
    assert (
        0 < result["code_handed_to_gateway"]["p50_ms"] <= result["code_handed_to_gateway"]["p99_ms"]
    )
    assert result["baseline"]["per_s"] > 0
    assert "\n" not in json.dumps(result)
