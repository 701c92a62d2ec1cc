"""The subscriber index: who lives inside a zone, exactly, for a million subscribers at once.

Located subscribers (lon/lat) are kept in numpy arrays sorted by the Z-order (Morton) code of
a 2^16 by 2^16 grid over their extent. Every quadtree node of that grid is then one contiguous
slice of the arrays. ``match`` walks the quadtree over the zone: a node whose (slightly padded)
box lies properly inside the zone contributes its whole slice without a single point test; a node
outside is dropped; a node on the boundary is split until it holds few points, which are then
tested exactly with ``shapely.intersects_xy``. The result is the same set a point-by-point test
gives, boundary points included, at a fraction of the cost.

Subscribers who gave only a postcode are matched through the postcode areas that intersect the
zone. Changes after the build (added, moved, stopped) go to a small delta, tested directly, and
are folded into the sorted arrays when the delta grows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from zones.geojson import Area, dissolve
from zones.postcodes import PostcodeAreas

LEVELS = 16  # finest grid: 65 536 cells a side (a few metres over an intercommunality)
LEAF_POINTS = 64  # below this, testing the points beats splitting the node again
_NO_POSTCODE = -1
IdArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Match:
    by_address: IdArray  # subscribers whose location is inside, sorted
    by_postcode: IdArray  # subscribers known only by a postcode whose area intersects, sorted

    def __len__(self) -> int:
        return len(self.by_address) + len(self.by_postcode)

    @property
    def all(self) -> IdArray:
        return np.union1d(self.by_address, self.by_postcode)


def _spread(v: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Insert a zero bit between the 16 low bits of v (for Morton interleaving)."""
    v = v & np.uint64(0xFFFF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
    v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
    v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
    return (v | (v << np.uint64(1))) & np.uint64(0x55555555)


def morton(ix: npt.NDArray[np.integer], iy: npt.NDArray[np.integer]) -> npt.NDArray[np.uint64]:
    return _spread(ix.astype(np.uint64)) | (_spread(iy.astype(np.uint64)) << np.uint64(1))


def _ranges(lo: npt.NDArray[np.intp], hi: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """All positions in the half-open ranges [lo, hi), concatenated."""
    lengths = hi - lo
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.intp)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return np.arange(total, dtype=np.intp) + starts


class _Grid:
    """Points sorted by Morton code over a fixed extent."""

    def __init__(self, ids: IdArray, x: FloatArray, y: FloatArray) -> None:
        if len(ids):
            x0, y0, x1, y1 = float(x.min()), float(y.min()), float(x.max()), float(y.max())
        else:
            x0 = y0 = 0.0
            x1 = y1 = 1.0
        # Square cells in degrees are not square on the ground; it does not matter here.
        size = max(x1 - x0, y1 - y0, 1e-6) * (1 + 1e-9)
        self.x0, self.y0, self.size = x0, y0, size
        n = 1 << LEVELS
        ix = np.minimum(((x - x0) / size * n).astype(np.int64), n - 1)
        iy = np.minimum(((y - y0) / size * n).astype(np.int64), n - 1)
        codes = morton(ix, iy)
        order = np.argsort(codes, kind="stable")
        self.codes = codes[order]
        self.ids = ids[order]
        self.x = x[order]
        self.y = y[order]
        self.alive = np.ones(len(ids), dtype=bool)
        by_id = np.argsort(self.ids)
        self.sorted_ids = self.ids[by_id]
        self.position_of_sorted = by_id

    def position(self, subscriber: int) -> int | None:
        i = int(np.searchsorted(self.sorted_ids, subscriber))
        if i < len(self.sorted_ids) and self.sorted_ids[i] == subscriber:
            return int(self.position_of_sorted[i])
        return None

    def match(self, zone: Area) -> IdArray:
        if not len(self.ids):
            return np.empty(0, dtype=np.int64)
        whole, exact = self._walk(zone)
        take = [_ranges(whole[0], whole[1])]
        candidates = _ranges(exact[0], exact[1])
        if len(candidates):
            inside = shapely.intersects_xy(zone, self.x[candidates], self.y[candidates])
            take.append(candidates[inside])
        positions = np.concatenate(take)
        positions = positions[self.alive[positions]]
        return self.ids[positions]

    def _start(self, zone: Area) -> tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The nodes at a coarse level that cover the zone's bounding box."""
        minx, miny, maxx, maxy = zone.bounds
        extent = max(maxx - minx, maxy - miny, 1e-12)
        level = int(np.clip(np.floor(np.log2(self.size / extent)), 0, LEVELS))
        n = 1 << level
        cell = self.size / n

        def span(lo: float, hi: float, origin: float) -> npt.NDArray[np.int64]:
            a = int(np.clip(np.floor((lo - origin) / cell), 0, n - 1))
            b = int(np.clip(np.floor((hi - origin) / cell), 0, n - 1))
            return np.arange(a, b + 1, dtype=np.int64)

        gx, gy = np.meshgrid(span(minx, maxx, self.x0), span(miny, maxy, self.y0))
        return level, gx.ravel(), gy.ravel()

    def _walk(
        self, zone: Area
    ) -> tuple[
        tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]],
        tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]],
    ]:
        whole_lo, whole_hi, exact_lo, exact_hi = [], [], [], []
        level, ix, iy = self._start(zone)
        while len(ix):
            shift = np.uint64(2 * (LEVELS - level))
            prefix = morton(ix, iy)
            lo = np.searchsorted(self.codes, prefix << shift)
            hi = np.searchsorted(self.codes, (prefix + np.uint64(1)) << shift)
            keep = hi > lo
            ix, iy, lo, hi = ix[keep], iy[keep], lo[keep], hi[keep]
            leaf = (hi - lo <= LEAF_POINTS) | (level == LEVELS)
            exact_lo.append(lo[leaf])
            exact_hi.append(hi[leaf])
            ix, iy, lo, hi = ix[~leaf], iy[~leaf], lo[~leaf], hi[~leaf]
            if not len(ix):
                break
            cell = self.size / (1 << level)
            pad = cell * 1e-6  # a point on a cell's edge must lie inside the box tested
            boxes = shapely.box(
                self.x0 + ix * cell - pad,
                self.y0 + iy * cell - pad,
                self.x0 + (ix + 1) * cell + pad,
                self.y0 + (iy + 1) * cell + pad,
            )
            touching = shapely.intersects(zone, boxes)
            ix, iy, lo, hi, boxes = (
                ix[touching],
                iy[touching],
                lo[touching],
                hi[touching],
                boxes[touching],
            )
            inside = shapely.contains_properly(zone, boxes)
            whole_lo.append(lo[inside])
            whole_hi.append(hi[inside])
            ix, iy = ix[~inside], iy[~inside]
            # Split the boundary nodes into their four children.
            ix = np.concatenate([2 * ix, 2 * ix + 1, 2 * ix, 2 * ix + 1])
            iy = np.concatenate([2 * iy, 2 * iy, 2 * iy + 1, 2 * iy + 1])
            level += 1

        def cat(parts: list[npt.NDArray[np.intp]]) -> npt.NDArray[np.intp]:
            return np.concatenate(parts) if parts else np.empty(0, dtype=np.intp)

        return (cat(whole_lo), cat(whole_hi)), (cat(exact_lo), cat(exact_hi))


