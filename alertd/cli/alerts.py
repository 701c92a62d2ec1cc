"""``alertd alert …``: the duty officer's commands, from draft to all-clear.

Each acts as the operator whose token is in ALERTD_OPERATOR_TOKEN (``[operator] token``), takes
``--json`` for scripts, and asks before anything is sent (``--yes`` for scripts).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from alertd import operators
from alertd.alerts import followups, hazard_zones, lifecycle
from alertd.cli.templates import catalog, parse_params
from alertd.cli.util import command, finite_float, out, out_json, positive_int, subcommands, table
from alertd.config import Config
from alertd.delivery import daemon, progress
from alertd.errors import ForbiddenError, InputError
from alertd.operators import Operator
from alertd.store.database import open_database
from alertd.subscribers.index import load_postcode_areas

FOLLOW_EVERY_S = 0.5
LOG_EVERY_S = 5.0  # when the output is not a terminal, one progress line this often
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def duration(text: str) -> float:
    """'90m', '6h', '2d', '3600' (seconds)."""
    found = _DURATION.match(text)
    if found is None:
        raise argparse.ArgumentTypeError(f"expected a duration such as 90m, 6h or 2d, not {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


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
            load_postcode_areas(config.zones),
            {g.name: g.price_eur for g in config.gateways},
            config.gateways[0].rate if config.gateways else 0.0,
        )
        yield ctx, op, f"operator:{op.id}"


def _zone_args(args: argparse.Namespace, config: Config) -> dict[str, Any] | None:
    if args.geojson and args.circle:
        raise InputError("give either --geojson or --circle, not both")
    if args.geojson:
        return hazard_zones.read_zone_file(args.geojson, args.crs, config.zones).to_geojson()
    if args.circle:
        return hazard_zones.make_circle(*args.circle).to_geojson()
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
    )
    async with session(config) as (ctx, op, actor):
        alert_id = await lifecycle.create(ctx, op, draft, actor)
        report = await lifecycle.preview(ctx, op, alert_id)
    if args.json:
        out_json(report)
    else:
        out(f"draft alert {alert_id} created by {op.name}")
        _print_preview(report)
        out(f"next: alertd alert send {alert_id}")
    return 0


async def alert_preview(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, _):
        report = await lifecycle.preview(ctx, op, args.id)
    if args.json:
        out_json(report)
    else:
        _print_preview(report)
    return 0


async def alert_send(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, actor):
        report = await lifecycle.preview(ctx, op, args.id)
        if not args.json:
            _print_preview(report)
        _confirm(args, report, "send")
        sent = await lifecycle.send(ctx, op, args.id, actor)
        running = await _daemons(ctx, args.json or sent.status != "sent")
    if args.json:
        out_json({**asdict(sent), "daemons": running})
    elif sent.status == "pending_approval":
        out(
            f"alert {args.id} reaches {sent.recipients} people, more than the "
            f"{report['approval_threshold']} one operator may alert alone: a second operator "
            f"must approve it (alertd alert approve {args.id}); it is sent at once then"
        )
    else:
        out(f"alert {args.id} sent to the outbox: {sent.recipients} recipients")
        out(f"follow it: alertd alert status {args.id} --follow")
    return 0


async def alert_approve(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, actor):
        report = await lifecycle.preview(ctx, op, args.id)
        if not args.json:
            _print_preview(report)
        _confirm(args, report, "approve and send")
        sent = await lifecycle.approve(ctx, op, args.id, actor)
        running = await _daemons(ctx, args.json or sent is None)
    if args.json:
        out_json({"approved": args.id, "sent": asdict(sent) if sent else None, "daemons": running})
    elif sent is None:
        out(f"alert {args.id} approved by {op.name}; it is sent when its author sends it")
    else:
        out(f"alert {args.id} approved by {op.name} and sent: {sent.recipients} recipients")
    return 0


async def alert_update(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, actor):
        _confirm(args, None, f"send this update to everyone who holds alert {args.id}")
        result = await followups.update(
            ctx,
            op,
            args.id,
            params=parse_params(args.param),
            template=args.template,
            zone_ids=args.zone,
            geometry=_zone_args(args, config),
            actor=actor,
        )
        running = await _daemons(ctx, args.json)
    _print_followup(args, result, running)
    return 0


async def alert_all_clear(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, actor):
        _confirm(args, None, f"give the all-clear for alert {args.id}")
        result = await followups.all_clear(
            ctx, op, args.id, params=parse_params(args.param), actor=actor
        )
        running = await _daemons(ctx, args.json)
    _print_followup(args, result, running)
    return 0


async def alert_cancel(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, actor):
        _confirm(args, None, f"cancel alert {args.id} (what is not sent yet never will be)")
        result = await followups.cancel(ctx, op, args.id, actor)
    if args.json:
        out_json({"cancelled": args.id, **result})
    else:
        out(
            f"alert {args.id} cancelled: {result['deliveries_stopped']} messages not sent; "
            "to tell those who got it, send an update first"
        )
    return 0


async def alert_status(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, _):
        report = await lifecycle.status(ctx, op, args.id)
        if args.follow:
            report = await _follow(lambda: lifecycle.status(ctx, op, args.id), report, args.json)
    if args.json:
        out_json(report)
    else:
        _print_status(report)
    return 0


async def alert_list(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, _):
        rows = await lifecycle.list_alerts(ctx, op, args.limit)
    if args.json:
        out_json(rows)
        return 0
    table(
        (
            (
                r["id"],
                r["parent_id"] or "",
                r["message_kind"],
                r["tenant_code"],
                r["hazard"],
                r["severity"],
                "EXERCICE" if r["exercise"] else "",
                r["status"],
                r["recipients"],
                r["sent"],
                r["created_at"].strftime("%Y-%m-%d %H:%M"),
            )
            for r in rows
        ),
        (
            "id",
            "of",
            "kind",
            "tenant",
            "hazard",
            "severity",
            "exercise",
            "status",
            "recipients",
            "sent",
            "created",
        ),
    )
    exercises = sum(1 for r in rows if r["exercise"])
    out(f"{len(rows)} alert(s), of which {exercises} exercise(s)")
    return 0


# -- output --------------------------------------------------------------------------------------


def _confirm(args: argparse.Namespace, report: Mapping[str, Any] | None, what: str) -> None:
    """Nothing goes out without a yes: typed at the prompt, or --yes for scripts."""
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise InputError(f"not a terminal: add --yes to {what} without being asked")
    if report is not None:
        cost = ", ".join(f"{k} {v} EUR" for k, v in report["cost_eur"].items()) or "no price set"
        prompt = (
            f"{what.capitalize()} alert {report['alert']} to {report['recipients']} people "
            f"({report['segments']} SMS segments; {cost})"
            + (" - EXERCICE" if report["exercise"] else "")
            + "? Type yes: "
        )
    else:
        prompt = f"{what.capitalize()}? Type yes: "
    sys.stdout.write(prompt)
    sys.stdout.flush()
    if sys.stdin.readline().strip().lower() not in ("yes", "y", "oui", "o"):
        raise InputError("not confirmed: nothing was sent")


def _print_preview(report: Mapping[str, Any]) -> None:
    exercise = "  *** EXERCICE ***" if report["exercise"] else ""
    out(
        f"alert {report['alert']} ({report['tenant']}, {report['hazard']}, "
        f"{report['severity'].replace('_', '-')}, {report['status']}){exercise}"
    )
    out(
        f"  recipients: {report['recipients']} ({report['by_address']} by address, "
        f"{report['by_postcode']} by postcode only); by language: "
        + ", ".join(f"{k} {v}" for k, v in report["by_language"].items())
    )
    for t in report["texts"]:
        out(f"  [{t['lang']}] {t['encoding']}, {t['segments']} segment(s): {t['text']}")
    cost = ", ".join(f"{k} {v} EUR" for k, v in report["cost_eur"].items()) or "no price set"
    eta = report["eta_seconds"]
    out(
        f"  {report['segments']} SMS segments; cost: {cost}; time to send: "
        + (f"about {progress._duration(eta)}" if eta is not None else "no gateway rate set")
    )
    if not report["recipients"]:
        out(
            "  nobody to alert: no active subscriber of this territory lives inside the zone "
            "(check the zone, its CRS, the topics)"
        )
    if report["needs_approval"]:
        out(
            f"  needs a second operator's approval: more than {report['approval_threshold']} "
            "recipients"
        )


async def _daemons(ctx: lifecycle.Context, quiet: bool) -> int:
    """How many daemons will send what was just queued; says so when there is none."""
    running = await daemon.daemons(ctx.pool)
    if not running and not quiet:
        sys.stderr.write(
            "alertd: warning: no `alertd serve` is connected to this database: the messages "
            "wait in the outbox until one runs\n"
        )
    return running


def _print_followup(args: argparse.Namespace, result: lifecycle.FollowUp, running: int) -> None:
    if args.json:
        out_json({**asdict(result), "daemons": running})
        return
    if result.update_id is not None:
        out(f"update {result.update_id}: to the {result.update_recipients} people who hold it")
    if result.all_clear_id is not None:
        out(f"all-clear {result.all_clear_id}: to {result.all_clear_recipients} people")
    if result.newcomers:
        out(f"the alert itself: to {result.newcomers} people newly inside the zone")


def _print_status(report: Mapping[str, Any]) -> None:
    exercise = "  *** EXERCICE ***" if report["exercise"] else ""
    out(
        f"alert {report['alert']} ({report['kind']}, {report['tenant']}, {report['hazard']}, "
        f"{report['status']}){exercise}: {report['recipients']} recipients"
    )
    out("  " + progress.line(progress.from_counts(report["progress"], report.get("per_second"))))
    for child in report["followups"]:
        line = progress.line(progress.from_counts(child["progress"]))
        out(f"  {child['message_kind']} {child['id']} ({child['status']}): {line}")


async def _follow(
    fetch: Callable[[], Any], report: dict[str, Any], as_json: bool
) -> dict[str, Any]:
    """Redraw the progress line until nothing is left to send (Ctrl-C stops watching, not the
    alert)."""
    tty = sys.stdout.isatty() and not as_json
    last_line = 0.0
    pace = progress.Pace()
    try:
        while True:
            state = progress.from_counts(report["progress"])
            state = replace(state, per_second=pace.update(time.monotonic(), state.handed))
            report["per_second"] = state.per_second
            if tty:
                sys.stdout.write("\r" + progress.line(state) + "\033[K")
                sys.stdout.flush()
            elif not as_json and time.monotonic() - last_line >= LOG_EVERY_S:
                out(progress.line(state))
                last_line = time.monotonic()
            if state.done and report["recipients"] is not None:
                break
            await asyncio.sleep(FOLLOW_EVERY_S)
            report = await fetch()
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    if tty:
        out()
    return report


# -- wiring --------------------------------------------------------------------------------------


def _zone_options(p: argparse.ArgumentParser) -> None:
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
