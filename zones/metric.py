"""Zones measured in metres: a circle around a site, a buffer around a zone.

Computed in Lambert-93 in metropolitan France (the local UTM zone elsewhere) and returned in
WGS84. A projection's metre is not quite a metre on the ground (Lambert-93 stretches distances by
about 0.1 % at Dunkerque), so distances are scaled by the projection's own scale factor at the
zone's centre: a 2 000 m circle reaches 2 000 m on the ellipsoid, checked with pyproj.Geod.
"""

from __future__ import annotations

import math

from pyproj import Geod, Proj
from shapely.geometry import Point, Polygon
from shapely.geometry.polygon import orient

from zones.crs import WGS84, metric_crs, transformer
from zones.errors import ZoneError
from zones.geojson import Area, repair_area, reproject, to_wgs84

MAX_DISTANCE_M = 100_000.0  # a département; beyond, the request is a typo
# 64 segments a quarter: the polygon stays within 0.01 % of the true circle (r·cos(π/256)).
QUAD_SEGMENTS = 64


def _check_distance(name: str, metres: float, allow_zero: bool = False) -> None:
    if not math.isfinite(metres) or metres < 0 or (metres == 0 and not allow_zero):
        raise ZoneError(f"{name} must be a positive number of metres, got {metres}")
    if metres > MAX_DISTANCE_M:
        raise ZoneError(f"{name} of {metres:.0f} m is more than {MAX_DISTANCE_M:.0f} m")


def _scale(crs: str, lon: float, lat: float) -> float:
    """How many projected metres one metre on the ground is, at (lon, lat)."""
    factors = Proj(crs).get_factors(lon, lat)
    return float(math.sqrt(factors.meridional_scale * factors.parallel_scale))


def circle(lon: float, lat: float, radius_m: float) -> Area:
    """The disc of radius_m metres on the ground around (lon, lat), in WGS84."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ZoneError(f"lon {lon}, lat {lat} is not a point in degrees (lon first)")
    _check_distance("radius", radius_m)
    crs = metric_crs(lon, lat)
    x, y = transformer(WGS84, crs).transform(lon, lat)
    disc = Point(x, y).buffer(radius_m * _scale(crs, lon, lat), quad_segs=QUAD_SEGMENTS)
    return to_wgs84(disc, crs)


def buffer(area: Area, distance_m: float) -> Area:
    """The zone grown by distance_m metres on the ground, in WGS84."""
    _check_distance("buffer distance", distance_m, allow_zero=True)
    if distance_m == 0:
        return area
    centre = area.centroid
    crs = metric_crs(centre.x, centre.y)
    grown = reproject(area, WGS84, crs).buffer(
        distance_m * _scale(crs, centre.x, centre.y), quad_segs=QUAD_SEGMENTS
    )
    fixed, _ = repair_area(to_wgs84(grown, crs))
    return fixed


_GEOD = Geod(ellps="WGS84")


def area_km2(area: Area) -> float:
    """Area on the WGS84 ellipsoid, in square kilometres, whatever the rings' winding: each
    polygon is oriented first (shell counter-clockwise, holes clockwise), since the geodesic
    area of a ring wound the other way round is the rest of the globe, and holes wound like
    their shell would be added instead of taken away."""
    polygons = [area] if isinstance(area, Polygon) else list(area.geoms)
    surface = sum(_GEOD.geometry_area_perimeter(orient(p, sign=1.0))[0] for p in polygons)
    return abs(surface) / 1e6
