"""A tenant's targeting data, imported once: its postcode areas, its territory's outline and its
plausible extent. Stored in the database (``delivery/targeting.py`` reads them), so that every
workstation and every daemon computes the same recipients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
from shapely.geometry import mapping, shape

from alertd import audit
from alertd.errors import InputError
from alertd.store.queries import queries
from alertd.tenants import get_tenant
from zones import PostcodeAreas, Zone, ZoneError, read_zone
from zones.geojson import Area, Extent, dissolve

MAX_FILE_BYTES = 50 * 1024 * 1024
# Around the territory, what is still plausibly meant (a zone drawn across its edge, a
# neighbour's site whose circle reaches in): about 35 to 55 km. Further, it is a CRS mistake.
EXTENT_MARGIN_DEG = 0.5
DEMO_AREAS = "demo"  # the synthetic areas shipped for the demo: never for a real alert


@dataclass(frozen=True, slots=True)
class TerritoryImport:
    tenant: str
    postcodes: int | None  # areas imported; None: left as they were
    outline: bool  # an outline was imported
    extent: Extent


def read_geojson_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"{path} is {size // 1_000_000} MB: simplify it first (max 50 MB)")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"file {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def read_areas(source: Path | str, crs: str | None, extent: Extent) -> PostcodeAreas:
    """Postcode areas from a GeoJSON FeatureCollection (``demo``: the shipped synthetic ones)."""
    if str(source) == DEMO_AREAS:
        data = (
            resources.files("alertd")
            .joinpath("data", "cud_postcodes_synthetic.geojson")
            .read_bytes()
        )
    else:
        data = read_geojson_file(Path(source))
    try:
        return PostcodeAreas.from_geojson(data, crs, extent=extent)
    except ZoneError as exc:
        raise InputError(f"postcode areas ({source}): {exc}") from None


def read_outline(path: Path, crs: str | None, extent: Extent) -> Zone:
    try:
        return read_zone(read_geojson_file(path), crs, extent)
    except ZoneError as exc:
        raise InputError(f"territory outline ({path.name}): {exc}") from None


def grown_extent(area: Area) -> Extent:
    minx, miny, maxx, maxy = area.bounds
    m = EXTENT_MARGIN_DEG
    return (
        round(minx - m, 4),
        round(miny - m, 4),
        round(maxx + m, 4),
        round(maxy + m, 4),
    )


async def import_territory(
    pool: asyncpg.Pool,
    code: str,
    *,
    areas: PostcodeAreas | None,
    outline: Area | None,
    actor: str,
) -> TerritoryImport:
    """Replace the tenant's postcode areas (when given) and outline (when given; else the one
    already stored, else the areas' union stands for it), and derive the plausible extent from the
    outline. One transaction."""
    if areas is None and outline is None:
        raise InputError("nothing to import: give --postcode-areas FILE and/or --outline FILE")
    shapes = {c: a for c in areas.codes if (a := areas.area(c)) is not None} if areas else {}
    async with pool.acquire() as conn, conn.transaction():
        tenant = await get_tenant(conn, code)
        kept = outline is None and tenant["outline"] is not None
        area: Area = outline or _outline_of(tenant["outline"], shapes)
        extent = grown_extent(area)
        if areas is not None:
            await conn.execute(queries("tenants")["clear_postcode_areas"], tenant["id"])
            await conn.execute(
                queries("tenants")["insert_postcode_areas"],
                tenant["id"],
                list(shapes),
                [dict(mapping(a)) for a in shapes.values()],
            )
        await conn.execute(
            queries("tenants")["set_targeting"],
            tenant["id"],
            None if kept else dict(mapping(area)),
            list(extent),
        )
        await audit.record(
            conn,
            actor=actor,
            action="tenant.import_territory",
            target=f"tenant:{tenant['id']}",
            tenant_id=tenant["id"],
            details={
                "postcodes": len(areas) if areas is not None else None,
                "outline": "kept" if kept else "imported",
                "extent": list(extent),
            },
        )
    return TerritoryImport(code, len(areas) if areas is not None else None, True, extent)


def _outline_of(stored: Mapping[str, Any] | None, shapes: Mapping[str, Area]) -> Area:
    """The outline already stored, else the union of the postcode areas."""
    if stored:
        return shape(dict(stored))  # type: ignore[return-value]
    return dissolve(list(shapes.values()))


async def import_demo_areas(pool: asyncpg.Pool, code: str, extent: Extent, actor: str) -> None:
    """What the demo calls: the synthetic postcode areas (and their union as the outline) for
    the demo's intercommunality."""
    await import_territory(
        pool, code, areas=read_areas(DEMO_AREAS, None, extent), outline=None, actor=actor
    )
