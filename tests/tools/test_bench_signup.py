"""alertd bench signup at a small size: every figure is measured, on one line."""

from __future__ import annotations

import json

import pytest

from alertd.config import Config
from alertd.errors import InputError
from alertd.tools.bench_signup import signup_benchmark
from tests.support.cli import alertd


# 2: the pages in two processes, the codes through the queue to the daemon side; 0: the pages
# in the benchmark's loop, as before.
@pytest.mark.parametrize("workers", [2, 0])
async def test_the_signup_benchmark_measures_a_few_signups(config: Config, workers: int) -> None:
    result = await signup_benchmark(config, signups=40, rate=200.0, workers=workers)
    assert result["benchmark"] == "signup" and result["page_workers"] == workers
    assert result["pages_cpu_ms_per_signup"] > 0 and result["daemon_cpu_ms_per_signup"] > 0
    assert result["errors"] == 0 and result["completed"] == 40
    assert result["active_subscribers"] == 40
    assert (
        0 < result["code_handed_to_gateway"]["p50_ms"] <= result["code_handed_to_gateway"]["p99_ms"]
    )
    assert result["baseline"]["per_s"] > 0
    assert "\n" not in json.dumps(result)


def test_more_page_processes_than_serve_allows_is_refused_in_one_line(db_dsn: str) -> None:
    result = alertd("bench", "signup", "--workers", "17", dsn=db_dsn)
    assert result.returncode == InputError.exit_code
    assert result.stderr.strip().count("\n") == 0 and "--workers" in result.stderr
    assert "Traceback" not in result.stderr
