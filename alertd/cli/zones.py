"""CLI commands for hazard zones: import, circle, list, show."""

from __future__ import annotations

import argparse
from pathlib import Path

from alertd.alerts import hazard_zones
from alertd.audit import cli_actor
from alertd.cli.util import command, finite_float, out, out_json, positive_int, subcommands, table
from alertd.config import Config
from alertd.store.database import open_database

# --- zones ------------------------------------------------------------------------------------


def report_zone(stored: hazard_zones.StoredZone, as_json: bool) -> None:
    if as_json:
        out_json(stored)
        return
    out(
        f"zone {stored.id} {stored.name!r} ({stored.kind}, tenant {stored.tenant}): "
        f"{stored.area_km2} km², {stored.vertices} vertices"
    )
    for note in stored.notes:
        out(f"  note: {note}")


async def zones_import(args: argparse.Namespace, config: Config) -> int:
    hazard_zones.check_kind(args.kind)
    zone = hazard_zones.read_zone_file(args.file, args.crs, config.zones)
    if args.buffer_m:
        zone = hazard_zones.grow(zone, args.buffer_m)
    async with open_database(config) as db:
        stored = await hazard_zones.save_zone(
            db.pool,
            zone,
            tenant=args.tenant,
            kind=args.kind,
            name=args.name or zone.name or args.file.stem,
            actor=cli_actor(),
            extra={"source_file": args.file.name},
            outside_territory=args.outside_territory,
        )
    report_zone(stored, args.json)
    return 0


async def zones_circle(args: argparse.Namespace, config: Config) -> int:
    hazard_zones.check_kind(args.kind)
    zone = hazard_zones.make_circle(args.lon, args.lat, args.radius_m, config.zones.extent)
    async with open_database(config) as db:
        stored = await hazard_zones.save_zone(
            db.pool,
            zone,
            tenant=args.tenant,
            kind=args.kind,
            name=args.name,
            actor=cli_actor(),
            extra={"centre": [args.lon, args.lat], "radius_m": args.radius_m},
            outside_territory=args.outside_territory,
        )
    report_zone(stored, args.json)
    return 0


async def zones_list(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        rows = await hazard_zones.list_zones(db.pool, args.tenant)
    if args.json:
        out_json(rows)
        return 0
    print_zone_lines(rows)
    return 0


def print_zone_lines(rows: list[hazard_zones.ZoneLine]) -> None:
    table(
        ((r.id, r.tenant_code, r.kind, r.name, r.area_km2, r.vertices, r.source_crs) for r in rows),
        ("ID", "TENANT", "KIND", "NAME", "KM²", "VERTICES", "FROM CRS"),
    )


async def zones_show(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        info = await hazard_zones.show_zone(db.pool, args.id)
    if args.json:
        out_json(info)
        return 0
    print_zone_info(info)
    return 0


def print_zone_info(info: hazard_zones.ZoneInfo) -> None:
    out(f"zone {info.id} {info.name!r} ({info.kind}, tenant {info.tenant})")
    out(f"  area {info.area_km2} km², {info.vertices} vertices, from {info.source_crs}")
    lon_min, lat_min, lon_max, lat_max = info.bbox
    out(f"  bounding box lon {lon_min}..{lon_max}, lat {lat_min}..{lat_max}")
    out(
        f"  subscribers inside: {info.subscribers_by_address} by address, "
        f"{info.subscribers_by_postcode} by postcode "
        f"(of {info.subscribers_indexed} active in the tenant's territory)"
    )
    if info.postcode_areas != "imported":
        out(
            "  no postcode areas imported for this territory (alertd tenants import-territory): "
            "residents known only by their postcode cannot be matched"
        )


def register(parser: argparse.ArgumentParser) -> None:
    zs = subcommands(parser)
    p = command(zs, "import", zones_import, "import a zone from a GeoJSON file (any CRS)")
    p.add_argument("file", type=Path)
    p.add_argument("--crs", help="the file's CRS when it does not say (e.g. EPSG:2154)")
    p.add_argument("--kind", default="custom", help=f"one of {', '.join(hazard_zones.KINDS)}")
    p.add_argument("--name", help="default: the file's name property, else the file name")
    p.add_argument("--tenant", metavar="CODE", help="owner (default: the intercommunality)")
    p.add_argument(
        "--buffer-m", type=finite_float, metavar="D", help="grow the zone by D metres on the ground"
    )
    p.add_argument("--outside-territory", action="store_true", help="outside it, on purpose")
    p.add_argument("--json", action="store_true")
    p = command(zs, "circle", zones_circle, "a disc around a site, radius in metres on the ground")
    p.add_argument("--lon", type=finite_float, required=True)
    p.add_argument("--lat", type=finite_float, required=True)
    p.add_argument("--radius-m", type=finite_float, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--kind", default="industrial", help=f"one of {', '.join(hazard_zones.KINDS)}")
    p.add_argument("--tenant", metavar="CODE", help="owner (default: the intercommunality)")
    p.add_argument("--outside-territory", action="store_true", help="outside it, on purpose")
    p.add_argument("--json", action="store_true")
    p = command(zs, "list", zones_list, "list zones")
    p.add_argument("--tenant", metavar="CODE")
    p.add_argument("--json", action="store_true")
    p = command(zs, "show", zones_show, "a zone's area, shape and the subscribers inside")
    p.add_argument("id", type=positive_int)
    p.add_argument("--json", action="store_true")
