"""The subscriber index: exactly the subscribers a point-by-point shapely test finds, boundary
points included, holes excluded, through incremental updates; checked on random polygons too."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import shapely
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import MultiPolygon, Point, Polygon, box

from zones.geojson import Area, read_zone
from zones.index import LEAF_POINTS, SubscriberIndex
from zones.postcodes import PostcodeAreas

NAN = math.nan
# An axis-aligned square whose corners, midpoints and quarter points are exact binary fractions.
X0, X1, Y0, Y1 = 2.25, 2.375, 51.0, 51.125
SQUARE = box(X0, Y0, X1, Y1)
FAST = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def located(
    lon: npt.ArrayLike, lat: npt.ArrayLike, first_id: int = 0
) -> tuple[SubscriberIndex, npt.NDArray[np.int64]]:
    """An index of located subscribers (no postcodes), and their ids."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    ids = np.arange(first_id, first_id + len(x), dtype=np.int64)
    return SubscriberIndex(ids, x, y, [None] * len(x)), ids


def reference(zone: Area, ids: npt.NDArray[np.int64], x: Any, y: Any) -> npt.NDArray[np.int64]:
    """The point-by-point answer the index must give."""
    return np.sort(ids[shapely.intersects_xy(zone, np.asarray(x), np.asarray(y))])


def boundary_points() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Points exactly on SQUARE's edges (every 1/512 of a side) and on its four corners."""
    t = np.arange(0, 513) / 512  # exact: k / 512
    along_x = X0 + t * (X1 - X0)
    along_y = Y0 + t * (Y1 - Y0)
    lon = np.concatenate([along_x, along_x, np.full_like(t, X0), np.full_like(t, X1)])
    lat = np.concatenate([np.full_like(t, Y0), np.full_like(t, Y1), along_y, along_y])
    return lon, lat


# --- 5. boundary points count as inside ----------------------------------------------------------


def test_points_on_an_edge_and_on_a_vertex_are_matched() -> None:
    lon = [X0, X1, 2.3125, X0, 2.3125, X0 - 1e-9, 2.3125, 2.3125]
    lat = [Y0, Y1, Y0, 51.0625, 51.0625, 51.0625, Y1 + 1e-9, Y1]
    # corner, corner, bottom edge, left edge, centre, just outside left, just outside top, top edge
    index, ids = located(lon, lat)
    expected = [0, 1, 2, 3, 4, 7]
    np.testing.assert_array_equal(reference(SQUARE, ids, lon, lat), expected)
    np.testing.assert_array_equal(index.match(SQUARE).by_address, expected)


@pytest.mark.parametrize("inside_only", [False, True], ids=["wider-points", "points-on-the-box"])
def test_thousands_of_boundary_points_are_matched_when_the_tree_subdivides(
    inside_only: bool,
) -> None:
    rng = np.random.default_rng(5)
    edge_lon, edge_lat = boundary_points()
    margin = 0.0 if inside_only else 0.05
    n = 6_000
    lon = np.concatenate([edge_lon, rng.uniform(X0 - margin, X1 + margin, n)])
    lat = np.concatenate([edge_lat, rng.uniform(Y0 - margin, Y1 + margin, n)])
    index, ids = located(lon, lat)
    expected = reference(SQUARE, ids, lon, lat)
    assert shapely.intersects_xy(SQUARE, edge_lon, edge_lat).all()
    assert len(ids) > 20 * LEAF_POINTS
    np.testing.assert_array_equal(index.match(SQUARE).by_address, expected)
    # Every boundary point (the first len(edge_lon) ids) is in.
    assert np.isin(np.arange(len(edge_lon)), index.match(SQUARE).by_address).all()
    # The halves of the square share an edge: its points are in both.
    left, right = box(X0, Y0, 2.3125, Y1), box(2.3125, Y0, X1, Y1)
    on_middle = ids[lon == 2.3125]
    for half in (left, right):
        matched = index.match(half).by_address
        np.testing.assert_array_equal(matched, reference(half, ids, lon, lat))
        assert np.isin(on_middle[(lat[on_middle] >= Y0) & (lat[on_middle] <= Y1)], matched).all()


