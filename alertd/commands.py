"""The CLI's commands: argument definitions and the handlers that run them.

Each handler is ``async def (args, config) -> int``; those that need the store open it with
``open_database`` and own it until they return.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from alertd import bench, bench_gateway, demo, operators, serve, subscribers, tenants
from alertd import bench_dispatch as bench_dispatch_module
from alertd import bench_match as bench_match_module
from alertd.alert_commands import register_alerts
from alertd.audit import cli_actor
from alertd.cliutil import command, finite_float, group, out, out_json, positive_int, table
from alertd.config import Config, describe_keys
from alertd.db import open_database, redact_url
from alertd.errors import InputError
from alertd.gateway_commands import register_gateways
from alertd.logs import mask_text
from alertd.migrate import applied_versions, load_migrations, migrate
from alertd.template_commands import register_templates
from alertd.zone_commands import register_zones

EXIT_PARTIAL = 3  # import done, but some rows were rejected


# --- db ---------------------------------------------------------------------------------------


async def db_migrate(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config, migrate_now=False) as db, db.pool.acquire() as conn:
        report = await migrate(conn)
    if report.applied:
        for m in report.applied:
            out(f"applied {m.version:04d}_{m.name}")
    out(
        f"schema at version {report.current_version}"
        + ("" if report.applied else " (already up to date, nothing changed)")
    )
    return 0


async def db_status(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config, migrate_now=False) as db:
        async with db.pool.acquire() as conn:
            applied = await applied_versions(conn)
        where = f"embedded, {config.database.data_dir}" if db.embedded else redact_url(db.dsn)
    out(f"database: {where}")
    for m in load_migrations():
        out(f"  {m.version:04d}_{m.name}: {'applied' if m.version in applied else 'PENDING'}")
    return 0


# --- tenants ----------------------------------------------------------------------------------


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
        row = await tenants.create_tenant(db.pool, spec, cli_actor())
    out(
        f"created {row['kind']} {row['code']} {row['name']} "
        f"(approval above {row['approval_threshold']} recipients)"
    )
    return 0


async def tenants_list(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        rows = await tenants.list_tenants(db.pool)
    if args.json:
        out_json(
            [
                {
                    k: r[k]
                    for k in (
                        "code",
                        "kind",
                        "name",
                        "parent_code",
                        "postcodes",
                        "approval_threshold",
                        "active_subscribers",
                        "operators",
                    )
                }
                for r in rows
            ]
        )
        return 0
    table(
        (
            (
                r["code"],
                r["kind"],
                r["name"],
                r["parent_code"],
                ",".join(r["postcodes"]),
                r["approval_threshold"],
                r["active_subscribers"],
                r["operators"],
            )
            for r in rows
        ),
        ("CODE", "KIND", "NAME", "PARENT", "POSTCODES", "APPROVAL>", "ACTIVE", "OPERATORS"),
    )
    return 0


async def tenants_update(args: argparse.Namespace, config: Config) -> int:
    if args.name is None and args.threshold is None and args.postcodes is None:
        raise InputError("nothing to change: give --name, --threshold or --postcodes")
    async with open_database(config) as db:
        row = await tenants.update_tenant(
            db.pool,
            args.code,
            cli_actor(),
            name=args.name,
            approval_threshold=args.threshold,
            postcodes=tenants.parse_postcodes(args.postcodes)
            if args.postcodes is not None
            else None,
        )
    out(
        f"updated {row['code']} {row['name']}: approval above {row['approval_threshold']}, "
        f"postcodes {','.join(row['postcodes']) or '-'}"
    )
    return 0


async def tenants_load_sample(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        outcome = await tenants.load_territory(db.pool, cli_actor())
    out(", ".join(f"{len(v)} {k}" for k, v in outcome.items()))
    return 0


# --- operators --------------------------------------------------------------------------------


async def operators_add(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        row, token = await operators.create_operator(
            db.pool,
            tenant_code=args.tenant,
            name=args.name,
            role=args.role,
            email=args.email,
            actor=cli_actor(),
        )
    if args.json:
        out_json(
            {
                "id": row["id"],
                "name": row["name"],
                "role": row["role"],
                "tenant": args.tenant,
                "token": token.token,
            }
        )
        return 0
    out(f"operator {row['id']} {row['name']} ({row['role']}) created for tenant {args.tenant}")
    out(f"API token (shown once, store it now): {token.token}")
    return 0


async def operators_list(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        rows = await operators.list_operators(db.pool, args.tenant)
    if args.json:
        out_json([dict(r) for r in rows])
        return 0
    table(
        (
            (
                r["id"],
                r["tenant_code"],
                r["name"],
                r["role"],
                r["token_prefix"] + "…",
                "disabled" if r["disabled_at"] else "active",
            )
            for r in rows
        ),
        ("ID", "TENANT", "NAME", "ROLE", "TOKEN", "STATE"),
    )
    return 0


async def operators_rotate(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        token = await operators.rotate_token(db.pool, args.id, cli_actor())
    out(
        f"new API token for operator {args.id} (shown once; the old one no longer works): "
        f"{token.token}"
    )
    return 0


async def operators_disable(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        await operators.disable_operator(db.pool, args.id, cli_actor())
    out(f"operator {args.id} disabled; their token no longer works")
    return 0


# --- subscribers ------------------------------------------------------------------------------


async def subscribers_import(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        report = await subscribers.import_csv(
            db.pool, args.file, args.tenant, config.subscribers, cli_actor()
        )
    shown = report.rejected[: args.show_rejected]
    for problem in shown:
        # stderr often ends up in a log (cron, journald): numbers are masked like in the logs.
        sys.stderr.write(f"{args.file}: {mask_text(str(problem))}\n")
    if len(report.rejected) > len(shown):
        sys.stderr.write(
            f"{args.file}: … and {len(report.rejected) - len(shown)} more rejected "
            "rows (--show-rejected N to list more)\n"
        )
    if args.json:
        out_json(report.summary())
    else:
        s = report.summary()
        out(
            f"{s['rows']} rows in {s['seconds']} s ({s['rows_per_second']} rows/s): "
            f"{s['inserted']} new, {s['updated']} updated, {s['unchanged']} unchanged, "
            f"{s['rejected']} rejected"
        )
        if report.warnings:
            out(
                f"{len(report.warnings)} landline numbers kept but flagged (they cannot receive "
                f"SMS), first on line {report.warnings[0].line}"
            )
        if report.kept_stopped:
            out(f"{report.kept_stopped} rows belong to residents who sent STOP: they stay stopped")
        if report.ignored_columns:
            out(f"columns ignored: {', '.join(report.ignored_columns)}")
    return EXIT_PARTIAL if report.rejected else 0


async def subscribers_export(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        data = await subscribers.export_subscriber(
            db.pool, args.phone, args.tenant, config.subscribers.default_region, cli_actor()
        )
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if args.output:
        _write_private(args.output, text + "\n")
        out(f"written to {args.output} (readable by you only: it holds personal data)")
    else:
        out(text)
    return 0


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT: set it
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


async def subscribers_erase(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        count = await subscribers.erase_subscriber(
            db.pool, args.phone, args.tenant, config.subscribers.default_region, cli_actor()
        )
    out(
        f"erased {count} subscription(s) and everything attached to them; "
        "the audit log keeps the erasure, with the number masked"
    )
    return 0


# --- config, demo, bench ----------------------------------------------------------------------


async def config_show(args: argparse.Namespace, config: Config) -> int:
    for key, env, default in describe_keys():
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if key == "database.url" and value is not None:
            value = redact_url(value)
        if key == "operator.token" and value:
            value = value[:11] + "…"  # enough to recognise, far too little to use
        out(f"{key} = {value}    ({env}; default {default})")
    for g in config.gateways:
        out(
            f"gateways.{g.name} = {g.kind}, priority {g.priority}, rate {g.rate:g}/s, "
            f"window {g.window}, {g.price_eur} EUR/segment, secrets {g.secrets}"
        )
    return 0


def share(text: str) -> float:
    value = finite_float(text)
    if not 0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 0.5, got {text}")
    return value


async def run_demo(args: argparse.Namespace, config: Config) -> int:
    return await demo.run(
        config, subscribers_count=args.subscribers, error_rate=args.error_rate, as_json=args.json
    )


async def bench_match(args: argparse.Namespace, config: Config) -> int:
    out_json(await bench_match_module.match_benchmark(args.points, args.postgis_dsn))
    return 0


async def bench_ratelimit(args: argparse.Namespace, config: Config) -> int:
    out_json(await bench_gateway.ratelimit_benchmark(args.messages, args.rate, args.senders))
    return 0


async def bench_gateway_cmd(args: argparse.Namespace, config: Config) -> int:
    if args.kind == "smpp":
        out_json(await bench_gateway.smpp_benchmark(args.messages, latency_ms=args.latency_ms))
    else:
        out_json(await bench_gateway.http_benchmark(args.messages))
    return 0


async def run_serve(args: argparse.Namespace, config: Config) -> int:
    return await serve.run(config)


async def bench_dispatch(args: argparse.Namespace, config: Config) -> int:
    out_json(await bench_dispatch_module.dispatch_benchmark(config, args.deliveries, args.rate))
    return 0


async def bench_import(args: argparse.Namespace, config: Config) -> int:
    result = await bench.import_benchmark(config, rows=args.rows, keep=args.keep)
    out_json(result)
    return 0


# --- wiring -----------------------------------------------------------------------------------


def register(sub: Any) -> None:
    p = command(
        sub,
        "demo",
        run_demo,
        "a marine-submersion alert end to end, then its all-clear, on the embedded (or given) "
        "database and fake gateways",
    )
    p.add_argument(
        "--subscribers",
        type=positive_int,
        default=50_000,
        help="synthetic subscribers to import (default 50000)",
    )
    p.add_argument(
        "--error-rate",
        type=share,
        default=0.0,
        help="share of submissions the primary gateway fails, 0 to 0.5 (shows retries and "
        "failover)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")

    _register_db(sub)
    _register_tenants(sub)
    _register_operators(sub)
    _register_subscribers(sub)
    command(
        sub,
        "serve",
        run_serve,
        "the daemon: send what is queued, take receipts and STOP; SIGTERM stops it cleanly",
    )
    register_zones(sub)
    register_templates(sub)
    register_gateways(sub)
    register_alerts(sub)
    _register_tools(sub)


def _register_db(sub: Any) -> None:
    db = group(sub, "db", "database schema")
    command(db, "migrate", db_migrate, "apply pending schema migrations (safe to run twice)")
    command(db, "status", db_status, "show applied and pending migrations")


def _register_tenants(sub: Any) -> None:
    ten = group(sub, "tenants", "the intercommunality and its communes")
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
    p = command(ten, "update", tenants_update, "change a tenant's name, threshold or postcodes")
    p.add_argument("code")
    p.add_argument("--name")
    p.add_argument("--threshold", type=positive_int)
    p.add_argument("--postcodes", metavar="LIST")
    command(
        ten,
        "load-sample",
        tenants_load_sample,
        "load the Communauté urbaine de Dunkerque and its 17 communes (safe to run twice)",
    )


def _register_operators(sub: Any) -> None:
    ops = group(sub, "operators", "people who draft, approve and send alerts")
    p = command(ops, "add", operators_add, "create an operator; prints their API token once")
    p.add_argument("--tenant", required=True, metavar="CODE")
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True, choices=operators.ROLES)
    p.add_argument("--email")
    p.add_argument("--json", action="store_true")
    p = command(ops, "list", operators_list, "list operators (never their tokens)")
    p.add_argument("--tenant", metavar="CODE")
    p.add_argument("--json", action="store_true")
    p = command(ops, "rotate-token", operators_rotate, "give an operator a new token")
    p.add_argument("id", type=positive_int)
    p = command(ops, "disable", operators_disable, "disable an operator and their token")
    p.add_argument("id", type=positive_int)


def _register_subscribers(sub: Any) -> None:
    subs = group(sub, "subscribers", "residents who receive alerts")
    p = command(subs, "import", subscribers_import, "import subscribers from a CSV file (upsert)")
    p.add_argument("file", type=Path)
    p.add_argument("--tenant", required=True, metavar="INSEE")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    p.add_argument(
        "--show-rejected",
        type=positive_int,
        default=50,
        metavar="N",
        help="rejected rows to list on stderr (default 50)",
    )
    p = command(
        subs,
        "export",
        subscribers_export,
        "everything held on one person, as JSON (RGPD right of access)",
    )
    p.add_argument("--phone", required=True)
    p.add_argument("--tenant", metavar="CODE", help="only this tenant (default: all)")
    p.add_argument("--output", type=Path, metavar="FILE")
    p = command(subs, "erase", subscribers_erase, "erase one person (RGPD right to erasure)")
    p.add_argument("--phone", required=True)
    p.add_argument("--tenant", metavar="CODE", help="only this tenant (default: all)")


def _register_tools(sub: Any) -> None:
    cfg = group(sub, "config", "configuration")
    command(
        cfg,
        "show",
        config_show,
        "print the effective configuration, each key with its variable and default",
    )

    ben = group(sub, "bench", "benchmarks (one JSON line each)")
    p = command(ben, "import", bench_import, "subscriber CSV import against plain COPY")
    p.add_argument("--rows", type=positive_int, default=1_000_000)
    p.add_argument("--keep", action="store_true", help="keep the generated CSV")
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "dispatch",
        bench_dispatch,
        "deliveries per second over the durable path, against plain batched SQL",
    )
    p.add_argument("--deliveries", type=positive_int, default=200_000)
    p.add_argument(
        "--rate",
        type=finite_float,
        default=0.0,
        help="limit the fake gateway to this many segments a second (0: none)",
    )
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "gateway",
        bench_gateway_cmd,
        "submissions per second through a loopback peer, window 1 against window 64",
    )
    p.add_argument("--kind", choices=("http", "smpp"), default="http")
    p.add_argument(
        "--latency-ms",
        type=finite_float,
        default=0.0,
        help="SMPP: the simulator answers each submit_sm after this delay",
    )
    p.add_argument("--messages", type=positive_int, default=50_000)
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "ratelimit",
        bench_ratelimit,
        "the rate limiter against the wall clock, through the fake gateway",
    )
    p.add_argument("--messages", type=positive_int, default=10_000)
    p.add_argument("--rate", type=finite_float, default=500.0, help="segments per second")
    p.add_argument("--senders", type=positive_int, default=4, help="concurrent senders")
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "match",
        bench_match,
        "zone matching against shapely.contains_xy (and PostGIS ST_Contains when given)",
    )
    p.add_argument("--points", type=positive_int, default=1_000_000)
    p.add_argument(
        "--postgis-dsn",
        metavar="DSN",
        help="a database where the PostGIS extension exists or can be created",
    )
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
