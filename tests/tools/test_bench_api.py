"""alertd bench api at a small size: every figure is measured, on one line."""

from __future__ import annotations

import json

from alertd.config import Config
from alertd.tools.bench_api import POLLERS, api_benchmark


async def test_api_benchmark_measures_the_daemons_api(config: Config) -> None:
    result = await api_benchmark(config, subscribers=20_000, previews=10)
    assert result["benchmark"] == "api"
    assert result["subscribers"] == 20_000
    assert result["previews"] == 10 and result["previews_per_s"] > 0
    for key in ("preview", "status", "baseline_preview"):
        assert 0 < result[key]["p50_ms"] <= result[key]["p99_ms"]
    assert result["sent_recipients"] > 0
    assert result["send_to_first_submission_ms"] > 0
    assert result["send_answered_ms"] > 0
    assert result["status_clients"] == POLLERS and result["status_per_s"] > 0
    assert result["rss_mb"] > 0
    assert "\n" not in json.dumps(result)
