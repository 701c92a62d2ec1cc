"""The match benchmark: who lives inside a hazard zone, for N subscribers, against its baselines.

N synthetic subscriber points over the Dunkerque area (denser in the towns), one real-shaped
marine-submersion zone of about 5 000 vertices (a band along the coast with ragged, fractal edges
and dry islands as holes), and, measured in the same run on the same points: alertd's
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

from zones.index import SubscriberIndex

SEED = 59183  # Dunkerque's INSEE code
AREA = (2.05, 50.90, 2.62, 51.12)  # min lon, min lat, max lon, max lat
# Town centres: lon, lat, share of the subscribers, spread (degrees).
TOWNS = (
    (2.3431, 51.0292, 0.24, 0.016),  # Dunkerque
    (2.3960, 51.0480, 0.08, 0.010),  # Malo-les-Bains
    (2.2890, 51.0140, 0.12, 0.012),  # Grande-Synthe
    (2.3930, 51.0230, 0.07, 0.010),  # Coudekerque-Branche
    (2.1280, 50.9860, 0.06, 0.012),  # Gravelines
    (2.2180, 50.9960, 0.04, 0.010),  # Loon-Plage
    (2.1960, 50.9470, 0.04, 0.010),  # Bourbourg
    (2.4400, 51.0190, 0.04, 0.010),  # Téteghem
    (2.5180, 51.0780, 0.03, 0.008),  # Bray-Dunes
)
EDGE_LEVELS = 11  # midpoint displacement: 2**11 segments on each long edge of the band
HOLES = 6  # dry islands inside the flooded band
HOLE_VERTICES = 150
LOOP_SAMPLE = 20_000  # points tested one by one, extrapolated to N
ALERTD_RUNS = 5
LOOP_RUNS = 3
CONTAINS_RUNS = 5
POSTGIS_RUNS = 3
_DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
IdArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
T = TypeVar("T")


# --- synthetic subscribers ---------------------------------------------------------------------


def coast_lat(lon: FloatArray) -> FloatArray:
    """A straight-line coast: Oye-Plage (2.05, 51.00) to Bray-Dunes (2.52, 51.09) and beyond."""
    return 51.0 + (lon - 2.05) * (0.09 / 0.47)


def _draw(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    shares = np.array([t[2] for t in TOWNS])
    town = rng.choice(len(TOWNS) + 1, size=n, p=[*shares, 1.0 - shares.sum()])
    lon = rng.uniform(AREA[0], AREA[2], n)
    lat = rng.uniform(AREA[1], AREA[3], n)
    for i, (x, y, _, spread) in enumerate(TOWNS):
        mine = town == i
        lon[mine] = rng.normal(x, spread * 1.6, int(mine.sum()))  # degrees of lon are shorter
        lat[mine] = rng.normal(y, spread, int(mine.sum()))
    return lon, lat


def synthetic_points(n: int, seed: int = SEED) -> tuple[IdArray, FloatArray, FloatArray]:
    """Ids 1..n and lon/lat on land (south of the coast) within AREA."""
    rng = np.random.default_rng(seed)
    lons, lats, have = [np.empty(0)], [np.empty(0)], 0
    while have < n:
        lon, lat = _draw(rng, max(1000, int((n - have) * 1.3)))
        keep = (lon >= AREA[0]) & (lon <= AREA[2]) & (lat >= AREA[1]) & (lat < coast_lat(lon))
        lons.append(lon[keep])
        lats.append(lat[keep])
        have += int(keep.sum())
    ids = np.arange(1, n + 1, dtype=np.int64)
    return ids, np.concatenate(lons)[:n], np.concatenate(lats)[:n]


# --- the hazard zone ---------------------------------------------------------------------------


def fractal_profile(
    rng: np.random.Generator, levels: int, amplitude: float, hurst: float = 0.7
) -> FloatArray:
    """Midpoint displacement: 2**levels + 1 values, zero at both ends, rough at every scale."""
    y = np.zeros(2)
    scale = amplitude
    for _ in range(levels):
        mid = (y[:-1] + y[1:]) / 2 + rng.normal(0.0, scale, len(y) - 1)
        out = np.empty(2 * len(y) - 1)
        out[0::2], out[1::2] = y, mid
        y, scale = out, scale * 2.0**-hurst
    return y


def band_edges(rng: np.random.Generator) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Longitudes and the landward and seaward latitudes of the flooded band, west to east."""
    lon = np.linspace(AREA[0] + 0.01, AREA[2] - 0.01, 2**EDGE_LEVELS + 1)
    coast = coast_lat(lon)
    width = 0.02 + 0.008 * np.sin(2 * np.pi * (lon - AREA[0]) / 0.23)  # tongues up the polders
    landward = coast - width + fractal_profile(rng, EDGE_LEVELS, 0.008)
    seaward = coast + 0.004 + np.abs(fractal_profile(rng, EDGE_LEVELS, 0.002))
    seaward = np.minimum(seaward, AREA[3] - 0.001)
    landward = np.clip(landward, AREA[1] + 0.005, seaward - 0.004)
    return lon, landward, seaward


def island(rng: np.random.Generator, x: float, y: float, ry: float) -> FloatArray:
    """A closed star-shaped ring (always simple): a circle on the ground, wobbling by up to 35 %."""
    theta = np.linspace(0.0, 2 * np.pi, HOLE_VERTICES, endpoint=False)
    k = np.arange(2, 13)
    weights = k**-1.2 * 0.35 / (k**-1.2).sum()
    phases = rng.uniform(0, 2 * np.pi, len(k))
    r = 1 + (weights[:, None] * np.cos(k[:, None] * theta + phases[:, None])).sum(axis=0)
    rx = ry / np.cos(np.radians(y))
    ring = np.column_stack([x + rx * r * np.cos(theta), y + ry * r * np.sin(theta)])
    return np.vstack([ring, ring[:1]])


def _islands(
    rng: np.random.Generator, shell: Polygon, lon: FloatArray, land: FloatArray, sea: FloatArray
) -> list[FloatArray]:
    centres = np.linspace(AREA[0] + 0.06, AREA[2] - 0.05, HOLES) + rng.uniform(-0.015, 0.015, HOLES)
    rings = []
    for x in centres:
        near = np.abs(lon - x) <= 0.03
        low, high = float(land[near].max()), float(sea[near].min())
        ry = min(0.3 * (high - low), 0.012)
        ring = island(rng, float(x), (low + high) / 2, ry)
        while not shell.contains(Polygon(ring)) and ry > 1e-4:
            ry *= 0.8
            ring = island(rng, float(x), (low + high) / 2, ry)
        if ry > 1e-4:
            rings.append(ring)
    return rings


def hazard_polygon(seed: int = SEED) -> Polygon:
    """A marine-submersion-like zone, WGS84, valid, about 5 000 vertices, with dry islands."""
    rng = np.random.default_rng([seed, 1])
    lon, land, sea = band_edges(rng)
    outline = np.vstack(
        [np.column_stack([lon, land]), np.column_stack([lon[::-1], sea[::-1]]), [[lon[0], land[0]]]]
    )
    shell = Polygon(outline)
    polygon = Polygon(outline, _islands(rng, shell, lon, land, sea))
    if not polygon.is_valid:  # cannot happen by construction: say so loudly if it does
        raise RuntimeError(f"the benchmark zone is invalid: {shapely.is_valid_reason(polygon)}")
    return polygon


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
