"""The match benchmark: who lives inside a hazard zone, for N subscribers, against its baselines.

N synthetic subscriber points and one real-shaped marine-submersion zone of about 5 000 vertices
(both from ``bench_match_world``), and, measured in the same run on the same points: alertd's
``SubscriberIndex.match`` (zone preparation included), ``shapely.contains_xy`` on a prepared
polygon, a per-point shapely loop (timed on a sample, extrapolated to N) and, when a DSN is given,
PostGIS ``ST_Contains`` with a GiST index (also ``ST_Intersects``, and the zone cut by
``ST_Subdivide``, the usual PostGIS remedy for large polygons), on a scratch table dropped at the
end. Every method must find the same subscribers; PostGIS times include fetching the ids.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Point, Polygon
from shapely.prepared import prep

from alertd.tools.bench_match_world import (
    SEED,
    FloatArray,
    IdArray,
    hazard_polygon,
    synthetic_points,
)
from zones.index import SubscriberIndex

LOOP_SAMPLE = 20_000  # points tested one by one, extrapolated to N
ALERTD_RUNS = 5
LOOP_RUNS = 3
CONTAINS_RUNS = 5
POSTGIS_RUNS = 3
_DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
T = TypeVar("T")


def fresh(polygon: Polygon) -> Polygon:
    """An identical polygon that has never been prepared (GEOS caches preparation per object)."""
    copy = shapely.from_wkb(shapely.to_wkb(polygon))
    assert isinstance(copy, Polygon)  # noqa: S101 - a polygon's WKB reads back as a polygon
    return copy


# --- measurements ------------------------------------------------------------------------------


def median_ms(run: Callable[[Polygon], T], polygon: Polygon, runs: int) -> tuple[float, T]:
    """Median wall time of ``run`` on a fresh copy of the polygon each time, and its last result."""
    times = []
    for _ in range(runs):
        zone = fresh(polygon)
        started = time.perf_counter()
        result = run(zone)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def contains_xy(zone: Polygon, lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    shapely.prepare(zone)
    return shapely.contains_xy(zone, lon, lat)


def per_point_loop(zone: Polygon, lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    prepared = prep(zone)
    inside = [
        prepared.contains(Point(x, y)) for x, y in zip(lon.tolist(), lat.tolist(), strict=True)
    ]
    return np.array(inside, dtype=bool)


def index_nbytes(index: SubscriberIndex) -> int:
    """The index's own numpy arrays (the input arrays it was built from are not counted)."""
    holders = (vars(index), vars(index._grid))
    return sum(v.nbytes for h in holders for v in h.values() if isinstance(v, np.ndarray))


def differing(a: IdArray, b: IdArray) -> int:
    return int(np.setxor1d(a, b, assume_unique=True).size)


def rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def ratio(slow: float | None, fast: float) -> float | None:
    return round(slow / fast, 1) if slow is not None and fast > 0 else None


# --- PostGIS -----------------------------------------------------------------------------------


@dataclass
class PostgisRun:
    figures: dict[str, Any] = field(default_factory=dict)
    matches: dict[str, IdArray] = field(default_factory=dict)  # query name: ids found, sorted


def _records(ids: IdArray, lon: FloatArray, lat: FloatArray) -> Iterator[tuple[int, float, float]]:
    for start in range(0, len(ids), 50_000):
        part = slice(start, start + 50_000)
        yield from zip(ids[part].tolist(), lon[part].tolist(), lat[part].tolist(), strict=True)


def plan_summary(plan: Any) -> str:
    """'Gather > Bitmap Heap Scan > Bitmap Index Scan (index)' from EXPLAIN (FORMAT JSON)."""
    node = plan[0]["Plan"] if isinstance(plan, list) else plan
    name = node["Node Type"] + (f" ({node['Index Name']})" if "Index Name" in node else "")
    children = [plan_summary(child) for child in node.get("Plans", [])]
    return (
        " > ".join([name, *children]) if len(children) < 2 else f"{name} > [{', '.join(children)}]"
    )


