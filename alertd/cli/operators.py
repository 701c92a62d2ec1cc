"""``alertd operators …``: the people who draft, approve and send alerts."""

from __future__ import annotations

import argparse

from alertd import operators
from alertd.audit import cli_actor
from alertd.cli.admin import admin_actor, codes_administered, operator_actor
from alertd.cli.util import command, out, out_json, positive_int, subcommands, table
from alertd.config import Config
from alertd.store.database import open_database


async def operators_add(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        first = not await operators.any_operator(db.pool)
        actor = (
            cli_actor()
            if first
            else await admin_actor(
                db.pool, config, "adding an operator", args.tenant, "add an operator"
            )
        )
        new = await operators.create_operator(
            db.pool,
            tenant_code=args.tenant,
            name=args.name,
            role=args.role,
            email=args.email,
            actor=actor,
            first_admin=first,
            topics=args.topic,
        )
    if args.json:
        out_json(new)
        return 0
    out(f"operator {new.id} {new.name} ({new.role}) created for tenant {new.tenant}")
    out(f"API token (shown once, store it now): {new.token}")
    return 0


async def operators_list(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        await admin_actor(db.pool, config, "listing operators", args.tenant, "list the operators")
        mine = await codes_administered(db.pool, config, "listing operators")
        rows = [
            r
            for r in await operators.list_operators(db.pool, args.tenant)
            if mine is None or r.tenant_code in mine
        ]
    if args.json:
        out_json(rows)
        return 0
    table(
        (
            (
                r.id,
                r.tenant_code,
                r.name,
                r.role,
                r.token_prefix + "…",
                "disabled" if r.disabled_at else "active",
            )
            for r in rows
        ),
        ("ID", "TENANT", "NAME", "ROLE", "TOKEN", "STATE"),
    )
    return 0


async def operators_rotate(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        actor = await operator_actor(db.pool, config, args.id)
        token = await operators.rotate_token(db.pool, args.id, actor)
    out(
        f"new API token for operator {args.id} (shown once; the old one no longer works): "
        f"{token.token}"
    )
    return 0


async def operators_disable(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        actor = await operator_actor(db.pool, config, args.id)
        await operators.disable_operator(db.pool, args.id, actor)
    out(f"operator {args.id} disabled; their token no longer works")
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    ops = subcommands(parser)
    p = command(ops, "add", operators_add, "create an operator; prints their API token once")
    p.add_argument("--tenant", required=True, metavar="CODE")
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True, choices=operators.ROLES)
    p.add_argument("--email", required=True, help="the person's e-mail: one account per person")
    p.add_argument(
        "--topic",
        action="append",
        default=[],
        help="information role: a topic their service owns, e.g. dechets (repeat for several)",
    )
    p.add_argument("--json", action="store_true")
    p = command(ops, "list", operators_list, "list operators (never their tokens)")
    p.add_argument("--tenant", metavar="CODE")
    p.add_argument("--json", action="store_true")
    p = command(ops, "rotate-token", operators_rotate, "give an operator a new token")
    p.add_argument("id", type=positive_int)
    p = command(ops, "disable", operators_disable, "disable an operator and their token")
    p.add_argument("id", type=positive_int)
