"""What ``alertd schedule …`` prints, the same on the direct and the remote (ALERTD_URL) paths."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from alertd.cli.alert_output import local_time
from alertd.cli.util import out, out_json, table
from alertd.errors import InputError
from alertd.schedule.rules import Firing
from alertd.schedule.schedules import Plan, ScheduleView

PARIS = "Europe/Paris"


def _firing(one: Firing, timezone: str) -> str:
    text = local_time(one.fire_time, timezone, short=True)
    if one.due_at != one.fire_time:
        text += f" -> sent at {local_time(one.due_at, timezone, short=True)} (quiet hours)"
    return text


def print_plan(plan: Plan, timezone: str = PARIS) -> None:
    out(f"schedule {plan.name!r} for {plan.tenant_code}: {plan.when}")
    out(f"  {plan.severity.replace('_', '-')}; reaches {plan.recipients_now} people today")
    for lang, text in sorted(plan.texts.items()):
        out(f"  [{lang}] {text}")
    out("  next firings:")
    for one in plan.next_firings:
        out(f"    {_firing(one, timezone)}")
    if plan.needs_approval:
        out("  a second person must approve it before it fires (alertd schedule approve ID)")


def confirm_schedule(args: argparse.Namespace, plan: Plan) -> None:
    """Saved only on a yes: typed at the prompt, or --yes for scripts."""
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise InputError("not a terminal: add --yes to save this schedule without being asked")
    sys.stdout.write(f"Save schedule {plan.name!r} ({plan.when})? Type yes: ")
    sys.stdout.flush()
    if sys.stdin.readline().strip().lower() not in ("yes", "y", "oui", "o"):
        raise InputError("not confirmed: nothing was saved")


def print_view(view: ScheduleView) -> None:
    out(f"schedule {view.id} {view.name!r} ({view.tenant_code}): {view.status.replace('_', ' ')}")
    out(f"  when: {view.when}; grace {view.grace_s / 60:g} min")
    targets = [f"zone {z}" for z in view.zone_ids]
    targets += [f"commune {c}" for c in view.communes]
    targets += [f"postcode {p}" for p in view.postcodes]
    out(f"  template {view.template} ({view.severity.replace('_', '-')}) to {', '.join(targets)}")
    if view.topics:
        out(f"  topics: {', '.join(view.topics)}")
    created = local_time(view.created_at, view.timezone, short=True)
    who = f"  created by {view.created_by} on {created}"
    if view.approved_by:
        who += f"; approved by {view.approved_by}"
    out(who)
    if view.next_firings:
        out("  next firings:")
        for one in view.next_firings:
            out(f"    {_firing(one, view.timezone)}")
    if view.firings:
        out("  latest firings:")
        for f in view.firings:
            alert = f"alert {f.alert_id}" if f.alert_id else "-"
            note = f" ({f.error})" if f.error else ""
            fired = local_time(f.fire_time, view.timezone, short=True)
            out(f"    {fired}  {f.status}  {alert}{note}")


def print_views(views: Sequence[ScheduleView]) -> None:
    if not views:
        out("no schedule")
        return
    table(
        (
            (
                v.id,
                v.tenant_code,
                v.status.replace("_", " "),
                v.name,
                v.when,
                local_time(v.next_firings[0].due_at, v.timezone, short=True)
                if v.next_firings
                else "-",
                v.created_by,
            )
            for v in views
        ),
        ("ID", "TENANT", "STATUS", "NAME", "WHEN", "NEXT", "CREATED BY"),
    )


def print_moved(view: ScheduleView, as_json: bool) -> None:
    """The answer to pause, resume, delete and approve: the schedule and its new status."""
    if as_json:
        out_json(view)
    else:
        out(f"schedule {view.id} {view.name!r}: {view.status.replace('_', ' ')}")
