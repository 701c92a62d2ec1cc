"""CLI commands for gateways: list them, check each."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from alertd.cli.util import command, out, out_json, positive_int, subcommands, table
from alertd.config import Config, GatewayConfig
from alertd.delivery.gateway_factory import check
from alertd.errors import DatabaseError, InputError
from alertd.store.database import open_database
from alertd.store.lost import DATABASE_LOST
from alertd.store.queries import queries
from gateways.fake_provider import run_fake_provider


def _binds(g: GatewayConfig) -> int:
    return int(g.options.get("binds", 1)) if g.kind == "smpp" else 1


OUT_OF_REACH: tuple[type[BaseException], ...] = (DatabaseError, *DATABASE_LOST)


async def _shares(config: Config) -> dict[str, list[dict[str, Any]]] | None:
    """Each gateway's shares in force, per daemon (issue 18), when the database is a server
    that several daemons may share ([database] url); None when it is out of reach."""
    if config.embedded:
        return {}
    try:
        async with open_database(config, migrate_now=False) as db:
            rows = await db.pool.fetch(queries("shares")["shares"])
    except asyncpg.UndefinedTableError:
        sys.stderr.write("alertd: the daemons' shares are not shown: run `alertd db migrate`\n")
        return None
    except OUT_OF_REACH as exc:
        sys.stderr.write(f"alertd: the daemons' shares are not shown: {exc}\n")
        return None
    found: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        found.setdefault(r["gateway"], []).append(
            {
                "worker": r["worker"],
                "rate": round(r["part"] * r["contract_rate"], 1),
                "binds": r["binds"],
                "expires_in_s": round(r["expires_in_s"], 1),
            }
        )
    return found


def _share_text(shares: Sequence[Mapping[str, Any]] | None, kind: str) -> str:
    if shares is None:
        return "?"
    if not shares:
        return "-"
    if kind == "smpp":
        return ", ".join(f"{s['worker']} {s['binds']} binds {s['rate']:g}/s" for s in shares)
    return ", ".join(f"{s['worker']} {s['rate']:g}/s" for s in shares)


async def gateways_list(args: argparse.Namespace, config: Config) -> int:
    """An SMPP gateway's rate and window are per bind in its table: shown here for the whole
    gateway (what the dispatcher uses), with its number of binds; and, from the database, what
    each running daemon holds of it (several daemons share one contract)."""
    shares = await _shares(config)
    rows = [
        (
            g.name,
            g.kind,
            g.priority,
            f"{g.rate * _binds(g):g}",
            g.window * _binds(g),
            _binds(g),
            g.price_eur,
            g.sender or "",
        )
        for g in config.gateways
    ]
    headers = ("name", "kind", "priority", "rate", "window", "binds", "price_eur", "sender")
    held = [None if shares is None else shares.get(g.name, []) for g in config.gateways]
    if args.json:
        out_json(
            [
                dict(zip(headers, map(str, r), strict=True)) | {"shares": h}
                for r, h in zip(rows, held, strict=True)
            ]
        )
        return 0
    table(
        (
            (*r, _share_text(h, g.kind))
            for r, h, g in zip(rows, held, config.gateways, strict=True)
        ),
        ("NAME", "KIND", "PRIORITY", "RATE/S", "WINDOW", "BINDS", "EUR/SEGMENT", "SENDER",
         "SHARES (DAEMON, RATE)"),
    )  # fmt: skip
    return 0


async def gateways_check(args: argparse.Namespace, config: Config) -> int:
    if not config.gateways:
        raise InputError(
            "no gateway is configured: add [gateways.NAME] tables (see "
            "ops/alertd.example.toml) and pass --config"
        )
    results = await asyncio.gather(*(check(g) for g in config.gateways))
    if args.json:
        out_json(
            [
                {"name": h.name, "kind": h.kind, "ok": h.ok, "state": h.state, "detail": h.detail}
                for h in results
            ]
        )
    else:
        table(
            ((h.name, h.kind, "ok" if h.ok else "FAILING", h.state, h.detail) for h in results),
            ("NAME", "KIND", "HEALTH", "STATE", "DETAIL"),
        )
    return 0 if all(h.ok for h in results) else DatabaseError.exit_code


async def fake_provider(args: argparse.Namespace, config: Config) -> int:
    out(
        f"fake provider (Twilio dialect) on http://{args.host}:{args.port}, account "
        f"{args.account_sid}; accepted messages are appended to {args.log}; Ctrl-C to stop"
    )
    await run_fake_provider(args.host, args.port, args.log, args.account_sid, args.auth_token)
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    gs = subcommands(parser)
    p = command(gs, "list", gateways_list, "the configured gateways, by priority")
    p.add_argument("--json", action="store_true")
    p = command(
        gs,
        "check",
        gateways_check,
        "connect to each gateway (bind, or an authenticated no-op) and print its state",
    )
    p.add_argument("--json", action="store_true")


def register_fake_provider(parser: argparse.ArgumentParser) -> None:
    p = parser
    p.set_defaults(handler=fake_provider)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=positive_int, default=8025)
    p.add_argument(
        "--log",
        type=Path,
        required=True,
        metavar="FILE",
        help="append every accepted message here, one JSON line each",
    )
    p.add_argument("--account-sid", default="ACfake")
    p.add_argument("--auth-token", default="fake-token")
