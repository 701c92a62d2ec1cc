"""Hazard-zone geometry: GeoJSON in any CRS, repair, buffers in metres, postcode areas and the
vectorised subscriber index. Pure: no database, no asyncio, never imports alertd."""

from zones.errors import ZoneError
from zones.geojson import Area, Zone, read_zone, zone_from_geometry
from zones.index import Match, SubscriberIndex
from zones.metric import area_km2, buffer, circle
from zones.postcodes import PostcodeAreas

__all__ = [
    "Area",
    "Match",
    "PostcodeAreas",
    "SubscriberIndex",
    "Zone",
    "ZoneError",
    "area_km2",
    "buffer",
    "circle",
    "read_zone",
    "zone_from_geometry",
]
