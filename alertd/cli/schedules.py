"""``alertd schedule …``: scheduled and recurring notices (the waste service's collections),
each shown with its next firings before it is saved. As the operator whose token is in
ALERTD_OPERATOR_TOKEN; through the API when ALERTD_URL is set (alertd/cli/remote_schedules.py).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alertd.audit import cli_actor
from alertd.cli.alerts import session
from alertd.cli.schedule_output import (
    confirm_schedule,
    print_moved,
    print_plan,
    print_view,
    print_views,
)
from alertd.cli.templates import parse_params
from alertd.cli.util import command, out, out_json, positive_int, subcommands
from alertd.config import Config
from alertd.errors import InputError, NotFoundError
from alertd.schedule import schedules, sectors, when
from alertd.schedule.rules import Rule, parse_quiet
from alertd.store.database import open_database


def rule_of_args(args: argparse.Namespace, now: datetime) -> Rule:
    given = [x for x in (args.at, args.every, args.cron) if x]
    if len(given) != 1:
        raise InputError("say when, once: --at TIME, --every 'mon 19:00' or --cron '…'")
    if args.at:
        return Rule(timezone=args.timezone, run_at=when.parse_at(args.at, now, args.timezone))
    cron = when.every_to_cron(args.every) if args.every else args.cron
    return Rule(
        timezone=args.timezone,
        cron=cron,
        skip_holidays=args.skip_holidays,
        except_dates=when.parse_dates(",".join(args.except_dates)),
    )


def spec_of(args: argparse.Namespace, now: datetime) -> schedules.Spec:
    return schedules.Spec(
        name=args.name,
        template=args.template,
        rule=rule_of_args(args, now),
        params=parse_params(args.param),
        zone_ids=args.zone,
        communes=args.commune,
        postcodes=args.postcode,
        topics=args.topic,
        languages=args.lang,
        severity=args.severity,
        grace_s=when.parse_duration(args.grace),
        tenant_code=args.tenant,
    )


async def schedule_create(args: argparse.Namespace, config: Config) -> int:
    now = datetime.now(UTC)
    spec = spec_of(args, now)
    async with session(config) as (ctx, op, actor):
        shown = await schedules.plan(ctx, op, spec, now)
        if not args.json:
            print_plan(shown, args.timezone)
        confirm_schedule(args, shown)
        view = await schedules.create(ctx, op, spec, now, actor)
    if args.json:
        out_json(view)
    else:
        out(f"schedule {view.id} saved by {view.created_by}: {view.status.replace('_', ' ')}")
    return 0


async def schedule_list(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, _):
        views = await schedules.list_schedules(ctx.pool, op, datetime.now(UTC))
    if args.json:
        out_json(views)
    else:
        print_views(views)
    return 0


async def schedule_show(args: argparse.Namespace, config: Config) -> int:
    async with session(config) as (ctx, op, _):
        view = await schedules.show(ctx.pool, op, args.id, datetime.now(UTC))
    if args.json:
        out_json(view)
    else:
        print_view(view)
    return 0


async def _move(args: argparse.Namespace, config: Config, verb: str) -> int:
    async with session(config) as (ctx, op, actor):
        act = getattr(schedules, verb)
        view = await act(ctx.pool, op, args.id, actor, datetime.now(UTC))
    print_moved(view, args.json)
    return 0


async def schedule_pause(args: argparse.Namespace, config: Config) -> int:
    return await _move(args, config, "pause")


async def schedule_resume(args: argparse.Namespace, config: Config) -> int:
    return await _move(args, config, "resume")


async def schedule_delete(args: argparse.Namespace, config: Config) -> int:
    return await _move(args, config, "delete")


async def schedule_approve(args: argparse.Namespace, config: Config) -> int:
    return await _move(args, config, "approve")


async def schedule_quiet_hours(args: argparse.Namespace, config: Config) -> int:
    hours = None if args.hours in (None, "none") else parse_quiet(args.hours)
    async with session(config) as (ctx, op, actor):
        if args.hours is None:  # unchanged
            hours = await schedules.current_quiet_hours(ctx.pool, args.code)
        result = await schedules.set_quiet_hours(
            ctx.pool,
            op,
            args.code,
            hours=hours,
            policy=args.policy,
            information_approval=args.information_approval,
            actor=actor,
        )
    print_quiet(args, result)
    return 0


def print_quiet(args: argparse.Namespace, result: dict[str, Any]) -> None:
    if args.json:
        out_json(result)
    else:
        out(
            f"{args.code}: quiet hours {result['quiet_hours'] or 'none'} "
            f"({result['policy']} information notices due in them); information agents' notices "
            f"{'need' if result['information_approval'] else 'do not need'} a second approval"
        )


async def schedule_import_sectors(args: argparse.Namespace, config: Config) -> int:
    """The waste service's sectors, one zone of kind waste_sector per feature."""
    if (args.file is None) == (not args.demo):
        raise InputError("give the sectors' GeoJSON file, or --demo for the shipped demo sectors")
    data = sectors.demo_sectors() if args.demo else read_file(args.file)
    async with open_database(config) as db:
        found = await sectors.import_sectors(
            db.pool,
            data,
            tenant=args.tenant,
            name_property=args.name_property,
            crs=args.crs,
            config=config.zones,
            actor=cli_actor(),
        )
    if args.json:
        out_json(found)
        return 0
    for s in found:
        out(f"zone {s.zone_id} {s.name!r}: {'imported' if s.created else 'already stored'}")
    return 0


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"file {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def _yes_no(text: str) -> bool:
    if text not in ("yes", "no"):
        raise argparse.ArgumentTypeError(f"yes or no, not {text!r}")
    return text == "yes"


