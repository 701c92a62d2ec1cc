"""A zone given in a request body: stored zone ids, a GeoJSON object in any CRS, or a circle."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from alertd.alerts import hazard_zones
from alertd.api.routes import Schema, array, integer, number, obj, text
from alertd.config import Config
from alertd.errors import InputError
from zones import Zone, ZoneError, read_zone

CIRCLE: Schema = obj(
    ["lon", "lat", "radius_m"],
    lon=number(-180, 180),
    lat=number(-90, 90),
    radius_m=number(1, 100_000),
)
ZONE_FIELDS: dict[str, Schema] = {
    "zone_ids": array(integer(1, 2**53), 20),
    "geojson": {"type": "object", "description": "a Feature, FeatureCollection or geometry"},
    "crs": text(50),
    "circle": CIRCLE,
    "outside_territory": {"type": "boolean"},
}


def zone_of(body: Mapping[str, Any], config: Config) -> Zone | None:
    """The zone drawn in the body (GeoJSON or circle), or None when it names stored zones only."""
    if body.get("geojson") is not None and body.get("circle") is not None:
        raise InputError("give either geojson or circle, not both")
    if body.get("geojson") is not None:
        try:
            raw = json.dumps(body["geojson"]).encode()
            return read_zone(raw, body.get("crs"), config.zones.extent)
        except ZoneError as exc:
            raise InputError(f"geojson: {exc}") from None
    if body.get("circle") is not None:
        c = body["circle"]
        return hazard_zones.make_circle(c["lon"], c["lat"], c["radius_m"], config.zones.extent)
    return None


def geometry_of(body: Mapping[str, Any], config: Config) -> dict[str, Any] | None:
    zone = zone_of(body, config)
    return None if zone is None else zone.to_geojson()
