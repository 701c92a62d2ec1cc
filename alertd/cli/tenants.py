"""``alertd tenants …``: the intercommunality and its communes."""

from __future__ import annotations

import argparse
from pathlib import Path

from alertd import tenants
from alertd.alerts import territory_data
from alertd.cli.admin import admin_actor
from alertd.cli.util import command, out, out_json, positive_int, subcommands, table
from alertd.config import Config
from alertd.errors import InputError
from alertd.store.database import open_database
from alertd.subscribers import addresses, keyword_settings


async def tenants_add(args: argparse.Namespace, config: Config) -> int:
    spec = tenants.TenantSpec(
        code=args.code.strip(),
        kind=args.kind,
        name=args.name,
        parent_code=args.parent,
        postcodes=tenants.parse_postcodes(args.postcodes),
        approval_threshold=args.threshold
        if args.threshold is not None
        else tenants.DEFAULT_THRESHOLD,
    )
    async with open_database(config) as db:
        actor = await admin_actor(
            db.pool, config, "creating a tenant", spec.parent_code, "add a commune"
        )
        row = await tenants.create_tenant(db.pool, spec, actor)
    out(
        f"created {row.kind} {row.code} {row.name} "
        f"(approval above {row.approval_threshold} recipients)"
    )
    return 0


