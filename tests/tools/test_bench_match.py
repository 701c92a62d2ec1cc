"""The match benchmark, small: every method finds the same subscribers (no PostGIS needed)."""

from __future__ import annotations

import shapely

from alertd.tools.bench_match import match_benchmark
from alertd.tools.bench_match_world import hazard_polygon, synthetic_points

KEYS = {
    "benchmark",
    "points",
    "vertices",
    "holes",
    "matched",
    "alertd_ms",
    "contains_xy_ms",
    "postgis_ms",
    "per_point_loop_ms",
    "agree",
    "index_build_ms",
    "index_mb",
    "rss_mb",
    "speedup_vs_contains_xy",
    "speedup_vs_postgis",
    "speedup_vs_per_point_loop",
}


async def test_match_benchmark_agrees_on_a_small_run() -> None:
    result = await match_benchmark(20_000, None)
    assert KEYS - result.keys() == set()
    assert result["benchmark"] == "subscribers_match"
    assert result["agree"] is True
    assert result["matched"] > 0
    assert 0.1 <= result["matched"] / result["points"] <= 0.4
    assert 4000 <= result["vertices"] <= 6000
    assert result["holes"] > 0
    assert result["postgis_ms"] is None
    assert result["speedup_vs_postgis"] is None


def test_the_zone_is_valid_deterministic_and_inside_the_area() -> None:
    zone = hazard_polygon()
    assert zone.is_valid
    assert shapely.equals_exact(zone, hazard_polygon(), tolerance=0)
    minx, miny, maxx, maxy = zone.bounds
    assert 2.05 <= minx < maxx <= 2.62
    assert 50.90 <= miny < maxy <= 51.12


def test_points_are_reproducible_and_numbered_from_one() -> None:
    ids, lon, lat = synthetic_points(5000, seed=7)
    again = synthetic_points(5000, seed=7)
    assert ids[0] == 1
    assert ids[-1] == 5000
    assert (lon == again[1]).all()
    assert (lat == again[2]).all()
    assert ((lon >= 2.05) & (lon <= 2.62) & (lat >= 50.90) & (lat <= 51.12)).all()
