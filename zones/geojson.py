"""Reading hazard zones from GeoJSON, in any CRS, checked and repaired, returned in WGS84.

Accepts a Feature, a FeatureCollection, a bare Polygon/MultiPolygon (or a GeometryCollection of
them). The CRS comes from the caller, else from the legacy ``crs`` member that French GIS exports
still write (``urn:ogc:def:crs:EPSG::2154``), else WGS84 as RFC 7946 says. The classic mistakes —
Lambert-93 metres declared as degrees, latitude and longitude swapped — are refused with a message
that names them, since either would put the zone hundreds of kilometres away and alert nobody.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.validation import explain_validity

from zones.crs import METROPOLE, WGS84, is_geographic, normalise_crs, transformer
from zones.errors import ZoneError

Area: TypeAlias = Polygon | MultiPolygon
Extent: TypeAlias = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat
# Lambert-93 coordinates of metropolitan France, generously: easting, northing in metres.
_L93_X = (0.0, 1_400_000.0)
_L93_Y = (6_000_000.0, 7_200_000.0)
_NAME_KEYS = ("name", "nom", "libelle", "label", "title")
MAX_SPAN_DEG = 5.0  # about 350 km: wider than a département, far wider than a hazard zone
_MIN_AREA_DEG2 = 1e-10  # about a square metre in France: anything smaller is a degenerate sliver


@dataclass(frozen=True, slots=True)
class Zone:
    geometry: Area  # WGS84, valid, not empty
    source_crs: str
    properties: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what was repaired or assumed, for the person importing it
    name: str | None = None

    @property
    def vertices(self) -> int:
        return int(shapely.get_num_coordinates(self.geometry))

    def to_geojson(self) -> dict[str, Any]:
        return dict(mapping(self.geometry))


def read_zone(
    data: str | bytes | Mapping[str, Any], crs: str | None = None, extent: Extent = METROPOLE
) -> Zone:
    """Parse, check, transform to WGS84 and repair one zone; raise ZoneError saying why not."""
    doc = load_geojson(data)
    declared = _declared_crs(doc)
    source = normalise_crs(crs) if crs else declared or WGS84
    notes = []
    if crs and declared and normalise_crs(crs) != declared:
        notes.append(f"the file declares {declared}; {source} was used as asked")
    parts, properties, name = _collect(doc)
    _check_coordinates(MultiPolygon(_polygons(parts)), source, extent)
    repaired = []
    for i, part in enumerate(parts):
        fixed, repair = repair_area(to_wgs84(part, source) if source != WGS84 else part)
        repaired.append(fixed)
        if repair:
            notes.append(f"feature {i + 1}: {repair}" if len(parts) > 1 else repair)
    # Features of one file may overlap (a perimeter and the zones inside it): dissolve them.
    geometry = dissolve(repaired)
    if geometry.area < _MIN_AREA_DEG2:
        raise ZoneError("the zone has no area to speak of (less than about a square metre)")
    _check_extent(geometry, extent)
    return Zone(geometry, source, properties, tuple(notes), name)


def zone_from_geometry(geometry: Area, source_crs: str = WGS84) -> Zone:
    """A zone built by code (circles, buffers, unions): already WGS84, only checked."""
    fixed, repair = repair_area(geometry)
    return Zone(fixed, source_crs, notes=(repair,) if repair else ())


def load_geojson(data: str | bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ZoneError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None
    except UnicodeDecodeError:
        raise ZoneError("not valid JSON: the file is not UTF-8 text") from None
    if not isinstance(doc, dict):
        raise ZoneError('not a GeoJSON object: expected {"type": …}')
    return doc


def _declared_crs(doc: Mapping[str, Any]) -> str | None:
    member = doc.get("crs")
    if member is None:
        return None
    try:
        name = member["properties"]["name"]
    except (TypeError, KeyError):
        raise ZoneError(
            'the crs member is malformed: expected {"type": "name", '
            '"properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}'
        ) from None
    return normalise_crs(str(name))


def _collect(doc: Mapping[str, Any]) -> tuple[list[Area], dict[str, Any], str | None]:
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list) or not features:
            raise ZoneError("the FeatureCollection has no features")
        parts = [_feature_area(f, i + 1) for i, f in enumerate(features)]
        props = dict(features[0].get("properties") or {}) if len(features) == 1 else {}
        name = doc.get("name") if isinstance(doc.get("name"), str) else _name(props)
        return [p for p, _ in parts], props, name
    if kind == "Feature":
        area, props = _feature_area(doc, None)
        return [area], props, _name(props)
    return [_geometry_area(doc, None)], {}, None


def _feature_area(feature: Any, number: int | None) -> tuple[Area, dict[str, Any]]:
    where = f"feature {number}" if number else "the feature"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ZoneError(f"{where} is not a GeoJSON Feature")
    if feature.get("geometry") is None:
        raise ZoneError(f"{where} has no geometry")
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        raise ZoneError(
            f"{where}: properties must be a JSON object, not {type(properties).__name__}"
        )
    return _geometry_area(feature["geometry"], where), dict(properties)


def _geometry_area(geometry: Any, where: str | None) -> Area:
    prefix = f"{where}: " if where else ""
    if not isinstance(geometry, dict) or "type" not in geometry:
        raise ZoneError(f"{prefix}not a GeoJSON geometry")
    kind = geometry["type"]
    if kind == "GeometryCollection":
        listed = geometry.get("geometries")
        if not isinstance(listed, list):
            raise ZoneError(f"{prefix}the GeometryCollection has no list of geometries")
        members = [_geometry_area(g, where) for g in listed]
        if not members:
            raise ZoneError(f"{prefix}the GeometryCollection is empty")
        return MultiPolygon(_polygons(members))
    if kind in ("Point", "MultiPoint"):
        raise ZoneError(
            f"{prefix}a {kind} is not an area: for a radius around a site, "
            "draw a circle (alertd zones circle --lon … --lat … --radius-m …)"
        )
    if kind in ("LineString", "MultiLineString"):
        raise ZoneError(
            f"{prefix}a {kind} is not an area: close the ring into a Polygon, or "
            "buffer the line by a distance in metres"
        )
    if kind not in ("Polygon", "MultiPolygon"):
        raise ZoneError(f"{prefix}unknown geometry type {kind!r}")
    if "coordinates" not in geometry:
        raise ZoneError(f"{prefix}the {kind} has no coordinates")
    try:
        with warnings.catch_warnings():
            # NaN coordinates make GEOS warn; they are refused just below as not numbers.
            warnings.simplefilter("ignore", RuntimeWarning)
            area = shape(geometry)
    except (
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        AttributeError,
        shapely.errors.GEOSException,
    ) as exc:
        raise ZoneError(f"{prefix}the {kind} coordinates are malformed ({exc})") from None
    coords = shapely.get_coordinates(area)
    if area.is_empty or len(coords) == 0:
        raise ZoneError(f"{prefix}the {kind} is empty")
    if not np.isfinite(coords).all():
        raise ZoneError(f"{prefix}the {kind} has coordinates that are not numbers")
    assert isinstance(area, Polygon | MultiPolygon)  # noqa: S101 - the type was checked above
    return area


def dissolve(parts: Sequence[Area]) -> Area:
    """One area from several, overlaps merged."""
    if len(parts) == 1:
        return parts[0]
    merged = shapely.union_all(list(parts))
    if not isinstance(merged, Polygon | MultiPolygon):
        polygons = [g for g in getattr(merged, "geoms", []) if isinstance(g, Polygon)]
        if not polygons:
            raise ZoneError("the zones together have no area")
        merged = MultiPolygon(polygons)
    return merged


def _polygons(parts: list[Area]) -> list[Polygon]:
    return [p for part in parts for p in getattr(part, "geoms", [part])]


def _name(properties: Mapping[str, Any]) -> str | None:
    for key in _NAME_KEYS:
        value = properties.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _check_coordinates(area: Area, source: str, extent: Extent) -> None:
    minx, miny, maxx, maxy = area.bounds
    example = f"({minx:.6g}, {miny:.6g})"
    if is_geographic(source):
        looks_l93 = _L93_X[0] <= minx and maxx <= _L93_X[1] and _L93_Y[0] <= miny <= _L93_Y[1]
        if looks_l93:
            raise ZoneError(
                f"coordinates such as {example} are metres, not degrees: this looks like "
                f"Lambert-93 (EPSG:2154) declared as {source}; give --crs EPSG:2154"
            )
        if not (minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90):
            raise ZoneError(
                f"coordinates such as {example} are not longitude/latitude degrees, as "
                f"{source} requires: give the right --crs"
            )
        if not _intersects(area.bounds, extent) and _intersects((miny, minx, maxy, maxx), extent):
            raise ZoneError(
                f"latitude and longitude are swapped: GeoJSON is [longitude, latitude], "
                f"this file gives {example} (latitude first)"
            )
    elif minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90:
        raise ZoneError(
            f"coordinates such as {example} look like degrees, but the CRS is {source}, "
            "whose unit is the metre: give --crs EPSG:4326 or fix the file's crs"
        )


def _intersects(a: Extent, b: Extent) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _check_extent(area: Area, extent: Extent) -> None:
    check_extent(area, extent)


def check_extent(area: Area, extent: Extent) -> None:
    """Refuse a zone outside the plausible extent, or wider than any hazard zone could be (a
    polygon covering the world is a mistake, whose area cannot even be measured)."""
    minx, miny, maxx, maxy = area.bounds
    if maxx - minx > MAX_SPAN_DEG or maxy - miny > MAX_SPAN_DEG:
        raise ZoneError(
            f"the zone spans {maxx - minx:.4g}° of longitude and {maxy - miny:.4g}° of latitude, "
            f"more than any hazard zone ({MAX_SPAN_DEG:g}°): check the file"
        )
    if not _intersects(area.bounds, extent) and _intersects((miny, minx, maxy, maxx), extent):
        raise ZoneError(
            f"latitude and longitude look swapped: the zone is at lon {minx:.5f}, lat "
            f"{miny:.5f}, outside the plausible extent; longitude comes first (LON,LAT)"
        )
    if not _intersects(area.bounds, extent):
        raise ZoneError(
            f"the zone lies outside the plausible extent (lon {extent[0]}..{extent[2]}, lat "
            f"{extent[1]}..{extent[3]}), e.g. at lon {minx:.5f}, lat {miny:.5f}: check the CRS"
        )


def reproject(area: Area, source: str, target: str) -> Area:
    forward = transformer(source, target)
    out = shapely.transform(area, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))
    coords = shapely.get_coordinates(out)
    if not np.isfinite(coords).all():
        raise ZoneError(f"some coordinates cannot be transformed from {source}: wrong CRS?")
    return out


def to_wgs84(area: Area, source: str) -> Area:
    return reproject(area, source, WGS84)


def repair_area(area: Any) -> tuple[Area, str | None]:
    """A valid area, and a note when it had to be repaired (None when it was valid)."""
    if area.is_valid:
        if area.is_empty:
            raise ZoneError("the zone is empty")
        return area, None
    reason = explain_validity(area)
    fixed = shapely.make_valid(area)
    polygons = [
        g for g in getattr(fixed, "geoms", [fixed]) if isinstance(g, Polygon | MultiPolygon)
    ]
    flat = [p for g in polygons for p in getattr(g, "geoms", [g]) if not p.is_empty]
    if not flat or math.isclose(sum(p.area for p in flat), 0.0):
        raise ZoneError(f"the zone is invalid ({reason}) and repairing it leaves no area")
    return dissolve(flat), f"repaired an invalid polygon ({reason})"
