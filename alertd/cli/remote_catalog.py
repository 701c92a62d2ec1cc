"""``alertd zones …`` and ``alertd templates …`` through the API (ALERTD_URL): the same output
as alertd/cli/zones.py and templates.py, with the zones stored and the templates rendered by
``alertd serve`` (its catalog, its prices)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from alertd.alerts.hazard_zones import StoredZone, ZoneInfo, ZoneLine
from alertd.alerts.texts import TemplateLine, TemplatePreview
from alertd.cli.remote import Remote
from alertd.cli.revive import revive
from alertd.cli.templates import parse_params, print_template_lines, print_template_preview
from alertd.cli.util import out_json
from alertd.cli.zones import print_zone_info, print_zone_lines, report_zone
from alertd.config import Config
from alertd.errors import InputError


def _remote(config: Config) -> Remote:
    return Remote(config.operator.url, config.operator.token)


def _owner(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": args.kind}
    if args.tenant:
        body["tenant"] = args.tenant
    if args.outside_territory:
        body["outside_territory"] = True
    return body


async def zones_import(args: argparse.Namespace, config: Config) -> int:
    try:
        geojson = json.loads(args.file.read_bytes())
    except ValueError as exc:
        raise InputError(f"{args.file} is not JSON: {exc}") from None
    name = args.name or (geojson.get("name") if isinstance(geojson, dict) else None)
    body = {**_owner(args), "name": name or args.file.stem, "geojson": geojson}
    if args.crs:
        body["crs"] = args.crs
    if args.buffer_m:
        body["buffer_m"] = args.buffer_m
    async with _remote(config) as api:
        stored = revive(StoredZone, await api.post("/zones", body))
    report_zone(stored, args.json)
    return 0


async def zones_circle(args: argparse.Namespace, config: Config) -> int:
    circle = {"lon": args.lon, "lat": args.lat, "radius_m": args.radius_m}
    body = {**_owner(args), "name": args.name, "circle": circle}
    async with _remote(config) as api:
        stored = revive(StoredZone, await api.post("/zones/circle", body))
    report_zone(stored, args.json)
    return 0


async def zones_list(args: argparse.Namespace, config: Config) -> int:
    async with _remote(config) as api:
        rows = [revive(ZoneLine, r) for r in await api.get("/zones", tenant=args.tenant)]
    if args.json:
        out_json(rows)
    else:
        print_zone_lines(rows)
    return 0


async def zones_show(args: argparse.Namespace, config: Config) -> int:
    async with _remote(config) as api:
        info = revive(ZoneInfo, await api.get(f"/zones/{args.id}"))
    if args.json:
        out_json(info)
    else:
        print_zone_info(info)
    return 0


async def templates_list(args: argparse.Namespace, config: Config) -> int:
    async with _remote(config) as api:
        lines = [revive(TemplateLine, t) for t in await api.get("/templates")]
    if args.json:
        out_json(lines)
    else:
        print_template_lines(lines)
    return 0


async def templates_preview(args: argparse.Namespace, config: Config) -> int:
    body = {
        "name": args.name,
        "lang": args.lang,
        "params": parse_params(args.param),
        "recipients": max(args.recipients, 1),
    }
    async with _remote(config) as api:
        report = revive(TemplatePreview, await api.post("/templates/preview", body))
    if args.json:
        out_json(report)
    else:
        print_template_preview(report, report.lang != args.lang)
    return 0
