"""A tenant's targeting data, read from the database: the postcode areas (where a resident known
only by a postcode may live), the plausible extent and the territory's outline.

They are the tenant's data, imported once (``alertd tenants import-territory``), never read from
a workstation's configuration: a preview and a send compute the same recipients wherever they
run. A commune uses its own data where it has some, else its intercommunality's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shapely.geometry import shape

from alertd.store.queries import queries
from alertd.store.types import Queryable
from zones import PostcodeAreas
from zones.geojson import Area, Extent

# Parsed areas by (tenant ids, versions): an import bumps the version, so a cache never serves
# stale areas; a few entries, one per territory in use.
_AREAS: dict[tuple[Any, ...], PostcodeAreas | None] = {}


@dataclass(frozen=True, slots=True)
class Targeting:
    extent: Extent | None  # None: the deployment's default
    outline: Area | None  # None: no territory outline imported


async def postcode_areas(conn: Queryable, tenant_id: int) -> PostcodeAreas | None:
    """The postcode areas that apply to this tenant's residents (its own, and its
    intercommunality's for the postcodes it has none of); None when none were imported."""
    key = tuple(await conn.fetchval(queries("tenants")["targeting_key"], tenant_id) or ())
    if key in _AREAS:
        return _AREAS[key]
    rows = await conn.fetch(queries("tenants")["postcode_areas"], tenant_id)
    areas: dict[str, Area] = {}
    for r in rows:  # the tenant's own rows come first: they win over the parent's
        areas.setdefault(r["postcode"], shape(r["geometry"]))  # type: ignore[arg-type]
    found = PostcodeAreas(areas) if areas else None
    if len(_AREAS) > 64:
        _AREAS.clear()
    _AREAS[key] = found
    return found


async def targeting(conn: Queryable, tenant_id: int) -> Targeting:
    row = await conn.fetchrow(queries("tenants")["targeting"], tenant_id)
    extent = tuple(row["extent"]) if row and row["extent"] else None
    outline = row["outline"] if row else None
    return Targeting(
        extent,
        shape(_mapping(outline)) if outline else None,  # type: ignore[arg-type]
    )


def _mapping(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)
