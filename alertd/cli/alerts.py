"""``alertd alert …``: the duty officer's commands, from draft to all-clear.

Each acts as the operator whose token is in ALERTD_OPERATOR_TOKEN (``[operator] token``), takes
``--json`` for scripts, and asks before anything is sent (``--yes`` for scripts).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from alertd import operators
from alertd.alerts import approvals, followups, hazard_zones, lifecycle, status
from alertd.cli.alert_output import (
    confirm,
    confirm_plan,
    follow,
    print_alert_lines,
    print_cancelled,
    print_followup,
    print_plan,
    print_preview,
    print_returned,
    print_sent,
    print_status,
)
from alertd.cli.templates import catalog, parse_params
from alertd.cli.util import command, finite_float, out, out_json, positive_int, subcommands
from alertd.config import Config
from alertd.delivery import daemon
from alertd.errors import ForbiddenError, InputError
from alertd.jsonable import jsonable_object
from alertd.operators import Operator
from alertd.store.database import open_database

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}
MAX_EXPIRES_S = 30 * 86_400  # beyond, dates overflow and no alert lives that long anyway


def duration(text: str) -> float:
    """'90m', '6h', '2d', '3600' (seconds)."""
    found = _DURATION.match(text)
    if found is None:
        raise argparse.ArgumentTypeError(f"expected a duration such as 90m, 6h or 2d, not {text!r}")
    seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if seconds > MAX_EXPIRES_S:
        raise argparse.ArgumentTypeError(f"at most 30d, not {text!r}")
    return seconds


def circle_spec(text: str) -> tuple[float, float, float]:
    parts = text.split(",")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(
            f"expected LON,LAT,RADIUS_M such as 2.2650,51.0300,2000, not {text!r}"
        )
    lon, lat, radius = (finite_float(p) for p in parts)
    return lon, lat, radius


@contextlib.asynccontextmanager
async def session(config: Config) -> AsyncIterator[tuple[lifecycle.Context, Operator, str]]:
    """The lifecycle context and the operator at the keyboard."""
    if not config.operator.token:
        raise ForbiddenError(
            "no operator: set ALERTD_OPERATOR_TOKEN to your token (`alertd operators add` "
            "shows it once; an admin can rotate it)"
        )
    async with open_database(config) as db:
        op = await operators.authenticate(db.pool, config.operator.token)
        if op is None:
            raise ForbiddenError(
                "the operator token in ALERTD_OPERATOR_TOKEN is unknown, rotated or disabled"
            )
        ctx = lifecycle.Context(
            db.pool,
            catalog(config.templates),
            None,  # postcode areas: the tenant's, from the database
            {g.name: g.price_eur for g in config.gateways},
            config.gateways[0].rate if config.gateways else 0.0,
            config.zones.extent,
        )
        yield ctx, op, f"operator:{op.id}"


def _zone_args(args: argparse.Namespace, config: Config) -> dict[str, Any] | None:
    if args.geojson and args.circle:
        raise InputError("give either --geojson or --circle, not both")
    if args.geojson:
        return hazard_zones.read_zone_file(args.geojson, args.crs, config.zones).to_geojson()
    if args.circle:
        lon, lat, radius = args.circle
        return hazard_zones.make_circle(lon, lat, radius, config.zones.extent).to_geojson()
    return None


# -- commands ------------------------------------------------------------------------------------


async def alert_create(args: argparse.Namespace, config: Config) -> int:
    draft = lifecycle.Draft(
        template=args.template,
        params=parse_params(args.param),
        zone_ids=args.zone,
        geometry=_zone_args(args, config),
        hazard=args.hazard,
        severity=args.severity,
        languages=args.lang,
        topics=args.topic,
        expires_in_s=args.expires_in,
        exercise=args.exercise,
        tenant_code=args.tenant,
        outside_territory=args.outside_territory,
        communes=args.commune,
        postcodes=args.postcode,
    )
    async with session(config) as (ctx, op, actor):
        alert_id = await lifecycle.create(ctx, op, draft, actor)
        report = await lifecycle.preview(ctx, op, alert_id)
    if args.json:
        out_json(report)
    else:
        out(f"draft alert {alert_id} created by {op.name}")
        print_preview(report)
        out(f"next: alertd alert send {alert_id}")
    return 0


async def alert_preview(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, _):
        alert = await lifecycle.load(ctx.pool, op, args.id)
        if alert["message_kind"] != "alert":
            plan = await followups.preview_child(ctx, op, args.id)
            if args.json:
                out_json(plan)
            else:
                print_plan(plan)
            return 0
        report = await lifecycle.preview(ctx, op, args.id)
    if args.json:
        out_json(report)
    else:
        print_preview(report)
    return 0


async def alert_send(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, actor):
        report = await lifecycle.preview(ctx, op, args.id)
        if not args.json:
            print_preview(report)
        confirm(args, report, "send")
        sent = await lifecycle.send(ctx, op, args.id, actor)
        running = await _daemons(ctx, args.json or sent.status != "sent")
    if args.json:
        out_json({**jsonable_object(sent), "daemons": running})
    else:
        print_sent(args.id, sent, report.approval_threshold)
    return 0


async def alert_approve(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, actor):
        alert = await lifecycle.load(ctx.pool, op, args.id)
        if alert["message_kind"] == "update":
            return await _approve_update(args, ctx, op, actor)
        report = await lifecycle.preview(ctx, op, args.id)
        if not args.json:
            print_preview(report)
        confirm(args, report, "approve and send")
        sent = await lifecycle.approve(ctx, op, args.id, actor)
        running = await _daemons(ctx, args.json or sent is None)
    if args.json:
        out_json({"approved": args.id, "sent": sent, "daemons": running})
    elif sent is None:
        out(f"alert {args.id} approved by {op.name}; it is sent when its author sends it")
    elif sent.resumed:
        out(
            f"alert {args.id}: its interrupted send was resumed: {sent.written} deliveries "
            f"written now; {sent.recipients} recipients"
        )
    else:
        out(f"alert {args.id} approved by {op.name} and sent: {sent.recipients} recipients")
    return 0


async def _approve_update(
    args: argparse.Namespace, ctx: lifecycle.Context, op: Operator, actor: str
) -> int:
    """An update that reaches newcomers, approved by a second person: planned again now."""
    plan = await followups.preview_pending(ctx, op, args.id)
    if not args.json:
        print_plan(plan)
    confirm_plan(args, plan, f"approve and send update {args.id}")
    result = await followups.approve_update(ctx, op, args.id, actor)
    running = await _daemons(ctx, args.json)
    print_followup(result, running, as_json=args.json)
    return 0


async def alert_return(args: argparse.Namespace, config: Config) -> int:
    """An approver gives an alert waiting for approval back to its author, saying why."""
    async with session(config) as (ctx, op, actor):
        alert = await lifecycle.load(ctx.pool, op, args.id)
        await lifecycle.check_approver(ctx.pool, op, alert)
        await approvals.give_back(ctx.pool, alert, args.reason, actor)
    print_returned(args.id, args.reason, as_json=args.json)
    return 0


async def alert_update(args: argparse.Namespace, config: Config) -> int:
    params = parse_params(args.param)
    async with session(config) as (ctx, op, actor):
        zone = {
            "params": params,
            "template": args.template,
            "zone_ids": args.zone,
            "geometry": _zone_args(args, config),
            "outside_territory": args.outside_territory,
        }
        plan = await followups.preview_update(ctx, op, args.id, **zone)
        if not args.json:
            print_plan(plan)
        confirm_plan(args, plan, f"send this update of alert {args.id}")
        result = await followups.update(ctx, op, args.id, **zone, actor=actor)
        running = await _daemons(ctx, args.json or result.status != "sent")
    print_followup(result, running, as_json=args.json)
    return 0


async def alert_all_clear(args: argparse.Namespace, config: Config) -> int:
    params = parse_params(args.param)
    async with session(config) as (ctx, op, actor):
        plan = await followups.preview_all_clear(ctx, op, args.id, params=params)
        if not args.json:
            print_plan(plan)
        confirm_plan(args, plan, f"give the all-clear for alert {args.id}")
        result = await followups.all_clear(ctx, op, args.id, params=params, actor=actor)
        running = await _daemons(ctx, args.json)
    print_followup(result, running, as_json=args.json)
    return 0


async def alert_cancel(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, actor):
        confirm(args, None, f"cancel alert {args.id} (what is not sent yet never will be)")
        result = await followups.cancel(ctx, op, args.id, actor)
    print_cancelled(args.id, result, as_json=args.json)
    return 0


async def alert_status(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, _):
        report = await status.status(ctx, op, args.id)
        if not args.follow:
            if args.json:
                out_json(report)
            else:
                print_status(report)
            return 0
        report, per_second = await follow(
            lambda: status.status(ctx, op, args.id), report, as_json=args.json
        )
    if args.json:
        # Followed: how fast it went is part of the answer.
        out_json({**jsonable_object(report), "per_second": per_second})
    else:
        print_status(report, per_second)
    return 0


async def alert_list(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, _):
        rows = await status.list_alerts(ctx, op, args.limit)
    if args.json:
        out_json(rows)
        return 0
    print_alert_lines(rows)
    return 0


async def _daemons(ctx: lifecycle.Context, quiet: bool) -> int:
    """How many daemons will send what was just queued; says so when there is none."""
    running = await daemon.daemons(ctx.pool)
    if not running and not quiet:
        sys.stderr.write(
            "alertd: warning: no `alertd serve` is connected to this database: the messages "
            "wait in the outbox until one runs\n"
        )
    return running


# -- wiring --------------------------------------------------------------------------------------


def _zone_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--outside-territory",
        action="store_true",
        help="the zone lies outside your territory, on purpose (refused otherwise)",
    )
    p.add_argument(
        "--zone",
        type=positive_int,
        action="append",
        default=[],
        help="a stored zone id (repeat for several)",
    )
    p.add_argument("--geojson", type=Path, help="a zone drawn in a GeoJSON file")
    p.add_argument("--crs", help="the file's CRS when it does not say (e.g. EPSG:2154)")
    p.add_argument(
        "--circle",
        type=circle_spec,
        metavar="LON,LAT,RADIUS_M",
        help="a circle around a point, radius in metres",
    )


def _common(p: argparse.ArgumentParser, confirm: bool = False) -> None:
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    if confirm:
        p.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def register(parser: argparse.ArgumentParser) -> None:
    alert = subcommands(parser)
    p = command(alert, "create", alert_create, "draft an alert and preview it")
    p.add_argument("--template", required=True, help="the event template, e.g. submersion")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    _zone_options(p)
    p.add_argument(
        "--commune", action="append", default=[], metavar="INSEE", help="a whole commune"
    )
    p.add_argument("--postcode", action="append", default=[], help="a whole postcode area")
    p.add_argument("--hazard", help="hazard kind (default: the template's event)")
    p.add_argument("--severity", choices=lifecycle.SEVERITIES)
    p.add_argument("--lang", action="append", default=[], help="languages (default: all)")
    p.add_argument("--topic", action="append", default=[], help="information alerts: topics")
    p.add_argument("--expires-in", type=duration, help="e.g. 6h (default 6h life-safety, 24h)")
    p.add_argument(
        "--exercise",
        action="store_true",
        help="an exercise: EXERCICE in every text, only to exercise participants",
    )
    p.add_argument("--tenant", help="the commune to alert (intercommunality operators)")
    _common(p)
    for name, handler, text in (
        ("preview", alert_preview, "recipients, texts, segments, cost and time to send"),
        ("send", alert_send, "send (or ask a second operator's approval)"),
        ("approve", alert_approve, "approve another operator's alert (and send it)"),
        ("cancel", alert_cancel, "stop sending at once"),
    ):
        p = command(alert, name, handler, text)
        p.add_argument("id", type=positive_int)
        _common(p, confirm=name != "preview")
    p = command(
        alert, "return", alert_return, "give an alert waiting for approval back, saying why"
    )
    p.add_argument("id", type=positive_int)
    p.add_argument("--reason", required=True, help="what its author must correct")
    _common(p)
    p = command(alert, "status", alert_status, "progress of an alert and its follow-ups")
    p.add_argument("id", type=positive_int)
    p.add_argument("--follow", action="store_true", help="live progress until all is sent")
    _common(p)
    p = command(alert, "update", alert_update, "a point of situation to those who hold it")
    p.add_argument("id", type=positive_int)
    p.add_argument("--template", default="update")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    _zone_options(p)
    _common(p, confirm=True)
    p = command(alert, "all-clear", alert_all_clear, "the end of the alert, to those who got it")
    p.add_argument("id", type=positive_int)
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    _common(p, confirm=True)
    p = command(alert, "list", alert_list, "the latest alerts of your territory")
    p.add_argument("--limit", type=positive_int, default=20)
    _common(p)