def test_many_subscribers_at_one_boundary_address() -> None:
    # A block of flats on the zone's corner: more people at one point than a leaf holds.
    copies = 3 * LEAF_POINTS
    rng = np.random.default_rng(7)
    lon = np.concatenate(
        [np.full(copies, X1), np.full(copies, X1 + 1e-7), rng.uniform(2.2, 2.4, 500)]
    )
    lat = np.concatenate([np.full(copies, Y1), np.full(copies, Y1), rng.uniform(50.95, 51.15, 500)])
    index, ids = located(lon, lat)
    matched = index.match(SQUARE).by_address
    np.testing.assert_array_equal(matched, reference(SQUARE, ids, lon, lat))
    assert np.isin(np.arange(copies), matched).all()
    assert not np.isin(np.arange(copies, 2 * copies), matched).any()


# --- 4. holes ------------------------------------------------------------------------------------


def test_a_hole_excludes_its_points() -> None:
    # A flood zone around a dry island.
    flood = Polygon(
        [(X0, Y0), (X1, Y0), (X1, Y1), (X0, Y1)],
        [[(2.28125, 51.03125), (2.34375, 51.03125), (2.34375, 51.09375), (2.28125, 51.09375)]],
    )
    lon = [2.3125, 2.26, 2.28125, 2.28125, 2.5]
    lat = [51.0625, 51.0625, 51.0625, 51.03125, 51.0625]
    # island centre, flooded ring, island shore (the hole's edge: a boundary, so alerted), shore
    # corner, far outside
    index, ids = located(lon, lat)
    np.testing.assert_array_equal(index.match(flood).by_address, [1, 2, 3])
    np.testing.assert_array_equal(reference(flood, ids, lon, lat), [1, 2, 3])


def test_a_hole_full_of_subscribers_excludes_them_all() -> None:
    island = Point(2.3125, 51.0625).buffer(0.03, quad_segs=16)
    flood = SQUARE.difference(island)
    assert isinstance(flood, Polygon) and len(flood.interiors) == 1
    rng = np.random.default_rng(4)
    r = 0.0299 * np.sqrt(rng.uniform(0, 1, 5_000))
    a = rng.uniform(0, 2 * np.pi, 5_000)
    in_hole_lon, in_hole_lat = 2.3125 + r * np.cos(a), 51.0625 + r * np.sin(a)
    ring_lon, ring_lat = rng.uniform(X0, X1, 5_000), rng.uniform(Y0, Y1, 5_000)
    lon = np.concatenate([in_hole_lon, ring_lon])
    lat = np.concatenate([in_hole_lat, ring_lat])
    index, ids = located(lon, lat)
    matched = index.match(flood).by_address
    np.testing.assert_array_equal(matched, reference(flood, ids, lon, lat))
    assert not np.isin(np.arange(5_000), matched).any()  # nobody on the island
    assert len(matched) > 4_000  # most of the ring
    # From a GeoJSON file, the same.
    zone = read_zone(
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(flood)}
    )
    np.testing.assert_array_equal(index.match(zone.geometry).by_address, matched)


# --- small cases ---------------------------------------------------------------------------------


def test_empty_and_unlocated_indexes_match_nobody() -> None:
    empty = SubscriberIndex()
    assert len(empty) == 0
    found = empty.match(SQUARE)
    assert len(found) == 0 and found.by_address.dtype == np.int64
    nowhere = SubscriberIndex([1, 2], [NAN, 2.3], [51.0, NAN], [None, None])
    assert len(nowhere) == 0
    assert len(nowhere.match(SQUARE)) == 0


def test_no_zone_matches_nobody() -> None:
    index, _ = located([2.3], [51.05])
    assert len(index.match([])) == 0


def test_single_subscriber_and_zones_far_away() -> None:
    index, _ = located([2.3], [51.05])
    np.testing.assert_array_equal(index.match(SQUARE).by_address, [0])
    assert len(index.match(box(5.8, 45.1, 5.9, 45.2))) == 0
    assert len(index.match(box(2.3 + 1e-9, 51.05, 2.4, 51.1))) == 0


def test_ids_are_the_callers_own() -> None:
    ids = np.array([2**40 + 5, 7, 123_456_789_012, -3], dtype=np.int64)
    index = SubscriberIndex(ids, [2.26, 2.27, 2.5, 2.3], [51.01, 51.02, 51.01, 51.1], [None] * 4)
    np.testing.assert_array_equal(index.match(SQUARE).by_address, np.sort(ids[[0, 1, 3]]))


