from __future__ import annotations

from alertd.config import Config
from alertd.tools.bench_dispatch import dispatch_benchmark


async def test_dispatch_benchmark_loses_nobody_and_doubles_nobody(config: Config) -> None:
    result = await dispatch_benchmark(config, deliveries=2_000, rate=0)
    assert (result["delivered"], result["duplicates"], result["lost"]) == (2_000, 0, 0)
    assert {"per_second", "first_submit_s", "floor_per_second", "ratio_to_floor"} <= set(result)
    # The floor measured on both sides of the durable path; the ratio divides by their mean.
    before, after = result["floor_per_second_before"], result["floor_per_second_after"]
    assert min(before, after) <= result["floor_per_second"] <= max(before, after)


async def test_import_benchmark_runs_in_a_scratch_database(config: Config) -> None:
    from alertd.tools.bench_import import import_benchmark

    result = await import_benchmark(config, rows=1_000, keep=False)
    assert (result["stored"], result["rejected"], result["reimport_unchanged"]) == (1_000, 0, 1_000)
