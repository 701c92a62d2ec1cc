"""Circles and buffers in metres on the ground, checked against pyproj.Geod on the ellipsoid."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box

from zones.errors import ZoneError
from zones.index import SubscriberIndex
from zones.metric import MAX_DISTANCE_M, buffer, circle

GEOD = Geod(ellps="WGS84")
AZIMUTHS = np.arange(0.0, 360.0, 7.5)  # 48 directions, not aligned with the polygon's vertices
SITES = {
    "Dunkerque": (2.3431, 51.0292),  # Lambert-93
    "Domène": (5.8266, 45.2015),  # Lambert-93, the Alps
    "Ajaccio": (8.7369, 41.9192),  # Lambert-93, Corsica
    "Saint-Denis de La Réunion": (55.45, -20.88),  # UTM 40 South
    "Fort-de-France": (-61.07, 14.6),  # UTM 20 North
    "Nouméa": (166.45, -22.27),  # UTM 58 South
}


def around(lon: float, lat: float, distance_m: float) -> tuple[np.ndarray, np.ndarray]:
    n = len(AZIMUTHS)
    x, y, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), AZIMUTHS, np.full(n, distance_m))
    return np.asarray(x), np.asarray(y)


@pytest.mark.parametrize(("lon", "lat"), SITES.values(), ids=SITES.keys())
def test_two_km_circle_reaches_two_km_on_the_ground(lon: float, lat: float) -> None:
    disc = circle(lon, lat, 2_000)
    assert disc.is_valid and isinstance(disc, Polygon)
    assert shapely.intersects_xy(disc, lon, lat)
    assert shapely.intersects_xy(disc, *around(lon, lat, 1_990)).all()
    assert not shapely.intersects_xy(disc, *around(lon, lat, 2_010)).any()
    # Tighter: every vertex of the polygon is within 0.5 m of 2 000 m from the centre.
    ring = np.asarray(disc.exterior.coords)
    n = len(ring)
    _, _, distances = GEOD.inv(np.full(n, lon), np.full(n, lat), ring[:, 0], ring[:, 1])
    assert np.abs(np.asarray(distances) - 2_000).max() < 0.5
    # Its area is that of a 2 km disc, within 0.1 %.
    area = abs(GEOD.geometry_area_perimeter(disc)[0])
    assert area == pytest.approx(math.pi * 2_000**2, rel=1e-3)


def test_circle_matches_subscribers_by_their_distance() -> None:
    lon, lat = SITES["Dunkerque"]
    rng = np.random.default_rng(2000)
    n = 3_000
    distances = rng.uniform(0, 4_000, n)
    x, y, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), rng.uniform(0, 360, n), distances)
    ids = np.arange(n)
    index = SubscriberIndex(ids, x, y, [None] * n)
    matched = index.match(circle(lon, lat, 2_000)).by_address
    # Exact at 1 m: the polygon's chords cut at most 0.15 m inside the true circle.
    assert set(ids[distances < 1_999]) <= set(matched.tolist())
    assert set(matched.tolist()) <= set(ids[distances <= 2_001].tolist())


@pytest.mark.parametrize(
    "radius", [0, -1, -2_000, math.nan, math.inf, -math.inf, 1e9, MAX_DISTANCE_M + 1]
)
def test_bad_radius_is_refused(radius: float) -> None:
    with pytest.raises(ZoneError, match="radius"):
        circle(2.3431, 51.0292, radius)


def test_largest_radius_is_accepted() -> None:
    assert circle(2.3431, 51.0292, MAX_DISTANCE_M).is_valid


@pytest.mark.parametrize(
    ("lon", "lat"), [(51.0292, 2.3431 + 200), (200, 51), (2.3, -91), (math.nan, 51)]
)
def test_centre_that_is_not_degrees_is_refused(lon: float, lat: float) -> None:
    with pytest.raises(ZoneError, match="not a point in degrees"):
        circle(lon, lat, 2_000)


# --- buffers -------------------------------------------------------------------------------------


def outward_points(zone: Polygon, distance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points distance_m from an axis-aligned box: straight out of each edge, and diagonally out
    of each corner (whose nearest point on the box is the corner itself)."""
    x0, y0, x1, y1 = zone.bounds
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    starts = [
        (mx, y1, 0.0),
        (mx, y0, 180.0),
        (x1, my, 90.0),
        (x0, my, 270.0),
        (x1, y1, 45.0),
        (x1, y0, 135.0),
        (x0, y0, 225.0),
        (x0, y1, 315.0),
    ]
    lons, lats, azimuths = (np.array(v) for v in zip(*starts, strict=True))
    x, y, _ = GEOD.fwd(lons, lats, azimuths, np.full(len(starts), distance_m))
    return np.asarray(x), np.asarray(y)


@pytest.mark.parametrize(
    "zone",
    [
        box(2.33, 51.02, 2.36, 51.04),
        box(55.44, -20.90, 55.47, -20.87),
        box(8.72, 41.91, 8.75, 41.93),
    ],
    ids=["Dunkerque", "Réunion", "Ajaccio"],
)
def test_buffer_grows_a_zone_by_metres_on_the_ground(zone: Polygon) -> None:
    grown = buffer(zone, 500)
    assert grown.is_valid and grown.contains(zone)
    inner = outward_points(zone, 495)
    outer = outward_points(zone, 505)
    assert not shapely.intersects_xy(zone, *inner).any()
    assert shapely.intersects_xy(grown, *inner).all()
    assert not shapely.intersects_xy(grown, *outer).any()


def test_buffer_of_a_zone_with_a_hole_narrows_the_hole() -> None:
    outer = box(2.30, 51.00, 2.40, 51.06)
    island = box(2.34, 51.02, 2.36, 51.04)  # about 1.4 km by 2.2 km
    zone = outer.difference(island)
    assert isinstance(zone, Polygon) and len(zone.interiors) == 1
    grown = buffer(zone, 500)
    assert grown.is_valid
    # The dry island shrinks by 500 m: 495 m south of its north shore is now in the zone, 505 m
    # is not (its east and west shores are about 700 m away), nor is its centre.
    x, y, _ = GEOD.fwd([2.35, 2.35], [51.04, 51.04], [180, 180], [495, 505])
    assert shapely.intersects_xy(grown, x[0], y[0])
    assert not shapely.intersects_xy(grown, x[1], y[1])
    assert not shapely.intersects_xy(grown, 2.35, 51.03)


def test_buffer_of_a_multipolygon_merges_close_parts() -> None:
    west = box(2.30, 51.00, 2.33, 51.02)
    east = box(2.3405, 51.00, 2.37, 51.02)  # about 740 m east of west's edge at this latitude
    gap_m = GEOD.inv(2.33, 51.01, 2.3405, 51.01)[2]
    assert 700 < gap_m < 800
    grown = buffer(MultiPolygon([west, east]), 400)
    assert isinstance(grown, Polygon)  # 2 x 400 m bridges the gap
    assert isinstance(buffer(MultiPolygon([west, east]), 300), MultiPolygon)


def test_zero_buffer_is_the_zone_itself() -> None:
    zone = box(2.33, 51.02, 2.36, 51.04)
    assert buffer(zone, 0).equals(zone)


@pytest.mark.parametrize("distance", [-1, -500, math.nan, math.inf, 1e9])
def test_bad_buffer_distance_is_refused(distance: float) -> None:
    with pytest.raises(ZoneError, match="buffer distance"):
        buffer(box(2.33, 51.02, 2.36, 51.04), distance)