@pytest.mark.parametrize(
    ("ids", "lon", "lat", "postcodes", "reason"),
    [
        ([1, 1], [2.3, 2.31], [51.0, 51.01], [None, None], "unique"),
        ([1, 2], [2.3], [51.0, 51.01], [None, None], "same length"),
        ([1, 2], [2.3, 2.31], [51.0, 51.01, 51.02], [None, None], "same length"),
    ],
)
def test_bad_index_input_is_refused(
    ids: list[int], lon: list[float], lat: list[float], postcodes: list[None], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        SubscriberIndex(ids, lon, lat, postcodes)


# --- 9. incremental updates ----------------------------------------------------------------------


@pytest.fixture
def areas() -> PostcodeAreas:
    return PostcodeAreas({"59140": box(X0, Y0, 2.3125, Y1), "59240": box(2.4, Y0, 2.5, Y1)})


def test_upsert_moves_and_remove(areas: PostcodeAreas) -> None:
    rng = np.random.default_rng(9)
    lon = np.concatenate([[2.30, 2.45], rng.uniform(2.4, 2.5, 300)])  # 0 inside, 1 outside
    lat = np.concatenate([[51.05, 51.05], rng.uniform(Y0, Y1, 300)])
    index, _ = located(lon, lat)
    assert len(index) == 302
    np.testing.assert_array_equal(index.match(SQUARE).by_address, [0])

    index.upsert(1, 2.31, 51.06, None)  # outside -> inside
    index.upsert(0, 2.45, 51.06, None)  # inside -> outside
    index.upsert(1_000, 2.26, 51.01, "59140")  # new, inside
    index.upsert(1_001, 2.45, 51.01, None)  # new, outside
    assert len(index) == 304
    np.testing.assert_array_equal(index.match(SQUARE).by_address, [1, 1_000])

    index.upsert(1, None, None, "59140")  # now known only by postcode, inside the zone's reach
    index.upsert(1_000, None, None, "59240")  # postcode only, out of reach
    found = index.match(SQUARE, areas)
    np.testing.assert_array_equal(found.by_address, [])
    np.testing.assert_array_equal(found.by_postcode, [1])

    index.remove(1)  # stopped
    index.remove(1)  # twice is harmless
    index.remove(99_999)  # unknown too
    assert len(index) == 303
    assert len(index.match(SQUARE, areas)) == 0

    index.compact()
    assert len(index) == 303
    assert len(index.match(SQUARE, areas)) == 0
    np.testing.assert_array_equal(
        index.match(box(2.44, 51.0, 2.46, 51.07), areas).by_postcode, [1_000]
    )
    assert 0 in index.match(box(2.449, 51.059, 2.451, 51.061)).by_address

    index.upsert(1, 2.3, 51.1, None)  # back after a STOP and a new consent
    index.upsert(0, None, None, None)  # no location, no postcode: not indexed any more
    assert len(index) == 303
    np.testing.assert_array_equal(index.match(SQUARE).by_address, [1])
    index.compact()
    np.testing.assert_array_equal(index.match(SQUARE).by_address, [1])


def test_postcode_only_subscriber_of_the_build_moves_and_stops(areas: PostcodeAreas) -> None:
    index = SubscriberIndex([1, 2], [NAN, NAN], [NAN, NAN], ["59140", "59140"])
    np.testing.assert_array_equal(index.match(SQUARE, areas).by_postcode, [1, 2])
    index.upsert(1, 2.3, 51.05, "59140")  # geocoded
    index.remove(2)
    found = index.match(SQUARE, areas)
    np.testing.assert_array_equal(found.by_address, [1])
    np.testing.assert_array_equal(found.by_postcode, [])
    index.compact()
    found = index.match(SQUARE, areas)
    np.testing.assert_array_equal(found.by_address, [1])
    np.testing.assert_array_equal(found.by_postcode, [])
    assert len(index) == 1


def test_a_large_delta_is_folded_in_and_stays_exact() -> None:
    rng = np.random.default_rng(10)
    index, _ = located(rng.uniform(2.2, 2.4, 200), rng.uniform(50.95, 51.15, 200))
    lon = rng.uniform(2.2, 2.4, 10_050)
    lat = rng.uniform(50.95, 51.15, 10_050)
    for i in range(10_050):
        index.upsert(i, float(lon[i]), float(lat[i]), None)  # moves the 200, adds the rest
    assert len(index) == 10_050
    assert len(index._delta) < 10_000  # the delta was folded into the arrays
    np.testing.assert_array_equal(
        index.match(SQUARE).by_address, reference(SQUARE, np.arange(10_050), lon, lat)
    )


def test_half_nan_location_is_handled_the_same_before_and_after_compact(
    areas: PostcodeAreas,
) -> None:
    index = SubscriberIndex([1], [2.35], [51.05], [None])
    index.upsert(2, 2.26, NAN, "59140")
    index.upsert(3, NAN, 51.01, "59140")
    zone = box(2.26, 51.01, 2.27, 51.02)  # inside 59140's area, away from everyone
    before = index.match(zone, areas)
    index.compact()
    after = index.match(zone, areas)
    np.testing.assert_array_equal(after.by_postcode, [2, 3])
    np.testing.assert_array_equal(before.by_postcode, after.by_postcode)


def test_nan_location_without_postcode_is_not_counted() -> None:
    index = SubscriberIndex([1], [2.35], [51.05], [None])
    index.upsert(2, NAN, NAN, None)
    before = len(index)
    index.compact()
    assert len(index) == before == 1


def test_overlapping_zones_match_each_subscriber_once(areas: PostcodeAreas) -> None:
    rng = np.random.default_rng(11)
    lon = rng.uniform(2.2, 2.5, 4_000)
    lat = rng.uniform(50.95, 51.2, 4_000)
    index, _ = located(lon, lat)
    index.upsert(10_000, None, None, "59140")
    index.upsert(10_001, 2.3, 51.05, None)  # in the overlap, from the delta
    index.upsert(5, 2.3, 51.06, None)  # moved into the overlap
    zone_a = SQUARE
    zone_b = Point(2.33, 51.06).buffer(0.05)
    zone_c = box(2.4, 51.1, 2.45, 51.15)  # disjoint from both
    found = index.match([zone_a, zone_b, zone_c], areas)
    assert len(np.unique(found.by_address)) == len(found.by_address)
    each = [set(index.match(z).by_address.tolist()) for z in (zone_a, zone_b, zone_c)]
    assert set(found.by_address.tolist()) == set.union(*each)
    assert len(each[0] & each[1]) > 100  # the zones overlap a lot
    assert {5, 10_001} <= each[0] & each[1]
    np.testing.assert_array_equal(found.by_postcode, [10_000])
    # Same answer in one MultiPolygon, and from the zones given twice.
    np.testing.assert_array_equal(
        index.match(MultiPolygon([zone_a, zone_c])).by_address,
        index.match([zone_a, zone_c]).by_address,
    )
    np.testing.assert_array_equal(
        index.match([zone_a, zone_b, zone_a, zone_c], areas).by_address, found.by_address
    )


# --- 8. property-based: random polygons with holes, random points --------------------------------


def polygonal(geometry: shapely.Geometry) -> Area | None:
    """The polygonal part of a geometry, or None when it has no area."""
    parts = [
        p
        for g in getattr(geometry, "geoms", [geometry])
        for p in getattr(g, "geoms", [g])
        if isinstance(p, Polygon) and not p.is_empty and p.area > 0
    ]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def snap(values: npt.NDArray[np.float64], step: float) -> npt.NDArray[np.float64]:
    return np.round(values / step) * step


@st.composite
def zones_with_holes(draw: st.DrawFn) -> tuple[Area, float]:
    """A star-shaped polygon around Dunkerque, minus a random hole; sometimes on a lattice, so that
    edges are axis-aligned and points on the lattice fall exactly on them. Returns the zone and
    the lattice step (0 when not snapped)."""
    n = draw(st.integers(3, 24))
    angles = draw(
        st.lists(st.floats(0, 2 * math.pi, exclude_max=True), min_size=n, max_size=n, unique=True)
    )
    radii = draw(st.lists(st.floats(0.1, 1.0), min_size=n, max_size=n))
    scale = 2.0 ** -draw(st.integers(3, 9))  # 0.125 to 0.002 degrees
    cx, cy = 2.3125, 51.0625
    order = np.argsort(angles)
    a, r = np.asarray(angles)[order], np.asarray(radii)[order] * scale
    x, y = cx + r * np.cos(a), cy + r * np.sin(a)
    step = scale / draw(st.sampled_from([4, 8, 16])) if draw(st.booleans()) else 0.0
    if step:
        x, y = snap(x, step), snap(y, step)
    shell = polygonal(shapely.make_valid(Polygon(np.column_stack([x, y]))))
    assume(shell is not None)
    assert shell is not None
    kind = draw(st.sampled_from(["none", "circle", "polygon"]))
    event(f"hole: {kind}, on a lattice: {bool(step)}")
    if kind != "none":
        hx = cx + draw(st.floats(-0.5, 0.5)) * scale
        hy = cy + draw(st.floats(-0.5, 0.5)) * scale
        hr = draw(st.floats(0.05, 0.6)) * scale
        if kind == "circle":
            hole: shapely.Geometry = Point(hx, hy).buffer(hr, quad_segs=draw(st.integers(1, 8)))
        else:
            m = draw(st.integers(3, 8))
            ha = np.sort(draw(st.lists(st.floats(0, 2 * math.pi), min_size=m, max_size=m)))
            hole = Polygon(np.column_stack([hx + hr * np.cos(ha), hy + hr * np.sin(ha)]))
        if step:
            hole = shapely.transform(hole, lambda xy: snap(xy, step))
        hole = shapely.make_valid(hole)
        shell = polygonal(shell.difference(hole))
        assume(shell is not None)
    assert shell is not None
    return shell, step


@st.composite
def points_near(draw: st.DrawFn, zone: Area, step: float) -> tuple[Any, Any]:
    """Random points around the zone, its vertices, and (on a lattice) points on its edges."""
    many = draw(st.integers(0, 2)) > 0  # thousands, so that the quadtree splits, or a handful
    count = draw(st.integers(1_000, 4_000) if many else st.integers(0, 3 * LEAF_POINTS))
    event(f"random points: {'thousands' if many else 'a few'}")
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = zone.bounds
    margin = draw(st.sampled_from([0.0, 0.1, 1.0])) * max(maxx - minx, maxy - miny)
    x = rng.uniform(minx - margin, maxx + margin, count)
    y = rng.uniform(miny - margin, maxy + margin, count)
    if step:
        # A third of them on the lattice: exactly on axis-aligned edges and on vertices.
        third = count // 3
        x[:third], y[:third] = snap(x[:third], step), snap(y[:third], step)
    vertices = shapely.get_coordinates(zone)
    if draw(st.booleans()):
        vertices = np.repeat(
            vertices, draw(st.integers(1, 3 * LEAF_POINTS)) // len(vertices) + 1, 0
        )
    x = np.concatenate([x, vertices[:, 0]])
    y = np.concatenate([y, vertices[:, 1]])
    return x, y


@st.composite
def cases(draw: st.DrawFn) -> tuple[Area, Any, Any]:
    zone, step = draw(zones_with_holes())
    x, y = draw(points_near(zone, step))
    return zone, x, y


@FAST
@given(cases(), st.integers(0, 2**31))
def test_index_agrees_with_shapely_on_random_polygons_with_holes(
    case: tuple[Area, Any, Any], id_seed: int
) -> None:
    zone, x, y = case
    ids = np.random.default_rng(id_seed).permutation(10 * len(x) + 1)[: len(x)].astype(np.int64)
    index = SubscriberIndex(ids, x, y, [None] * len(ids))
    found = index.match(zone)
    np.testing.assert_array_equal(found.by_address, reference(zone, ids, x, y))
    # Every vertex of the zone is a boundary point, hence inside.
    vertices = shapely.get_coordinates(zone)
    assert shapely.intersects_xy(zone, vertices[:, 0], vertices[:, 1]).all()


@FAST
@given(zones_with_holes(), zones_with_holes(), st.integers(0, 2**32 - 1))
def test_several_zones_match_the_union_once(
    first: tuple[Area, float], second: tuple[Area, float], seed: int
) -> None:
    zone_a, zone_b = first[0], affinity.translate(second[0], xoff=0.01)
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = shapely.union(zone_a, zone_b).bounds
    x = np.concatenate([rng.uniform(minx, maxx, 2_000), shapely.get_coordinates(zone_a)[:, 0]])
    y = np.concatenate([rng.uniform(miny, maxy, 2_000), shapely.get_coordinates(zone_a)[:, 1]])
    index, ids = located(x, y)
    found = index.match([zone_a, zone_b]).by_address
    inside = shapely.intersects_xy(zone_a, x, y) | shapely.intersects_xy(zone_b, x, y)
    np.testing.assert_array_equal(found, ids[inside])


# A model of the index: id -> (lon, lat, postcode), lon and lat None for postcode-only.
Model = dict[int, tuple[float | None, float | None, str | None]]
LOCATIONS = st.tuples(st.floats(2.2, 2.5), st.floats(50.95, 51.2))
POSTCODES = st.sampled_from([None, "59140", "59240", "59430"])
SUBSCRIBER = st.integers(0, 60)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("move"), SUBSCRIBER, LOCATIONS, POSTCODES),
        st.tuples(st.just("postcode only"), SUBSCRIBER, POSTCODES),
        st.tuples(st.just("remove"), SUBSCRIBER),
        st.tuples(st.just("compact")),
    ),
    max_size=50,
)


