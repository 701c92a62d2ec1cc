"""Postcode areas, and the subscribers who gave only a postcode."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import box, mapping

from zones.crs import LAMBERT93, WGS84
from zones.errors import ZoneError
from zones.index import SubscriberIndex
from zones.postcodes import PostcodeAreas

NAN = math.nan
# Two neighbouring postcode areas, west (A) and east (B), sharing the edge lon = 2.35.
AREA_A = box(2.30, 51.00, 2.35, 51.05)
AREA_B = box(2.35, 51.00, 2.40, 51.05)


def feature(geometry: Any, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": mapping(geometry)}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.fixture
def areas() -> PostcodeAreas:
    return PostcodeAreas.from_geojson(
        collection(feature(AREA_A, postcode="59140"), feature(AREA_B, postcode="59240"))
    )


@pytest.fixture
def index() -> SubscriberIndex:
    # 1, 2: postcode only, in A. 3: postcode only, in B. 4: neither (never matched).
    # 10: located in the west of A, postcode A. 11: located in B, with postcode A (moved house).
    # 12: located in B, no postcode.
    return SubscriberIndex(
        ids=[1, 2, 3, 4, 10, 11, 12],
        lon=[NAN, NAN, NAN, NAN, 2.31, 2.38, 2.39],
        lat=[NAN, NAN, NAN, NAN, 51.02, 51.02, 51.03],
        postcodes=["59140", "59140", "59240", None, "59140", "59140", None],
    )


def test_postcode_only_subscribers_match_through_their_area(
    areas: PostcodeAreas, index: SubscriberIndex
) -> None:
    zone = box(2.305, 51.01, 2.32, 51.03)  # inside A only
    found = index.match(zone, areas)
    np.testing.assert_array_equal(found.by_postcode, [1, 2])
    np.testing.assert_array_equal(found.by_address, [10])
    np.testing.assert_array_equal(found.all, [1, 2, 10])
    assert len(found) == 3


def test_located_subscribers_are_matched_by_address_only(
    areas: PostcodeAreas, index: SubscriberIndex
) -> None:
    zone = box(2.37, 51.01, 2.385, 51.04)  # in B, around subscriber 11 whose postcode is A's
    found = index.match(zone, areas)
    np.testing.assert_array_equal(found.by_address, [11])
    np.testing.assert_array_equal(found.by_postcode, [3])
    # Subscriber 10, whose postcode is A's, is not pulled in by anyone's postcode.
    zone_a = box(2.33, 51.01, 2.34, 51.02)  # in A, away from subscriber 10
    found = index.match(zone_a, areas)
    np.testing.assert_array_equal(found.by_address, [])
    np.testing.assert_array_equal(found.by_postcode, [1, 2])


def test_zone_across_both_areas_and_touching_counts(
    areas: PostcodeAreas, index: SubscriberIndex
) -> None:
    across = box(2.34, 51.01, 2.36, 51.02)
    assert areas.intersecting(across) == {"59140", "59240"}
    np.testing.assert_array_equal(index.match(across, areas).by_postcode, [1, 2, 3])
    # A zone that only touches B's edge from the outside still reaches B's residents.
    touching = box(2.40, 51.01, 2.45, 51.02)
    assert areas.intersecting(touching) == {"59240"}
    np.testing.assert_array_equal(index.match(touching, areas).by_postcode, [3])
    # Away from both: nobody.
    far = box(2.5, 51.01, 2.6, 51.02)
    assert areas.intersecting(far) == set()
    assert len(index.match(far, areas)) == 0


def test_without_postcode_areas_postcode_only_subscribers_are_not_matched(
    index: SubscriberIndex,
) -> None:
    found = index.match(box(2.30, 51.00, 2.40, 51.05))
    np.testing.assert_array_equal(found.by_address, [10, 11, 12])
    assert len(found.by_postcode) == 0


def test_postcode_only_subscriber_added_later_matches_too(areas: PostcodeAreas) -> None:
    index = SubscriberIndex([10], [2.31], [51.02], [None])
    index.upsert(5, None, None, "59240")
    index.upsert(6, 2.39, None, "59140")  # half a location is no location
    index.upsert(7, None, None, None)  # nothing to match on: not indexed
    assert len(index) == 3
    found = index.match(AREA_B.buffer(-0.001), areas)
    np.testing.assert_array_equal(found.by_postcode, [5])
    np.testing.assert_array_equal(index.match(AREA_A.buffer(-0.001), areas).by_postcode, [6])


def test_areas_of_one_postcode_are_dissolved_and_codes_normalised() -> None:
    areas = PostcodeAreas.from_geojson(
        collection(
            feature(box(5.0, 46.0, 5.1, 46.1), code_postal=1000),  # Bourg-en-Bresse, 01000
            feature(box(5.1, 46.0, 5.2, 46.1), cp="01000"),
            feature(box(2.30, 51.00, 2.35, 51.05), postal_code=" 59140 "),
        )
    )
    assert len(areas) == 2
    assert areas.codes == ["01000", "59140"]
    area = areas.area("01000")
    assert area is not None and area.equals(box(5.0, 46.0, 5.2, 46.1))
    assert areas.area("75001") is None
    # A leading zero survives the trip through the index's postcode numbers.
    index = SubscriberIndex([1, 2], [NAN, NAN], [NAN, NAN], ["01000", "59140"])
    np.testing.assert_array_equal(index.match(box(5.15, 46.05, 5.3, 46.2), areas).by_postcode, [1])


def test_postcode_areas_in_lambert93() -> None:
    to_l93 = Transformer.from_crs(WGS84, LAMBERT93, always_xy=True)
    square = shapely.transform(AREA_A, lambda xy: np.column_stack(to_l93.transform(*xy.T)))
    doc = collection(feature(square, postcode="59140"))
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}
    for areas in (
        PostcodeAreas.from_geojson(doc),
        PostcodeAreas.from_geojson(
            json.dumps({k: v for k, v in doc.items() if k != "crs"}), "EPSG:2154"
        ),
    ):
        area = areas.area("59140")
        assert area is not None
        assert area.symmetric_difference(AREA_A).area < 1e-12


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (collection(feature(AREA_A, name="Dunkerque")), "feature 1 has no postcode property"),
        (
            collection(feature(AREA_A, postcode="59140"), feature(AREA_B, insee="59183")),
            "feature 2 has no postcode property",
        ),
        (collection(feature(AREA_A, postcode="ABCDE")), "postcode 'ABCDE' is not five digits"),
        (collection(feature(AREA_A, postcode="591400")), "not five digits"),
        (collection(feature(AREA_A, postcode="")), "not five digits"),
        (collection(feature(AREA_A, postcode=59140.0)), "not five digits"),
        (feature(AREA_A, postcode="59140"), "must be a FeatureCollection"),
        (collection(), "must be a FeatureCollection"),
        (
            collection({"type": "Feature", "properties": {"postcode": "59140"}, "geometry": None}),
            "has no geometry",
        ),
        (
            collection(feature(box(116.3, 39.9, 116.5, 40.0), postcode="59140")),
            "outside the plausible extent",
        ),
        ("{", "not valid JSON"),
    ],
)
def test_bad_postcode_areas_are_refused(doc: Any, reason: str) -> None:
    with pytest.raises(ZoneError, match=reason):
        PostcodeAreas.from_geojson(doc)


@pytest.mark.parametrize(
    ("third", "reason"),
    [
        ({"type": "Point", "coordinates": [2.3, 51.0]}, "feature 3: a Point is not an area"),
        (None, "feature 3 has no geometry"),
    ],
)
def test_errors_name_the_feature_they_are_in(third: Any, reason: str) -> None:
    doc = collection(
        feature(AREA_A, postcode="59140"),
        feature(AREA_B, postcode="59240"),
        {"type": "Feature", "properties": {"postcode": "59430"}, "geometry": third},
    )
    with pytest.raises(ZoneError, match=reason):
        PostcodeAreas.from_geojson(doc)


@pytest.mark.parametrize(
    "bad_feature",
    [1, {"type": "Feature", "properties": ["59140"], "geometry": mapping(AREA_A)}],
)
def test_malformed_features_are_refused(bad_feature: Any) -> None:
    with pytest.raises(ZoneError, match="feature 1"):
        PostcodeAreas.from_geojson(collection(bad_feature))


# --- real data: postcode areas derived from the communes ----------------------------------------


def test_postcode_areas_from_the_real_communes(shared_data: Path) -> None:
    communes = json.loads((shared_data / "cud-communes.geojson").read_text(encoding="utf-8"))
    # One feature per (commune, postcode): a postcode's area is the union of its communes.
    exploded = collection(
        *(
            {"type": "Feature", "properties": {"postcode": code}, "geometry": f["geometry"]}
            for f in communes["features"]
            for code in f["properties"]["postcodes"]
        )
    )
    areas = PostcodeAreas.from_geojson(exploded)
    assert "59380" in areas.codes and "59140" in areas.codes
    by_name = {f["properties"]["name"]: f for f in communes["features"]}
    shared = areas.area("59380")  # Armbouts-Cappel, Spycker and part of Téteghem
    assert shared is not None
    for name in ("Armbouts-Cappel", "Spycker", "Téteghem-Coudekerque-Village"):
        commune = shapely.geometry.shape(by_name[name]["geometry"])
        assert shared.intersection(commune).area == pytest.approx(commune.area, rel=1e-6)
    # A small zone around Spycker's centre reaches the 59380 postcode-only residents, not the
    # Dunkerque ones.
    spycker = shapely.geometry.shape(by_name["Spycker"]["geometry"]).representative_point()
    index = SubscriberIndex([1, 2], [NAN, NAN], [NAN, NAN], ["59380", "59140"])
    found = index.match(spycker.buffer(0.001), areas)
    np.testing.assert_array_equal(found.by_postcode, [1])