async def tenants_list(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        rows = await tenants.list_tenants(db.pool)
    if args.json:
        out_json(rows)
        return 0
    table(
        (
            (
                r.code,
                r.kind,
                r.name,
                r.parent_code,
                ",".join(r.postcodes),
                r.approval_threshold,
                r.active_subscribers,
                r.operators,
                ",".join(r.stop_words),
                ",".join(r.subscribe_words),
            )
            for r in rows
        ),
        (
            "CODE",
            "KIND",
            "NAME",
            "PARENT",
            "POSTCODES",
            "APPROVAL>",
            "ACTIVE",
            "OPERATORS",
            "STOP WORDS",
            "SUBSCRIBE WORDS",
        ),
    )
    return 0


async def tenants_update(args: argparse.Namespace, config: Config) -> int:
    changes = (args.name, args.threshold, args.postcodes, args.stop_words, args.timezone)
    if all(v is None for v in changes):
        raise InputError(
            "nothing to change: give --name, --threshold, --postcodes, --stop-words or --timezone"
        )
    async with open_database(config) as db:
        row = await tenants.update_tenant(
            db.pool,
            args.code,
            await admin_actor(db.pool, config, "changing a tenant", args.code),
            name=args.name,
            approval_threshold=args.threshold,
            postcodes=tenants.parse_postcodes(args.postcodes)
            if args.postcodes is not None
            else None,
            stop_words=tenants.parse_stop_words(args.stop_words)
            if args.stop_words is not None
            else None,
            timezone=args.timezone,
        )
    out(
        f"updated {row.code} {row.name}: approval above {row.approval_threshold}, "
        f"postcodes {','.join(row.postcodes) or '-'}, STOP words {','.join(row.stop_words)}"
    )
    return 0


async def tenants_load_sample(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        actor = await admin_actor(db.pool, config, "loading the sample territory")
        outcome = await tenants.load_territory(db.pool, actor)
    out(", ".join(f"{len(v)} {k}" for k, v in outcome.items()))
    return 0


async def tenants_import_territory(args: argparse.Namespace, config: Config) -> int:
    extent = config.zones.extent
    outline = (
        territory_data.read_outline(args.outline, args.crs, extent).geometry
        if args.outline
        else None
    )
    areas = (
        territory_data.read_areas(args.postcode_areas, args.crs, extent)
        if args.postcode_areas
        else None
    )
    async with open_database(config) as db:
        actor = await admin_actor(db.pool, config, "importing a territory", args.code)
        done = await territory_data.import_territory(
            db.pool, args.code, areas=areas, outline=outline, actor=actor
        )
    if args.json:
        out_json(done)
        return 0
    lon_min, lat_min, lon_max, lat_max = done.extent
    out(
        f"tenant {done.tenant}: "
        + (f"{done.postcodes} postcode areas, " if done.postcodes is not None else "")
        + f"outline stored; plausible extent lon {lon_min}..{lon_max}, lat {lat_min}..{lat_max}"
    )
    return 0


async def tenants_keywords(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        if args.subscribe is None and args.help_words is None and args.language is None:
            words = await keyword_settings.show(db.pool, args.code)
        else:
            actor = await admin_actor(db.pool, config, "changing a tenant's keywords", args.code)
            words = await keyword_settings.change(
                db.pool,
                args.code,
                actor,
                subscribe=args.subscribe,
                help_words=args.help_words,
                language=args.language,
            )
    if args.json:
        out_json(words)
        return 0
    out(
        f"tenant {words.code} {words.name}: subscribe {','.join(words.subscribe)}; "
        f"help {','.join(words.help) or '-'}; language {','.join(words.language) or '-'}; "
        f"STOP {','.join(words.stop)}"
    )
    return 0


async def tenants_import_addresses(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        actor = await admin_actor(db.pool, config, "importing an address file")
        done = await addresses.import_ban(db.pool, args.file, actor)
    if args.json:
        out_json(done)
        return 0
    out(
        f"{done.imported} addresses imported for {len(done.postcodes)} postcodes "
        f"({', '.join(done.postcodes)}); {done.total_in_store} in store"
    )
    for line, why in done.bad_lines[: addresses.MAX_BAD_SHOWN]:
        out(f"  line {line} skipped: {why}")
    if done.bad_count > addresses.MAX_BAD_SHOWN:
        out(f"  … and {done.bad_count - addresses.MAX_BAD_SHOWN} more lines skipped")
    return 0


async def tenants_topics(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        actor = await admin_actor(db.pool, config, "setting a tenant's topics", args.code)
        topics = await tenants.set_topics(db.pool, args.code, args.topics, actor)
    out(f"tenant {args.code}: topics {', '.join(topics)}")
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    ten = subcommands(parser)
    p = command(ten, "add", tenants_add, "create a tenant")
    p.add_argument("--code", required=True, help="INSEE code (commune) or SIREN (intercommunality)")
    p.add_argument("--name", required=True)
    p.add_argument("--kind", choices=tenants.KINDS, default="commune")
    p.add_argument("--parent", metavar="CODE", help="the intercommunality a commune belongs to")
    p.add_argument("--postcodes", metavar="LIST", help="comma-separated, e.g. 59140,59240")
    p.add_argument(
        "--threshold",
        type=positive_int,
        help="recipients above which a second operator must approve (default 1000)",
    )
    p = command(ten, "list", tenants_list, "list tenants")
    p.add_argument("--json", action="store_true")
    p = command(
        ten,
        "update",
        tenants_update,
        "change a tenant's name, threshold, postcodes or STOP words",
    )
    p.add_argument("code")
    p.add_argument("--name")
    p.add_argument("--threshold", type=positive_int)
    p.add_argument("--postcodes", metavar="LIST")
    p.add_argument(
        "--stop-words",
        metavar="LIST",
        help="comma-separated first words of a resident's SMS that mean STOP (STOP must stay)",
    )
    p.add_argument("--timezone", help="IANA time zone times are shown in (default Europe/Paris)")
    p = command(
        ten,
        "import-territory",
        tenants_import_territory,
        "store a tenant's postcode areas and territory outline (what targeting uses)",
    )
    p.add_argument("code")
    p.add_argument(
        "--postcode-areas",
        metavar="FILE",
        help="GeoJSON FeatureCollection, one feature a postcode (demo: the synthetic areas)",
    )
    p.add_argument("--outline", type=Path, metavar="FILE", help="the territory, GeoJSON")
    p.add_argument("--crs", help="the files' CRS when they do not say (e.g. EPSG:2154)")
    p.add_argument("--json", action="store_true")
    p = command(
        ten,
        "keywords",
        tenants_keywords,
        "show or set the SMS keywords residents send (subscribe, help, language)",
    )
    p.add_argument("code")
    p.add_argument(
        "--subscribe",
        metavar="LIST",
        help="comma-separated words that subscribe with a postcode, or bring back after STOP "
        "when alone (default ALERTE,INSCRIPTION,START)",
    )
    p.add_argument(
        "--help-words",
        metavar="LIST",
        help="words answered with how to subscribe and leave (default AIDE,HELP,INFO)",
    )
    p.add_argument(
        "--language",
        metavar="LIST",
        help="words that change language, e.g. LANGUE EN (default LANGUE,LANGUAGE)",
    )
    p.add_argument("--json", action="store_true")
    p = command(
        ten,
        "import-addresses",
        tenants_import_addresses,
        "import the deployment's address file (BAN CSV, ';'-separated) for sign-up by address",
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true")
    p = command(ten, "topics", tenants_topics, "set the topics residents may choose")
    p.add_argument("code")
    p.add_argument("topics", help="comma-separated, e.g. dechets,travaux,circulation")
    command(
        ten,
        "load-sample",
        tenants_load_sample,
        "load the Communauté urbaine de Dunkerque and its 17 communes (safe to run twice)",
    )
