"""Hazard zones in the store: import from GeoJSON, circles around sites, listing and inspection.

Geometry is checked and transformed by the pure ``zones`` package; this module adds the tenant,
the database and the audit log. Zones are stored in WGS84 (GeoJSON in a jsonb column) with the CRS
they came in, and with their area and vertex count in the properties for quick listing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import shapely
from shapely.geometry import shape

from alertd import audit
from alertd.config import METROPOLE_EXTENT, ZonesConfig
from alertd.delivery.targeting import postcode_areas, targeting
from alertd.errors import ConflictError, InputError, NotFoundError
from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.subscribers.index import load_index
from alertd.tenants import get_tenant, territory
from zones import Zone, ZoneError, area_km2, buffer, circle, read_zone, zone_from_geometry
from zones.geojson import Extent, check_extent

KINDS = ("flood", "submersion", "industrial", "waste_sector", "postcode", "custom")
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredZone:
    """A zone just saved, and what was done to its geometry on the way (notes)."""

    id: int
    name: str
    kind: str
    tenant: str  # the owner's code
    area_km2: float
    vertices: int
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ZoneLine:
    """One zone in the list."""

    id: int
    tenant_code: str
    kind: str
    name: str
    source_crs: str
    created_at: datetime
    # as the properties hold them, read as text (they are only shown): None when absent
    area_km2: str | None
    vertices: str | None


@dataclass(frozen=True, slots=True)
class ZoneInfo:
    """What a duty officer checks before using a zone: size, shape, and who is inside."""

    id: int
    name: str
    kind: str
    tenant: str
    source_crs: str
    area_km2: float
    vertices: int
    bbox: tuple[float, float, float, float]  # lon min, lat min, lon max, lat max
    subscribers_by_address: int
    subscribers_by_postcode: int
    postcode_areas: str  # "imported" or "not imported" (alertd tenants import-territory)
    subscribers_indexed: int


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InputError(f"zone kind {kind!r} is not one of {', '.join(KINDS)}")
    return kind


async def default_tenant(conn: Queryable, code: str | None) -> str:
    """The tenant named, else the intercommunality when there is exactly one."""
    if code:
        return code
    roots = [r["code"] for r in await conn.fetch(queries("zones")["root_tenants"])]
    if len(roots) != 1:
        raise InputError(
            "give --tenant CODE: the zone's owner cannot be guessed "
            f"({len(roots)} top-level tenants)"
        )
    return str(roots[0])


def read_zone_file(path: Path, crs: str | None, config: ZonesConfig) -> Zone:
    try:
        size = path.stat().st_size
    except FileNotFoundError:  # exit code 66, as the README's table says
        raise NotFoundError(f"file {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise InputError(f"{path} is {size // 1_000_000} MB: simplify the zone first (max 50 MB)")
    try:
        return read_zone(path.read_bytes(), crs, config.extent)
    except ZoneError as exc:
        raise InputError(f"{path.name}: {exc}") from None


async def save_zone(
    pool: asyncpg.Pool,
    zone: Zone,
    *,
    tenant: str | None,
    kind: str,
    name: str | None,
    actor: str,
    extra: dict[str, Any] | None = None,
    outside_territory: bool = False,
) -> StoredZone:
    """Store a zone for a tenant; one that lies outside the tenant's plausible extent, or
    entirely outside its territory (unless ``outside_territory``), is refused with the reason."""
    check_kind(kind)
    name = (name or zone.name or "").strip()
    if not name or len(name) > 200:
        raise InputError("give the zone a name (--name), 1 to 200 characters")
    size = round(area_km2(zone.geometry), 4)
    properties = {**zone.properties, **(extra or {}), "area_km2": size, "vertices": zone.vertices}
    async with pool.acquire() as conn, conn.transaction():
        owner = await get_tenant(conn, await default_tenant(conn, tenant))
        await _check_place(conn, owner, zone, outside_territory)
        try:
            row = await conn.fetchrow(
                queries("zones")["insert_zone"],
                owner["id"],
                kind,
                name,
                zone.to_geojson(),
                zone.source_crs,
                _json_safe(properties),
            )
        except asyncpg.UniqueViolationError:
            raise ConflictError(
                f"tenant {owner['code']} already has a {kind} zone named "
                f"{name!r}: choose another --name"
            ) from None
        assert row is not None  # noqa: S101 - INSERT … RETURNING returns the row
        await audit.record(
            conn,
            actor=actor,
            action="zone.create",
            target=f"zone:{row['id']}",
            tenant_id=owner["id"],
            details={
                "name": name,
                "kind": kind,
                "crs": zone.source_crs,
                "area_km2": size,
                "notes": list(zone.notes),
            },
        )
    return StoredZone(row["id"], name, kind, owner["code"], size, zone.vertices, zone.notes)


async def _check_place(
    conn: Queryable, owner: asyncpg.Record, zone: Zone, outside_territory: bool
) -> None:
    found = await targeting(conn, owner["id"])
    if found.extent is not None:
        try:
            check_extent(zone.geometry, found.extent)
        except ZoneError as exc:
            raise InputError(f"{exc} (the extent of {owner['name']})") from None
    if found.outline is None or outside_territory or zone.geometry.intersects(found.outline):
        return
    lon, lat = zone.geometry.representative_point().coords[0]
    raise InputError(
        f"the zone (e.g. lon {lon:.4f}, lat {lat:.4f}) lies entirely outside the territory of "
        f"{owner['name']}: check the file or the CRS; add --outside-territory if this is "
        "really meant"
    )


def _json_safe(properties: dict[str, Any]) -> dict[str, Any]:
    """GIS properties may hold anything; keep what JSON can hold, as text otherwise."""
    return dict(json.loads(json.dumps(properties, default=str)))


def make_circle(lon: float, lat: float, radius_m: float, extent: Extent = METROPOLE_EXTENT) -> Zone:
    """A disc on the ground, with the same plausible-extent check as every other shape."""
    try:
        zone = zone_from_geometry(circle(lon, lat, radius_m))
        check_extent(zone.geometry, extent)
    except ZoneError as exc:
        raise InputError(str(exc)) from None
    return zone


def grow(zone: Zone, distance_m: float) -> Zone:
    try:
        grown = buffer(zone.geometry, distance_m)
    except ZoneError as exc:
        raise InputError(str(exc)) from None
    note = f"grown by {distance_m:g} m"
    return Zone(grown, zone.source_crs, zone.properties, (*zone.notes, note), zone.name)


async def list_zones(pool: asyncpg.Pool, tenant: str | None) -> list[ZoneLine]:
    if tenant is not None:
        await get_tenant(pool, tenant)
    return [ZoneLine(**dict(r)) for r in await pool.fetch(queries("zones")["list_zones"], tenant)]


async def show_zone(pool: asyncpg.Pool, zone_id: int) -> ZoneInfo:
    row = await pool.fetchrow(queries("zones")["get_zone"], zone_id)
    if row is None:
        raise NotFoundError(f"zone {zone_id} does not exist (see `alertd zones list`)")
    geometry = shape(row["geometry"])
    index = await load_index(pool, await territory(pool, row["tenant_id"]))
    areas = await postcode_areas(pool, row["tenant_id"])
    found = index.match(geometry, areas)  # type: ignore[arg-type]
    minx, miny, maxx, maxy = geometry.bounds
    return ZoneInfo(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        tenant=row["tenant_code"],
        source_crs=row["source_crs"],
        area_km2=round(area_km2(geometry), 4),  # type: ignore[arg-type]
        vertices=int(shapely.get_num_coordinates(geometry)),
        bbox=(round(minx, 6), round(miny, 6), round(maxx, 6), round(maxy, 6)),
        subscribers_by_address=len(found.by_address),
        subscribers_by_postcode=len(found.by_postcode),
        postcode_areas="imported" if areas is not None else "not imported",
        subscribers_indexed=len(index),
    )


async def zone_tenant(conn: Queryable, zone_id: int) -> str:
    """The code of the tenant that owns the zone (to check it lies within an operator's reach)."""
    code = await conn.fetchval(
        "SELECT t.code FROM zones z JOIN tenants t ON t.id = z.tenant_id WHERE z.id = $1", zone_id
    )
    if code is None:
        raise NotFoundError(f"zone {zone_id} does not exist (see `alertd zones list`)")
    return str(code)


async def delete_zone(pool: asyncpg.Pool, zone_id: int, actor: str) -> None:
    """Delete a zone no alert used: one that was alerted stays, as the record of who was."""
    async with pool.acquire() as conn, conn.transaction():
        try:
            row = await conn.fetchrow(
                "DELETE FROM zones WHERE id = $1 RETURNING tenant_id, name", zone_id
            )
        # RESTRICT: PostgreSQL 15 says foreign_key_violation, 18 restrict_violation.
        except (asyncpg.ForeignKeyViolationError, asyncpg.RestrictViolationError):
            raise ConflictError(
                f"zone {zone_id} was used by an alert: it is kept, as the record of whom that "
                "alert reached"
            ) from None
        if row is None:
            raise NotFoundError(f"zone {zone_id} does not exist (see `alertd zones list`)")
        await audit.record(
            conn,
            actor=actor,
            action="zone.delete",
            target=f"zone:{zone_id}",
            tenant_id=row["tenant_id"],
            details={"name": row["name"]},
        )
