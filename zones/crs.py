"""Coordinate reference systems: naming them, and transforming to and from WGS84.

French GIS exports come in Lambert-93 (EPSG:2154). Transforms always use x = longitude/easting,
y = latitude/northing (``always_xy``), whatever axis order the CRS definition declares.
"""

from __future__ import annotations

import re
from functools import cache

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from zones.errors import ZoneError

WGS84 = "EPSG:4326"
LAMBERT93 = "EPSG:2154"
_URN_RE = re.compile(r"^urn:ogc:def:crs:(EPSG|OGC):[^:]*:(.+)$", re.IGNORECASE)
# Metropolitan France and Corsica, generously (where Lambert-93 is the right metric CRS).
METROPOLE = (-5.5, 41.0, 10.0, 51.5)


def normalise_crs(name: str) -> str:
    """'urn:ogc:def:crs:EPSG::2154', 'EPSG:2154', '2154', 'CRS84' -> 'EPSG:2154' / 'EPSG:4326'."""
    text = name.strip()
    match = _URN_RE.match(text)
    if match:
        authority, code = match[1].upper(), match[2]
        text = (
            WGS84 if authority == "OGC" and code.upper() in ("CRS84", "CRS:84") else f"EPSG:{code}"
        )
    if text.isdigit():
        text = f"EPSG:{text}"
    if text.upper() in ("CRS84", "OGC:CRS84", "WGS84"):
        return WGS84
    try:
        crs = CRS.from_user_input(text)
    except CRSError:
        raise ZoneError(f"unknown coordinate reference system {name!r} (e.g. EPSG:2154)") from None
    epsg = crs.to_epsg()
    if epsg is None:
        raise ZoneError(f"coordinate reference system {name!r} has no EPSG code")
    if not crs.is_projected and not crs.is_geographic:
        raise ZoneError(f"{name!r} is not a horizontal coordinate reference system")
    return f"EPSG:{epsg}"


@cache
def transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def is_geographic(crs: str) -> bool:
    return bool(CRS.from_user_input(crs).is_geographic)


def metric_crs(lon: float, lat: float) -> str:
    """Lambert-93 in metropolitan France, else the UTM zone of the point."""
    minx, miny, maxx, maxy = METROPOLE
    if minx <= lon <= maxx and miny <= lat <= maxy:
        return LAMBERT93
    zone = min(int((lon + 180) // 6) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"