def postcode_number(code: str | None) -> int:
    if not code:
        return _NO_POSTCODE
    if not code.isdigit():
        raise ValueError(f"postcode {code!r} is not digits")
    return int(code)


class SubscriberIndex:
    """Subscribers' locations (or only postcodes), matched against zones."""

    def __init__(
        self,
        ids: Iterable[int] = (),
        lon: Iterable[float] = (),
        lat: Iterable[float] = (),
        postcodes: Iterable[str | None] | None = None,
    ) -> None:
        """Postcodes None: nobody has one (only located subscribers are matched)."""
        ids_a = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        lon_a = np.asarray(list(lon) if not isinstance(lon, np.ndarray) else lon, dtype=np.float64)
        lat_a = np.asarray(list(lat) if not isinstance(lat, np.ndarray) else lat, dtype=np.float64)
        codes = (
            np.full(len(ids_a), _NO_POSTCODE, dtype=np.int32)
            if postcodes is None
            else np.fromiter((postcode_number(p) for p in postcodes), dtype=np.int32)
        )
        if not (len(ids_a) == len(lon_a) == len(lat_a) == len(codes)):
            raise ValueError("ids, lon, lat and postcodes must have the same length")
        if len(np.unique(ids_a)) != len(ids_a):
            raise ValueError("subscriber ids must be unique")
        self._build(ids_a, lon_a, lat_a, codes)

    @classmethod
    def from_arrays(
        cls, ids: IdArray, lon: FloatArray, lat: FloatArray, codes: npt.NDArray[np.int32]
    ) -> SubscriberIndex:
        """From columns already in numpy (postcodes as numbers, -1 for none; ids unique): no
        Python object per subscriber, for a million of them loaded at once."""
        index = cls.__new__(cls)
        index._build(ids, lon, lat, codes)
        return index

    def _build(
        self, ids: IdArray, lon: FloatArray, lat: FloatArray, codes: npt.NDArray[np.int32]
    ) -> None:
        located = ~(np.isnan(lon) | np.isnan(lat))
        self._grid = _Grid(ids[located], lon[located], lat[located])
        unlocated = ~located & (codes != _NO_POSTCODE)
        order = np.argsort(ids[unlocated])
        self._p_ids = ids[unlocated][order]
        self._p_codes = codes[unlocated][order]
        self._p_alive = np.ones(len(self._p_ids), dtype=bool)
        # Changes since the build: id -> (lon, lat, postcode number).
        self._delta: dict[int, tuple[float, float, int]] = {}

    def __len__(self) -> int:
        return int(self._grid.alive.sum() + self._p_alive.sum()) + len(self._delta)

    # --- incremental updates -------------------------------------------------------------------

    def upsert(
        self, subscriber: int, lon: float | None, lat: float | None, postcode: str | None
    ) -> None:
        """Add a subscriber, or move one (new location or postcode)."""
        self.remove(subscriber)
        if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
            if postcode is None:
                return  # nowhere to match them: nothing to index
            lon = lat = math.nan
        self._delta[subscriber] = (float(lon), float(lat), postcode_number(postcode))
        if len(self._delta) > max(10_000, len(self) // 20):
            self.compact()

    def remove(self, subscriber: int) -> None:
        """Forget a subscriber (stopped, erased)."""
        self._delta.pop(subscriber, None)
        position = self._grid.position(subscriber)
        if position is not None:
            self._grid.alive[position] = False
        i = int(np.searchsorted(self._p_ids, subscriber))
        if i < len(self._p_ids) and self._p_ids[i] == subscriber:
            self._p_alive[i] = False

    def compact(self) -> None:
        """Fold the delta into the sorted arrays (O(n log n))."""
        g = self._grid
        located_ids = g.ids[g.alive]
        d_ids = np.fromiter(self._delta.keys(), dtype=np.int64, count=len(self._delta))
        d_vals = np.array(list(self._delta.values()), dtype=np.float64).reshape(-1, 3)
        ids = np.concatenate([located_ids, self._p_ids[self._p_alive], d_ids])
        lon = np.concatenate(
            [g.x[g.alive], np.full(int(self._p_alive.sum()), np.nan), d_vals[:, 0]]
        )
        lat = np.concatenate(
            [g.y[g.alive], np.full(int(self._p_alive.sum()), np.nan), d_vals[:, 1]]
        )
        codes = np.concatenate(
            [
                np.full(len(located_ids), _NO_POSTCODE, dtype=np.int32),
                self._p_codes[self._p_alive],
                d_vals[:, 2].astype(np.int32),
            ]
        )
        self._build(ids, lon, lat, codes)

    # --- matching -------------------------------------------------------------------------------

    def match(
        self, zones: Sequence[Area] | Area, postcode_areas: PostcodeAreas | None = None
    ) -> Match:
        """Everyone inside any of the zones, each once; boundary points count as inside."""
        parts = [zones] if isinstance(zones, shapely.Geometry) else list(zones)
        if not parts:
            return Match(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
        zone = dissolve(parts)
        shapely.prepare(zone)
        by_address = [self._grid.match(zone)]
        by_postcode = []
        if postcode_areas is not None:
            numbers = np.array([int(c) for c in postcode_areas.intersecting(zone)], dtype=np.int32)
            hit = np.isin(self._p_codes, numbers) & self._p_alive
            by_postcode.append(self._p_ids[hit])
        else:
            numbers = np.empty(0, dtype=np.int32)
        if self._delta:
            address, postcode = self._match_delta(zone, numbers)
            by_address.append(address)
            by_postcode.append(postcode)
        return Match(
            np.sort(np.concatenate(by_address)),
            np.sort(np.concatenate(by_postcode)) if by_postcode else np.empty(0, dtype=np.int64),
        )

    def _match_delta(self, zone: Area, numbers: npt.NDArray[np.int32]) -> tuple[IdArray, IdArray]:
        ids = np.fromiter(self._delta.keys(), dtype=np.int64, count=len(self._delta))
        vals = np.array(list(self._delta.values()), dtype=np.float64).reshape(-1, 3)
        located = ~np.isnan(vals[:, 0])
        inside = np.zeros(len(ids), dtype=bool)
        inside[located] = shapely.intersects_xy(zone, vals[located, 0], vals[located, 1])
        by_postcode = ~located & np.isin(vals[:, 2].astype(np.int32), numbers)
        return ids[inside], ids[by_postcode]
