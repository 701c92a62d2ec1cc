"""``alertd schedule …`` through the API (ALERTD_URL): the same questions, output and exit codes
as alertd/cli/schedules.py, the work done by ``alertd serve``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from alertd.cli.remote_alerts import remote
from alertd.cli.revive import revive
from alertd.cli.schedule_output import (
    confirm_schedule,
    print_moved,
    print_plan,
    print_view,
    print_views,
)
from alertd.cli.schedules import print_quiet, spec_of
from alertd.cli.util import out, out_json
from alertd.config import Config
from alertd.errors import ConfigError
from alertd.schedule.schedules import Plan, ScheduleView, Spec


def body_of(spec: Spec) -> dict[str, Any]:
    """The schedule as the API takes it; the time, already read here in its zone, in UTC."""
    rule = spec.rule
    body: dict[str, Any] = {
        "name": spec.name,
        "template": spec.template,
        "params": dict(spec.params),
        "zone_ids": list(spec.zone_ids),
        "communes": list(spec.communes),
        "postcodes": list(spec.postcodes),
        "topics": list(spec.topics),
        "languages": list(spec.languages),
        "grace_s": spec.grace_s,
        "timezone": rule.timezone,
    }
    if rule.run_at is not None:
        body["run_at"] = rule.run_at.isoformat()
    else:
        body["cron"] = rule.cron
        body["skip_holidays"] = rule.skip_holidays
        body["except_dates"] = sorted(d.isoformat() for d in rule.except_dates)
    if spec.severity:
        body["severity"] = spec.severity
    if spec.tenant_code:
        body["tenant"] = spec.tenant_code
    return body


async def schedule_create(args: argparse.Namespace, config: Config) -> int:
    body = body_of(spec_of(args, datetime.now(UTC)))
    async with remote(config) as api:
        shown = revive(Plan, await api.post("/schedules/preview", body))
        if not args.json:
            print_plan(shown, args.timezone)
        confirm_schedule(args, shown)
        view = revive(ScheduleView, await api.post("/schedules", body))
    if args.json:
        out_json(view)
    else:
        out(f"schedule {view.id} saved by {view.created_by}: {view.status.replace('_', ' ')}")
    return 0


async def schedule_list(args: argparse.Namespace, config: Config) -> int:
    async with remote(config) as api:
        views = [revive(ScheduleView, v) for v in await api.get("/schedules")]
    if args.json:
        out_json(views)
    else:
        print_views(views)
    return 0


async def schedule_show(args: argparse.Namespace, config: Config) -> int:
    async with remote(config) as api:
        view = revive(ScheduleView, await api.get(f"/schedules/{args.id}"))
    if args.json:
        out_json(view)
    else:
        print_view(view)
    return 0


async def _move(args: argparse.Namespace, config: Config, verb: str) -> int:
    async with remote(config) as api:
        view = revive(ScheduleView, await api.post(f"/schedules/{args.id}/{verb}"))
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
    body: dict[str, Any] = {}
    if args.hours is not None:
        body["hours"] = None if args.hours == "none" else args.hours
    if args.policy is not None:
        body["policy"] = args.policy
    if args.information_approval is not None:
        body["information_approval"] = args.information_approval
    async with remote(config) as api:
        result = await api.post(f"/tenants/{args.code}/quiet-hours", body)
    print_quiet(args, result)
    return 0


async def schedule_import_sectors(args: argparse.Namespace, config: Config) -> int:
    raise ConfigError(
        "`alertd schedule import-sectors` stores zones on the server (DATABASE_URL), not through "
        "ALERTD_URL"
    )
