"""Waste sectors: the service's GeoJSON, one feature per sector, stored as zones of kind
``waste_sector`` (any CRS; each checked and repaired as any zone). Imported again, a sector
already stored under its name is kept as it is and reported."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg

from alertd.alerts.hazard_zones import default_tenant, save_zone
from alertd.config import ZonesConfig
from alertd.errors import ConflictError, InputError
from zones import ZoneError
from zones.geojson import load_geojson, read_zone

DEMO_FILE = "cud_waste_sectors_synthetic.geojson"


@dataclass(frozen=True, slots=True)
class Sector:
    zone_id: int
    name: str
    created: bool  # False: already stored under this name


def demo_sectors() -> bytes:
    """The synthetic demo sectors shipped with alertd (labelled as such in the file)."""
    return resources.files("alertd").joinpath("data", DEMO_FILE).read_bytes()


def _features(data: bytes | str) -> tuple[list[Mapping[str, Any]], Any]:
    try:
        doc = load_geojson(data)
    except ZoneError as exc:
        raise InputError(str(exc)) from None
    features = doc.get("features") if doc.get("type") == "FeatureCollection" else None
    if not isinstance(features, list) or not features:
        raise InputError("expected a GeoJSON FeatureCollection with one feature per sector")
    return features, doc.get("crs")


async def import_sectors(
    pool: asyncpg.Pool,
    data: bytes | str,
    *,
    tenant: str | None,
    name_property: str,
    crs: str | None,
    config: ZonesConfig,
    actor: str,
) -> list[Sector]:
    features, declared = _features(data)
    code = await default_tenant(pool, tenant)
    found: list[Sector] = []
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") if isinstance(feature, Mapping) else None
        name = str((props or {}).get(name_property) or "").strip()
        if not name:
            raise InputError(
                f"feature {number} has no {name_property!r} property: each sector needs a name "
                "(--name-property says which property holds it)"
            )
        one = {"type": "FeatureCollection", "features": [feature]}
        if declared:
            one["crs"] = declared
        try:
            zone = read_zone(one, crs, config.extent)
        except ZoneError as exc:
            raise InputError(f"sector {name!r} (feature {number}): {exc}") from None
        try:
            stored = await save_zone(
                pool, zone, tenant=code, kind="waste_sector", name=name, actor=actor
            )
        except ConflictError:
            zone_id = await pool.fetchval(
                "SELECT z.id FROM zones z JOIN tenants t ON t.id = z.tenant_id "
                "WHERE z.kind = 'waste_sector' AND z.name = $1 AND t.code = $2",
                name,
                code,
            )
            found.append(Sector(int(zone_id), name, created=False))
            continue
        found.append(Sector(stored.id, name, created=True))
    return found
