from __future__ import annotations

import json

from alertd.config import Config
from alertd.tools.bench_index import index_benchmark


async def test_index_benchmark_agrees_with_the_per_call_path(config: Config) -> None:
    result = await index_benchmark(config, subscribers=3_000, previews=5)
    assert result["same_recipients"] is True
    assert result["recipients_last"] > 0
    assert result["subscribers"] == 3_000
    for key in ("preview", "change_visible", "baseline_preview"):
        assert 0 < result[key]["p50_ms"] <= result[key]["p99_ms"]
    assert result["rss_mb"] > 0
    assert "\n" not in json.dumps(result)
