"""Targets without drawing: whole communes (INSEE codes) and postcodes, as one zone.

A commune is its outline when one was imported (``tenants import-territory``), else the areas of
its postcodes; a postcode is its area. Both are the tenant's own targeting data, so a preview
and a firing compute the same recipients wherever they run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shapely import union_all
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from alertd.delivery.targeting import postcode_areas
from alertd.errors import ForbiddenError, InputError
from alertd.store.types import Queryable
from alertd.tenants import territory

_COMMUNES = """
SELECT id, code, name, outline, postcodes FROM tenants WHERE code = ANY($1::text[])
"""


async def geometry(
    conn: Queryable, tenant_id: int, communes: Sequence[str], postcodes: Sequence[str]
) -> Mapping[str, Any] | None:
    """One WGS84 GeoJSON geometry for the communes and postcodes named; None when none are."""
    if not communes and not postcodes:
        return None
    areas = await postcode_areas(conn, tenant_id)
    shapes: list[BaseGeometry] = []
    wanted = list(postcodes)
    if communes:
        rows = {r["code"]: r for r in await conn.fetch(_COMMUNES, list(communes))}
        unknown = [c for c in communes if c not in rows]
        if unknown:
            raise InputError(
                f"no commune with INSEE code {', '.join(unknown)} (alertd tenants list)"
            )
        mine = await territory(conn, tenant_id)
        foreign = [c for c in communes if rows[c]["id"] not in mine]
        if foreign:
            raise ForbiddenError(f"commune(s) {', '.join(foreign)} lie outside this territory")
        for code in communes:
            row = rows[code]
            if row["outline"]:
                shapes.append(shape(dict(row["outline"])))
            elif row["postcodes"]:
                wanted.extend(row["postcodes"])
            else:
                raise InputError(
                    f"commune {code} ({row['name']}) has neither an outline nor postcodes: "
                    "import its territory (alertd tenants import-territory)"
                )
    if wanted:
        found = {p: areas.area(p) if areas is not None else None for p in wanted}
        missing = sorted(p for p, area in found.items() if area is None)
        if missing:
            raise InputError(
                f"no area for postcode(s) {', '.join(missing)} in this territory (alertd tenants "
                "import-territory brings them)"
            )
        shapes.extend(area for area in found.values() if area is not None)
    return dict(mapping(union_all(shapes)))


async def combined(
    conn: Queryable,
    tenant_id: int,
    drawn: Mapping[str, Any] | None,
    communes: Sequence[str],
    postcodes: Sequence[str],
) -> Mapping[str, Any] | None:
    """A drawn zone (a file, a circle) and whole communes and postcodes, as one geometry."""
    named = await geometry(conn, tenant_id, communes, postcodes)
    if named is None or drawn is None:
        return named or drawn
    return dict(mapping(union_all([shape(dict(drawn)), shape(dict(named))])))
