from __future__ import annotations

from alertd.config import Config
from alertd.tools.bench_smpp import smpp_benchmark


async def test_smpp_benchmark_sends_everyone_once_through_every_bind(config: Config) -> None:
    result = await smpp_benchmark(
        config, 400, binds=4, window=10, latency_ms=5, baseline_deliveries=20
    )
    assert (result["recorded"], result["missing"], result["resent"]) == (400, 0, 0)
    assert result["distinct_message_ids"] == 400  # one accepted submit_sm each
    assert list(result["per_gateway"]) == ["bench"]  # one gateway: an account of 4 binds
    assert result["baseline"]["recorded"] == 20
    assert result["submit_sm_per_second"] > result["baseline"]["submit_sm_per_second"]
    # The simulator's own witness: every bind used, never more outstanding than a bind's window.
    assert result["smsc_submit_sm"] == 400 and result["duplicates"] == 0
    assert result["smsc_binds_max"] == 4
    assert result["smsc_outstanding_max_per_bind"] <= 10
