"""The match benchmark's world: synthetic subscriber points and a real-shaped hazard zone.

N points over the Dunkerque area (denser in the towns, all on land south of a straight coast), and
one marine-submersion-like zone of about 5 000 vertices: a band along the coast with ragged,
fractal edges and dry islands as holes. Both reproducible from a seed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon

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
IdArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


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