def register(parser: argparse.ArgumentParser) -> None:
    sub = subcommands(parser)
    p = command(sub, "create", schedule_create, "schedule a notice; shows its next firings first")
    p.add_argument("--name", required=True, help="what the service calls it")
    p.add_argument("--template", required=True, help="e.g. waste_disrupted")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument(
        "--zone",
        type=positive_int,
        action="append",
        default=[],
        help="a stored zone (e.g. a waste sector)",
    )
    p.add_argument(
        "--commune", action="append", default=[], metavar="INSEE", help="a whole commune"
    )
    p.add_argument("--postcode", action="append", default=[], help="a whole postcode area")
    p.add_argument("--topic", action="append", default=[], help="e.g. dechets")
    p.add_argument("--lang", action="append", default=[], help="languages (default: all)")
    p.add_argument("--severity", choices=("life_safety", "information"))
    p.add_argument("--at", help="once: 'tomorrow 06:30', '2026-12-02 06:30'")
    p.add_argument("--every", help="recurring: 'mon 19:00', 'mon,thu 06:00', 'day 07:00'")
    p.add_argument("--cron", help="recurring: a crontab line, minute hour day month weekday")
    p.add_argument("--skip-holidays", action="store_true", help="not on French public holidays")
    p.add_argument(
        "--except", dest="except_dates", action="append", default=[], metavar="YYYY-MM-DD[,…]"
    )
    p.add_argument("--timezone", default="Europe/Paris")
    p.add_argument("--grace", default="60m", help="sent if at most this late (default 60m)")
    p.add_argument("--tenant", help="the commune (intercommunality operators)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true")
    p = command(
        sub, "list", schedule_list, "the schedules of your territory, each with its next firing"
    )
    p.add_argument("--json", action="store_true")
    for name, handler, text in (
        ("show", schedule_show, "a schedule, its next firings and its latest ones"),
        ("pause", schedule_pause, "stop firing until resumed"),
        ("resume", schedule_resume, "fire again, from now (what fell in the pause does not)"),
        ("delete", schedule_delete, "never fire again (kept for the audit)"),
        ("approve", schedule_approve, "approve another person's schedule (four eyes)"),
    ):
        p = command(sub, name, handler, text)
        p.add_argument("id", type=positive_int)
        p.add_argument("--json", action="store_true")
    p = command(
        sub, "import-sectors", schedule_import_sectors, "waste sectors from a GeoJSON, as zones"
    )
    p.add_argument("file", nargs="?", type=Path, help="one feature per sector (any CRS)")
    p.add_argument("--demo", action="store_true", help="the shipped synthetic demo sectors")
    p.add_argument("--tenant", help="the owner (default: the intercommunality)")
    p.add_argument("--name-property", default="name", help="the property naming each sector")
    p.add_argument("--crs", help="the file's CRS when it does not say (e.g. EPSG:2154)")
    p.add_argument("--json", action="store_true")
    p = command(sub, "quiet-hours", schedule_quiet_hours, "a tenant's quiet hours for information")
    p.add_argument("code", help="the tenant's code")
    p.add_argument("--hours", help="HH:MM-HH:MM, e.g. 21:00-07:30; 'none' for none")
    p.add_argument(
        "--policy", choices=("defer", "refuse"), help="a notice due in them waits or is refused"
    )
    p.add_argument(
        "--information-approval",
        type=_yes_no,
        metavar="yes|no",
        help="information agents' notices need a second approval",
    )
    p.add_argument("--json", action="store_true")
