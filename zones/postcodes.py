"""Postcode areas: where a subscriber who gave only a postcode may live.

A subscriber without coordinates is inside a hazard zone when their postcode's area intersects it:
over-alerting a postcode is better than missing a resident. Areas come from a GeoJSON
FeatureCollection the deployer provides (one or more features per postcode, in any CRS).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shapely.strtree import STRtree

from zones.crs import METROPOLE
from zones.errors import ZoneError
from zones.geojson import Area, Extent, dissolve, load_geojson, read_zone

_KEYS = ("postcode", "code_postal", "codepostal", "cp", "postal_code")


def _postcode_of(properties: Mapping[str, Any], number: int) -> str:
    for key in _KEYS:
        value = properties.get(key)
        if value is not None:
            code = str(value).strip()
            if len(code) == 4 and code.isdigit():
                code = "0" + code
            if len(code) == 5 and code.isdigit():
                return code
            raise ZoneError(f"feature {number}: postcode {value!r} is not five digits")
    raise ZoneError(f"feature {number} has no postcode property (one of {', '.join(_KEYS)})")


class PostcodeAreas:
    def __init__(self, areas: Mapping[str, Area]) -> None:
        self.codes = sorted(areas)
        self._geoms = [areas[c] for c in self.codes]
        self._tree = STRtree(self._geoms)

    def __len__(self) -> int:
        return len(self.codes)

    def area(self, code: str) -> Area | None:
        try:
            return self._geoms[self.codes.index(code)]
        except ValueError:
            return None

    @classmethod
    def from_geojson(
        cls,
        data: str | bytes | Mapping[str, Any],
        crs: str | None = None,
        extent: Extent = METROPOLE,
    ) -> PostcodeAreas:
        doc = load_geojson(data)
        if doc.get("type") != "FeatureCollection" or not doc.get("features"):
            raise ZoneError("postcode areas must be a FeatureCollection, one feature a postcode")
        parts: dict[str, list[Area]] = {}
        for i, feature in enumerate(doc["features"], start=1):
            if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
                raise ZoneError(f"feature {i} is not a GeoJSON Feature with properties")
            code = _postcode_of(feature["properties"], i)
            # The collection's CRS applies to each feature, read on its own.
            single = {**feature, "crs": doc["crs"]} if "crs" in doc else feature
            try:
                area = read_zone(single, crs, extent).geometry
            except ZoneError as exc:
                message = str(exc).replace("the feature", f"feature {i}", 1)
                raise ZoneError(
                    message if message.startswith(f"feature {i}") else f"feature {i}: {message}"
                ) from None
            parts.setdefault(code, []).append(area)
        return cls({code: dissolve(areas) for code, areas in parts.items()})

    def intersecting(self, zone: Area) -> set[str]:
        """The postcodes whose area intersects the zone (touching counts)."""
        hits = self._tree.query(zone, predicate="intersects")
        return {self.codes[i] for i in hits}