def expected_match(model: Model, zone: Area, areas: PostcodeAreas) -> tuple[list[int], list[int]]:
    reach = areas.intersecting(zone)
    by_address = sorted(
        i
        for i, (x, y, _) in model.items()
        if x is not None and y is not None and shapely.intersects_xy(zone, x, y)
    )
    by_postcode = sorted(i for i, (x, _, code) in model.items() if x is None and code in reach)
    return by_address, by_postcode


@FAST
@given(st.integers(0, 2**32 - 1), OPERATIONS)
def test_incremental_updates_agree_with_a_model(seed: int, operations: list[Any]) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    lon = rng.uniform(2.2, 2.5, n)
    lat = rng.uniform(50.95, 51.2, n)
    codes = rng.choice(np.array(["59140", "59240", "59430", ""], dtype=object), n)
    unlocated = rng.uniform(0, 1, n) < 0.2
    lon[unlocated] = lat[unlocated] = NAN
    index = SubscriberIndex(range(n), lon, lat, [c or None for c in codes])
    model: Model = {
        i: (None, None, codes[i])
        if unlocated[i]
        else (float(lon[i]), float(lat[i]), codes[i] or None)
        for i in range(n)
        if not unlocated[i] or codes[i]
    }
    areas = PostcodeAreas(
        {
            "59140": box(2.2, 50.95, 2.3, 51.2),
            "59240": box(2.3, 50.95, 2.4, 51.2),
            "59430": box(2.45, 51.15, 2.5, 51.2),
        }
    )
    flood = SQUARE.difference(Point(2.3125, 51.0625).buffer(0.02))
    assert isinstance(flood, Polygon)
    zones: list[Area] = [flood, box(2.29, 51.1, 2.33, 51.15)]
    together = shapely.union_all(zones)
    assert isinstance(together, Polygon | MultiPolygon)
    for operation in operations:
        match operation:
            case ("move", i, (x, y), code):
                index.upsert(i, x, y, code)
                model[i] = (x, y, code)
            case ("postcode only", i, code):
                index.upsert(i, None, None, code)
                if code is None:
                    model.pop(i, None)
                else:
                    model[i] = (None, None, code)
            case ("remove", i):
                index.remove(i)
                model.pop(i, None)
            case ("compact",):
                index.compact()
        assert len(index) == len(model)
    for zone in (*zones, together):
        found = index.match(zone, areas)
        by_address, by_postcode = expected_match(model, zone, areas)
        assert found.by_address.tolist() == by_address
        assert found.by_postcode.tolist() == by_postcode
    both = index.match(zones, areas)
    assert len(np.unique(both.all)) == len(both)  # each subscriber once


def test_a_postcode_that_is_not_digits_is_refused() -> None:
    with pytest.raises(ValueError, match="postcode 'ABC12' is not digits"):
        SubscriberIndex([1], [NAN], [NAN], ["ABC12"])


def test_postcodes_may_be_left_out() -> None:
    index = SubscriberIndex([1, 2], [2.35, NAN], [51.05, NAN])
    assert len(index) == 1  # the second has neither a location nor a postcode