async def _load(
    conn: asyncpg.Connection, table: str, ids: IdArray, lon: FloatArray, lat: FloatArray
) -> dict[str, float]:
    started = time.perf_counter()
    await conn.execute(f"CREATE TABLE {table}_lonlat (id bigint, lon float8, lat float8)")
    await conn.copy_records_to_table(
        f"{table}_lonlat", records=_records(ids, lon, lat), columns=["id", "lon", "lat"]
    )
    await conn.execute(
        f"CREATE TABLE {table} AS SELECT id, "
        "ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom "
        f"FROM {table}_lonlat"
    )
    await conn.execute(f"DROP TABLE {table}_lonlat")
    loaded = time.perf_counter()
    await conn.execute(f"CREATE INDEX {table}_geom ON {table} USING gist (geom)")
    await conn.execute(f"ANALYZE {table}")
    indexed = time.perf_counter()
    return {
        "postgis_load_ms": round((loaded - started) * 1000),
        "postgis_index_ms": round((indexed - loaded) * 1000),
    }


async def _query(
    conn: asyncpg.Connection, sql: str, wkb: bytes
) -> tuple[float, IdArray, list[float]]:
    times, rows = [], []
    for _ in range(POSTGIS_RUNS):
        started = time.perf_counter()
        rows = await conn.fetch(sql, wkb)
        times.append((time.perf_counter() - started) * 1000)
    ids = np.sort(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
    return statistics.median(times), ids, [round(t, 1) for t in times]


def postgis_queries(table: str) -> dict[str, str]:
    """The plain queries the issue names, and the subdivided zone a PostGIS expert would write."""
    zone = "ST_GeomFromWKB($1, 4326)"
    return {
        "postgis": f"SELECT id FROM {table} WHERE ST_Contains({zone}, geom)",
        "postgis_intersects": f"SELECT id FROM {table} WHERE ST_Intersects({zone}, geom)",
        # Pieces of at most 256 vertices with small boxes; DISTINCT: a point on a cut is in two.
        "postgis_subdivided": f"SELECT DISTINCT p.id FROM {table} p "
        f"JOIN (SELECT ST_Subdivide({zone}, 256) AS g) AS parts ON ST_Intersects(parts.g, p.geom)",
    }


async def _measure_postgis(conn: asyncpg.Connection, table: str, polygon: Polygon) -> PostgisRun:
    wkb = shapely.to_wkb(polygon)
    queries = postgis_queries(table)
    plan = json.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {queries['postgis']}", wkb))
    run = PostgisRun(
        {
            "postgis_plan": plan_summary(plan),
            "postgis_version": await conn.fetchval("SELECT postgis_lib_version()"),
        }
    )
    for name, sql in queries.items():
        ms, found, runs = await _query(conn, sql, wkb)
        run.figures[f"{name}_ms"] = round(ms, 1)
        run.figures[f"{name}_runs_ms"] = runs
        run.matches[name] = found
    return run


async def postgis_benchmark(
    dsn: str, ids: IdArray, lon: FloatArray, lat: FloatArray, polygon: Polygon
) -> PostgisRun:
    """ST_Contains with a GiST index on a scratch table, dropped at the end; errors reported."""
    table = f"alertd_bench_match_{os.getpid()}"
    try:
        conn = await asyncpg.connect(dsn, timeout=10)
    except _DB_ERRORS as exc:
        return PostgisRun({"postgis_ms": None, "postgis_error": f"cannot connect: {exc}"})
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        load = await _load(conn, table, ids, lon, lat)
        run = await _measure_postgis(conn, table, polygon)
        run.figures.update(load)
    except _DB_ERRORS as exc:
        return PostgisRun({"postgis_ms": None, "postgis_error": f"{type(exc).__name__}: {exc}"})
    finally:
        with contextlib.suppress(*_DB_ERRORS):
            await conn.execute(f"DROP TABLE IF EXISTS {table}, {table}_lonlat")
        await conn.close()
    return run


# --- the benchmark -----------------------------------------------------------------------------


@dataclass
class LocalRun:
    """alertd and the in-process baselines, on the same points and zone."""

    figures: dict[str, Any]
    alertd: IdArray  # ids alertd matched, sorted
    inside: npt.NDArray[np.bool_]  # contains_xy, per point
    loop_inside: npt.NDArray[np.bool_]  # the per-point loop, on the first points only


def measure_local(ids: IdArray, lon: FloatArray, lat: FloatArray, polygon: Polygon) -> LocalRun:
    points = len(ids)
    started = time.perf_counter()
    index = SubscriberIndex(ids, lon, lat, [None] * points)
    build_ms = (time.perf_counter() - started) * 1000
    alertd_ms, match = median_ms(index.match, polygon, ALERTD_RUNS)
    rss_indexed = rss_mb()
    xy_ms, inside = median_ms(lambda z: contains_xy(z, lon, lat), polygon, CONTAINS_RUNS)
    sample = min(points, LOOP_SAMPLE)
    loop_ms, loop_inside = median_ms(
        lambda z: per_point_loop(z, lon[:sample], lat[:sample]), polygon, LOOP_RUNS
    )
    figures = {
        "alertd_ms": round(alertd_ms, 1),
        "index_build_ms": round(build_ms, 1),
        "index_mb": round(index_nbytes(index) / 2**20, 1),
        "rss_after_index_mb": rss_indexed,
        "contains_xy_ms": round(xy_ms, 1),
        "per_point_loop_ms": round(loop_ms * points / sample, 1) if sample else 0.0,
        "per_point_loop_sample": sample,
    }
    return LocalRun(figures, match.by_address, inside, loop_inside)


def disagreements(ids: IdArray, local: LocalRun, postgis: PostgisRun) -> dict[str, int]:
    """How many ids each method finds that alertd does not, or misses that alertd finds."""
    sample = len(local.loop_inside)
    return {
        "contains_xy": differing(local.alertd, ids[local.inside]),
        "per_point_loop_sample": int((local.loop_inside != local.inside[:sample]).sum()),
        **{name: differing(local.alertd, found) for name, found in postgis.matches.items()},
    }


def speedups(figures: dict[str, Any]) -> dict[str, float | None]:
    alertd_ms = figures["alertd_ms"]
    return {
        f"speedup_vs_{name}": ratio(figures.get(f"{name}_ms"), alertd_ms)
        for name in ("contains_xy", "postgis", "postgis_subdivided", "per_point_loop")
    }


async def match_benchmark(points: int, postgis_dsn: str | None, seed: int = SEED) -> dict[str, Any]:
    """Match N synthetic subscribers against the zone with alertd and every baseline."""
    ids, lon, lat = synthetic_points(points, seed)
    polygon = hazard_polygon(seed)
    local = measure_local(ids, lon, lat, polygon)
    postgis = PostgisRun({"postgis_ms": None})
    if postgis_dsn:
        postgis = await postgis_benchmark(postgis_dsn, ids, lon, lat, polygon)
    figures = {**local.figures, **postgis.figures}
    disagree = disagreements(ids, local, postgis)
    return {
        "benchmark": "subscribers_match",
        "points": points,
        "seed": seed,
        "vertices": int(shapely.get_num_coordinates(polygon)),
        "holes": len(polygon.interiors),
        "matched": len(local.alertd),
        "matched_share": round(len(local.alertd) / points, 3) if points else 0.0,
        "baseline": "PostGIS ST_Contains with a GiST index (and the zone subdivided); "
        "shapely.contains_xy on the prepared zone; a per-point shapely loop (prepared .contains)",
        **figures,
        **speedups(figures),
        "agree": not any(disagree.values()),
        "disagreements": disagree,
        "rss_mb": rss_mb(),
    }
