"""Reading zones: any CRS (Lambert-93 above all), the classic mistakes refused, repair, real files.

Pure geometry, no database: these tests never import alertd.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import MultiPolygon, Polygon, box, shape

from zones.crs import LAMBERT93, WGS84, metric_crs, normalise_crs
from zones.errors import ZoneError
from zones.geojson import read_zone, zone_from_geometry
from zones.index import SubscriberIndex

GEOD = Geod(ellps="WGS84")
TO_WGS84 = Transformer.from_crs(LAMBERT93, WGS84, always_xy=True)
URN_L93 = "urn:ogc:def:crs:EPSG::2154"
# Lambert-93 metres around Dunkerque (the town hall is at about x 656 180, y 7 104 910).
L93_CENTRE = (654_000.0, 7_104_000.0)
DUNKERQUE_SQUARE = [[2.3, 51.0], [2.4, 51.0], [2.4, 51.1], [2.3, 51.1], [2.3, 51.0]]


def crs_member(name: str) -> dict[str, Any]:
    return {"type": "name", "properties": {"name": name}}


def feature_collection(
    coordinates: list[Any], kind: str = "Polygon", crs: str | None = None, **properties: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": properties,
                "geometry": {"type": kind, "coordinates": coordinates},
            }
        ],
    }
    if crs is not None:
        doc["crs"] = crs_member(crs)
    return doc


def polygon_doc(ring: list[list[float]], *holes: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring, *holes]}


def l93_flood_zone() -> tuple[list[list[float]], list[list[float]]]:
    """An irregular 13-vertex ring of about 3 km around Dunkerque, with a dry island (a hole)."""
    cx, cy = L93_CENTRE
    rng = np.random.default_rng(2154)
    angles = np.linspace(0, 2 * math.pi, 13, endpoint=False)
    radii = rng.uniform(1_800, 3_200, len(angles))
    ring = [
        [cx + r * math.cos(a), cy + r * math.sin(a)] for a, r in zip(angles, radii, strict=True)
    ]
    hole = [[cx + 400 * math.cos(a), cy + 300 + 400 * math.sin(a)] for a in angles[::-1]]
    return [*ring, ring[0]], [*hole, hole[0]]


def to_wgs84_ring(ring: list[list[float]]) -> list[list[float]]:
    xs, ys = TO_WGS84.transform([p[0] for p in ring], [p[1] for p in ring])
    return [[float(x), float(y)] for x, y in zip(xs, ys, strict=True)]


# --- 1. the same zone in Lambert-93 and in WGS84 alerts the same people ---------------------------


def test_lambert93_zone_matches_the_same_subscribers_as_its_wgs84_twin() -> None:
    ring, hole = l93_flood_zone()
    by_member = read_zone(feature_collection([ring, hole], crs=URN_L93))
    by_argument = read_zone(feature_collection([ring, hole]), crs="EPSG:2154")
    wgs84_geometry = Polygon(to_wgs84_ring(ring), [to_wgs84_ring(hole)])
    in_wgs84 = read_zone(feature_collection([to_wgs84_ring(ring), to_wgs84_ring(hole)]))

    assert by_member.source_crs == by_argument.source_crs == LAMBERT93
    assert in_wgs84.source_crs == WGS84
    assert by_member.notes == by_argument.notes == in_wgs84.notes == ()
    minx, miny, maxx, maxy = by_member.geometry.bounds
    assert 2.2 < minx < maxx < 2.5 and 50.95 < miny < maxy < 51.1  # Dunkerque, in degrees

    # Subscribers scattered over the zone's surroundings, plus some exactly on its vertices.
    rng = np.random.default_rng(59140)
    lon = rng.uniform(minx - 0.01, maxx + 0.01, 4_000)
    lat = rng.uniform(miny - 0.01, maxy + 0.01, 4_000)
    vertices = shapely.get_coordinates(wgs84_geometry)
    lon = np.concatenate([lon, vertices[:, 0]])
    lat = np.concatenate([lat, vertices[:, 1]])
    ids = np.arange(len(lon)) + 1_000
    index = SubscriberIndex(ids, lon, lat, [None] * len(ids))

    expected = ids[shapely.intersects_xy(wgs84_geometry, lon, lat)]
    assert 500 < len(expected) < len(ids) - 500  # the comparison is not trivially true
    for zone in (by_member, by_argument, in_wgs84):
        assert zone.geometry.is_valid
        assert zone.geometry.area == pytest.approx(wgs84_geometry.area, rel=1e-9)
        np.testing.assert_array_equal(index.match(zone.geometry).by_address, expected)


def test_lambert93_coordinates_are_transformed_with_x_as_easting() -> None:
    zone = read_zone(
        feature_collection(
            [
                [
                    [650_000, 7_100_000],
                    [652_000, 7_100_000],
                    [652_000, 7_102_000],
                    [650_000, 7_100_000],
                ]
            ],
            crs="EPSG:2154",
        )
    )
    lon, lat = TO_WGS84.transform(650_000, 7_100_000)
    assert (lon, lat) == pytest.approx((2.2894, 50.9938), abs=1e-3)
    assert shapely.get_coordinates(zone.geometry).min(axis=0) == pytest.approx([lon, lat])


def test_explicit_crs_wins_over_the_declared_one_with_a_note() -> None:
    ring, _ = l93_flood_zone()
    zone = read_zone(
        feature_collection([ring], crs="urn:ogc:def:crs:OGC:1.3:CRS84"), crs="EPSG:2154"
    )
    assert zone.source_crs == LAMBERT93
    assert any("declares EPSG:4326" in note and "EPSG:2154" in note for note in zone.notes)
    assert 2.2 < zone.geometry.centroid.x < 2.5


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("urn:ogc:def:crs:EPSG::2154", LAMBERT93),
        ("urn:ogc:def:crs:EPSG:9.9.1:2154", LAMBERT93),
        ("EPSG:2154", LAMBERT93),
        ("2154", LAMBERT93),
        (" epsg:2154 ", LAMBERT93),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", WGS84),
        ("CRS84", WGS84),
        ("EPSG:4326", WGS84),
        ("EPSG:32740", "EPSG:32740"),
    ],
)
def test_crs_names_are_normalised(name: str, expected: str) -> None:
    assert normalise_crs(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("EPSG:999999", "unknown coordinate reference system"),
        ("not a crs", "unknown coordinate reference system"),
        ("EPSG:4978", "not a horizontal"),  # geocentric
        ("EPSG:5720", "not a horizontal"),  # a vertical datum
    ],
)
def test_unusable_crs_names_are_refused(name: str, reason: str) -> None:
    with pytest.raises(ZoneError, match=reason):
        normalise_crs(name)
    with pytest.raises(ZoneError, match=reason):
        read_zone(polygon_doc(DUNKERQUE_SQUARE), crs=name)


def test_metric_crs_is_lambert93_in_france_and_utm_elsewhere() -> None:
    assert metric_crs(2.3431, 51.0292) == LAMBERT93
    assert metric_crs(9.45, 42.7) == LAMBERT93  # Corsica
    assert metric_crs(55.45, -20.88) == "EPSG:32740"  # Réunion, UTM 40 South
    assert metric_crs(-61.0, 14.6) == "EPSG:32620"  # Martinique, UTM 20 North


# --- 2. the classic mistakes, named --------------------------------------------------------------


def test_swapped_latitude_and_longitude_are_refused_by_name() -> None:
    swapped = [[lat, lon] for lon, lat in DUNKERQUE_SQUARE]
    with pytest.raises(ZoneError, match="swapped") as caught:
        read_zone(feature_collection([swapped]))
    assert "latitude first" in str(caught.value)


@pytest.mark.parametrize(
    ("crs_in_file", "crs_argument"),
    [(None, None), (None, "EPSG:4326"), ("urn:ogc:def:crs:OGC:1.3:CRS84", None)],
)
def test_lambert93_declared_as_wgs84_is_refused_by_name(
    crs_in_file: str | None, crs_argument: str | None
) -> None:
    ring, _ = l93_flood_zone()
    with pytest.raises(ZoneError, match="Lambert-93") as caught:
        read_zone(feature_collection([ring], crs=crs_in_file), crs=crs_argument)
    assert "EPSG:2154" in str(caught.value)
    assert "not degrees" in str(caught.value)


@pytest.mark.parametrize(
    "doc",
    [
        polygon_doc(DUNKERQUE_SQUARE) | {"crs": crs_member(URN_L93)},
        feature_collection([DUNKERQUE_SQUARE], crs="EPSG:2154"),
    ],
)
def test_degrees_declared_as_a_projected_crs_are_refused(doc: dict[str, Any]) -> None:
    with pytest.raises(ZoneError, match="look like degrees") as caught:
        read_zone(doc)
    assert "EPSG:2154" in str(caught.value)
    with pytest.raises(ZoneError, match="look like degrees"):
        read_zone({k: v for k, v in doc.items() if k != "crs"}, crs="EPSG:2154")


def test_coordinates_beyond_any_degree_are_refused() -> None:
    far = [[500.0, 10.0], [600.0, 10.0], [600.0, 20.0], [500.0, 10.0]]
    with pytest.raises(ZoneError, match="not longitude/latitude degrees"):
        read_zone(polygon_doc(far))


# --- 3. repair, and what is not a zone ---------------------------------------------------------


def test_bow_tie_is_repaired_with_a_note() -> None:
    bow_tie = [[2.3, 51.0], [2.4, 51.1], [2.4, 51.0], [2.3, 51.1], [2.3, 51.0]]
    assert not Polygon(bow_tie).is_valid
    zone = read_zone(feature_collection([bow_tie], name="Digue"))
    assert zone.geometry.is_valid
    assert zone.geometry.area == pytest.approx(0.005)  # two triangles of 0.0025 square degrees
    assert len(zone.notes) == 1
    assert "repaired" in zone.notes[0] and "Self-intersection" in zone.notes[0]
    assert zone.name == "Digue"
    # Both lobes are kept: a point in each is inside.
    assert shapely.intersects_xy(zone.geometry, [2.31, 2.39], [51.05, 51.05]).all()


def test_repair_notes_name_the_feature_when_there_are_several() -> None:
    bow_tie = [[2.3, 51.0], [2.4, 51.1], [2.4, 51.0], [2.3, 51.1], [2.3, 51.0]]
    doc = feature_collection([DUNKERQUE_SQUARE])
    doc["features"].append({"type": "Feature", "properties": {}, "geometry": polygon_doc(bow_tie)})
    zone = read_zone(doc)
    assert len(zone.notes) == 1 and zone.notes[0].startswith("feature 2: repaired")


@pytest.mark.parametrize(
    "ring",
    [
        # there and back along one segment
        [[2.3, 51.0], [2.4, 51.0], [2.3, 51.0], [2.4, 51.0]],
        # three exactly collinear points
        [[2.25, 51.0], [2.3125, 51.0625], [2.375, 51.125], [2.25, 51.0]],
    ],
)
def test_polygon_that_repairs_to_no_area_is_refused(ring: list[list[float]]) -> None:
    with pytest.raises(ZoneError, match="repairing it leaves no area"):
        read_zone(polygon_doc(ring))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"type": "Point", "coordinates": [2.34, 51.03]}, "Point is not an area.*circle"),
        ({"type": "MultiPoint", "coordinates": [[2.34, 51.03]]}, "MultiPoint is not an area"),
        (
            {"type": "LineString", "coordinates": [[2.3, 51.0], [2.4, 51.1]]},
            "LineString is not an area.*close the ring",
        ),
        (
            feature_collection([[2.3, 51.0], [2.4, 51.1]], kind="MultiLineString"),
            "feature 1: a MultiLineString is not an area",
        ),
        ({"type": "Polygon", "coordinates": []}, "the Polygon is empty"),
        ({"type": "MultiPolygon", "coordinates": []}, "the MultiPolygon is empty"),
        ({"type": "FeatureCollection", "features": []}, "has no features"),
        ({"type": "GeometryCollection", "geometries": []}, "GeometryCollection is empty"),
        ({"type": "Feature", "properties": {}, "geometry": None}, "has no geometry"),
        ({"type": "Circle", "coordinates": [2.3, 51.0]}, "unknown geometry type 'Circle'"),
        ({"coordinates": []}, "not a GeoJSON geometry"),
        ({"type": "Polygon", "coordinates": [[[2.3], [2.4]]]}, "coordinates are malformed"),
        ({"type": "Polygon", "coordinates": "abc"}, "coordinates are malformed"),
        (
            {"type": "Polygon", "coordinates": [DUNKERQUE_SQUARE], "crs": "EPSG:2154"},
            "crs member is malformed",
        ),
        ("{not json", r"not valid JSON \(line 1, column 2\)"),
        ("", "not valid JSON"),
        ("[1, 2]", "not a GeoJSON object"),
        ('"a string"', "not a GeoJSON object"),
        (
            '{"type": "Polygon", "coordinates": [[[2.3, 51.0], [Infinity, 51.0], [2.4, 51.1], '
            "[2.3, 51.0]]]}",
            "not numbers",
        ),
    ],
)
def test_what_is_not_a_zone_is_refused_with_a_reason(data: Any, reason: str) -> None:
    with pytest.raises(ZoneError, match=reason):
        read_zone(data)


def test_nan_coordinate_is_refused_with_a_zone_error() -> None:
    text = (
        '{"type": "Polygon", "coordinates": [[[2.3, 51.0], [2.4, NaN], [2.4, 51.1], [2.3, 51.0]]]}'
    )
    with pytest.raises(ZoneError, match="not numbers"):
        read_zone(text)


def test_polygon_without_coordinates_is_refused() -> None:
    with pytest.raises(ZoneError, match="Polygon"):
        read_zone({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon"}})


@pytest.mark.parametrize("properties", [[1, 2], "Zone rouge"])
def test_feature_properties_that_are_not_an_object_are_refused(properties: Any) -> None:
    doc = {"type": "Feature", "properties": properties, "geometry": polygon_doc(DUNKERQUE_SQUARE)}
    with pytest.raises(ZoneError, match="properties"):
        read_zone(doc)


def test_geometry_collection_with_malformed_members_is_refused() -> None:
    with pytest.raises(ZoneError, match="GeometryCollection"):
        read_zone({"type": "GeometryCollection", "geometries": 5})


def test_non_utf8_bytes_are_refused() -> None:
    text = json.dumps(feature_collection([DUNKERQUE_SQUARE], name="Zone inondée"))
    data = text.replace("\\u00e9", "é").encode("latin-1")
    with pytest.raises(ZoneError, match="not UTF-8"):
        read_zone(data)
    # The same text in UTF-8 is fine, as bytes or str.
    assert read_zone(data.decode("latin-1").encode("utf-8")).name == "Zone inondée"
    assert read_zone(data.decode("latin-1")).name == "Zone inondée"


def test_zone_outside_the_plausible_extent_is_refused() -> None:
    beijing = [[116.3, 39.9], [116.5, 39.9], [116.5, 40.0], [116.3, 39.9]]
    with pytest.raises(ZoneError, match="outside the plausible extent") as caught:
        read_zone(polygon_doc(beijing))
    assert "check the CRS" in str(caught.value)
    # The same file is fine for a deployment whose extent covers it.
    zone = read_zone(polygon_doc(beijing), extent=(73.0, 18.0, 135.0, 54.0))
    assert zone.geometry.is_valid


def test_overseas_zone_needs_its_own_extent() -> None:
    reunion = [[55.4, -20.9], [55.5, -20.9], [55.5, -20.8], [55.4, -20.9]]
    with pytest.raises(ZoneError, match="outside the plausible extent"):
        read_zone(polygon_doc(reunion))
    assert read_zone(polygon_doc(reunion), extent=(55.2, -21.4, 55.9, -20.8)).geometry.area > 0


# --- the accepted shapes -------------------------------------------------------------------------


def test_accepted_containers_give_the_same_geometry() -> None:
    geometry = polygon_doc(DUNKERQUE_SQUARE)
    expected = shape(geometry)
    for doc in (
        geometry,
        {"type": "Feature", "properties": {"nom": "Secteur 3"}, "geometry": geometry},
        {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": geometry}]},
        {"type": "GeometryCollection", "geometries": [geometry]},
        {"type": "MultiPolygon", "coordinates": [geometry["coordinates"]]},
        json.dumps(geometry),
        json.dumps(geometry).encode(),
    ):
        zone = read_zone(doc)
        assert zone.geometry.equals(expected), doc
        assert zone.source_crs == WGS84
    assert (
        read_zone(
            {"type": "Feature", "properties": {"nom": " Secteur 3 "}, "geometry": geometry}
        ).name
        == "Secteur 3"
    )


def test_overlapping_features_are_dissolved() -> None:
    doc = feature_collection([DUNKERQUE_SQUARE])
    doc["name"] = "PPRI"
    shifted = [[x + 0.05, y] for x, y in DUNKERQUE_SQUARE]
    doc["features"].append({"type": "Feature", "properties": {}, "geometry": polygon_doc(shifted)})
    zone = read_zone(doc)
    assert isinstance(zone.geometry, Polygon)
    assert zone.geometry.area == pytest.approx(0.015)  # 0.1 x 0.15 degrees
    assert zone.name == "PPRI"
    assert zone.properties == {}  # several features: no single set of properties


def test_zone_round_trips_through_geojson() -> None:
    zone = read_zone(
        polygon_doc(DUNKERQUE_SQUARE, [[2.33, 51.03], [2.36, 51.03], [2.36, 51.06], [2.33, 51.03]])
    )
    again = read_zone(zone.to_geojson())
    assert again.geometry.equals(zone.geometry)
    assert zone.vertices == 9


def test_zone_from_geometry_checks_and_repairs() -> None:
    square = box(2.3, 51.0, 2.4, 51.1)
    assert zone_from_geometry(square).notes == ()
    bow_tie = Polygon([(2.3, 51.0), (2.4, 51.1), (2.4, 51.0), (2.3, 51.1)])
    repaired = zone_from_geometry(bow_tie)
    assert repaired.geometry.is_valid and isinstance(repaired.geometry, MultiPolygon)
    assert "repaired" in repaired.notes[0]
    with pytest.raises(ZoneError, match="empty"):
        zone_from_geometry(Polygon())


# --- 10. real files ------------------------------------------------------------------------------


def test_real_pprt_perimeter_in_lambert93(shared_data: Path) -> None:
    doc = json.loads((shared_data / "pprt-domene-lambert93.geojson").read_text(encoding="utf-8"))
    perimeter = dict(doc, features=doc["features"][:1])
    for data in (perimeter, doc):  # the perimeter alone, and with its 25 planning zones
        zone = read_zone(data)
        assert zone.source_crs == LAMBERT93
        assert zone.geometry.is_valid and not zone.geometry.is_empty
        minx, miny, maxx, maxy = zone.geometry.bounds
        assert 5.80 < minx < maxx < 5.85 and 45.18 < miny < maxy < 45.22  # Domène, Isère
        area_km2 = abs(GEOD.geometry_area_perimeter(zone.geometry)[0]) / 1e6
        assert area_km2 == pytest.approx(0.41, rel=0.1)
    # The Seveso site's grey zone lies inside the perimeter.
    grey = next(f for f in doc["features"] if f["properties"].get("codezonereglement") == "G")
    site = read_zone(dict(doc, features=[grey])).geometry.representative_point()
    index = SubscriberIndex([1, 2], [site.x, 2.3431], [site.y, 51.0292], [None, None])
    np.testing.assert_array_equal(index.match(read_zone(perimeter).geometry).by_address, [1])


def test_real_pprt_bytes_as_read_from_an_upload(shared_data: Path) -> None:
    data = (shared_data / "pprt-domene-lambert93.geojson").read_bytes()
    zone = read_zone(data)
    assert zone.name is not None and "Domène" in zone.name
    # Declared as WGS84 by mistake, it is refused by name rather than put 900 km away.
    with pytest.raises(ZoneError, match="Lambert-93"):
        read_zone(data, crs="EPSG:4326")


def test_real_commune_as_a_zone(shared_data: Path) -> None:
    doc = json.loads((shared_data / "cud-communes.geojson").read_text(encoding="utf-8"))
    communes = {f["properties"]["name"]: f for f in doc["features"]}
    assert len(communes) == 17
    dunkerque = read_zone(communes["Dunkerque"])
    assert dunkerque.name == "Dunkerque" and dunkerque.properties["insee"] == "59183"
    assert dunkerque.source_crs == WGS84 and dunkerque.geometry.is_valid
    # The town hall, another point in Dunkerque, and one in Loon-Plage (another commune).
    index = SubscriberIndex(
        [1, 2, 3], [2.3767, 2.3431, 2.2], [51.0383, 51.0292, 51.0], [None, None, None]
    )
    np.testing.assert_array_equal(index.match(dunkerque.geometry).by_address, [1, 2])
    loon = read_zone(communes["Loon-Plage"])
    np.testing.assert_array_equal(index.match(loon.geometry).by_address, [3])
    # The whole file is the intercommunality: everyone.
    np.testing.assert_array_equal(index.match(read_zone(doc).geometry).by_address, [1, 2, 3])


def test_a_sliver_with_no_real_area_is_refused() -> None:
    sliver = {
        "type": "Polygon",
        "coordinates": [[[2.3, 51.0], [2.4, 51.0], [2.35, 51.0 + 1e-14], [2.3, 51.0]]],
    }
    with pytest.raises(ZoneError, match="no area to speak of"):
        read_zone(sliver)
