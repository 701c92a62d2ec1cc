"""What ``alertd alert …`` shows a person: the preview, the confirmation prompt, what a follow-up
did, the status with its progress lines, and the live line of ``--follow``. (``--json`` prints
the same objects through ``out_json``.)"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from alertd.alerts.followups import Cancelled, FollowUp, Plan
from alertd.alerts.lifecycle import Preview, Sent
from alertd.alerts.status import AlertLine, Status
from alertd.cli.util import out, out_json, table
from alertd.delivery import progress
from alertd.errors import InputError
from alertd.jsonable import jsonable_object

FOLLOW_EVERY_S = 0.5
LOG_EVERY_S = 5.0  # when the output is not a terminal, one progress line this often


def _costs(cost_eur: Mapping[str, str]) -> str:
    return ", ".join(f"{k} {v} EUR" for k, v in cost_eur.items()) or "no price set"


def confirm(args: argparse.Namespace, report: Preview | None, what: str) -> None:
    """Nothing goes out without a yes: typed at the prompt, or --yes for scripts."""
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise InputError(f"not a terminal: add --yes to {what} without being asked")
    if report is not None:
        prompt = (
            f"{what.capitalize()} alert {report.alert} to {report.recipients} people "
            f"({report.segments} SMS segments; {_costs(report.cost_eur)})"
            + (" - EXERCICE" if report.exercise else "")
            + "? Type yes: "
        )
    else:
        prompt = f"{what.capitalize()}? Type yes: "
    sys.stdout.write(prompt)
    sys.stdout.flush()
    if sys.stdin.readline().strip().lower() not in ("yes", "y", "oui", "o"):
        raise InputError("not confirmed: nothing was sent")


def local_time(moment: datetime | None, timezone: str, *, short: bool = False) -> str:
    """A time as the duty officer reads it: in the tenant's time zone, the zone named (CET or
    CEST, and the zone's name unless ``short``)."""
    if moment is None:
        return "-"
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")  # a zone unknown here: UTC, which the text then says
    shown = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    return shown if short else f"{shown} ({zone.key})"


def confirm_plan(args: argparse.Namespace, plan: Plan, what: str) -> None:
    """A follow-up is confirmed on what it does: who gets what, and what it costs."""
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise InputError(f"not a terminal: add --yes to {what} without being asked")
    parts = [f"{plan.kind.replace('_', '-')} to {plan.holders}"]
    if plan.newcomers:
        parts.append(f"the alert itself to {plan.newcomers} newcomers")
    if plan.leavers:
        parts.append(f"an all-clear to {plan.leavers} now outside")
    sys.stdout.write(
        f"{what.capitalize()}: {', '.join(parts)} ({plan.segments} SMS segments; "
        f"{_costs(plan.cost_eur)})? Type yes: "
    )
    sys.stdout.flush()
    if sys.stdin.readline().strip().lower() not in ("yes", "y", "oui", "o"):
        raise InputError("not confirmed: nothing was sent")


def print_plan(plan: Plan) -> None:
    """What a follow-up does, before it is confirmed."""
    kind = plan.kind.replace("_", "-")
    out(f"{kind} of alert {plan.alert}:")
    out(f"  {kind}: to the {plan.holders} people who hold the alert")
    if plan.newcomers:
        out(f"  the alert itself: to {plan.newcomers} people newly inside the zone")
    if plan.leavers:
        out(f"  an all-clear: to {plan.leavers} people now outside the zone")
    for t in plan.texts:
        out(f"  [{t.lang}] {t.encoding}, {t.segments} segment(s): {t.text}")
    for t in plan.leaver_texts:
        out(f"  all-clear [{t.lang}] {t.encoding}, {t.segments} segment(s): {t.text}")
    eta = plan.eta_seconds
    out(
        f"  {plan.segments} SMS segments; cost: {_costs(plan.cost_eur)}; time to send: "
        + (f"about {progress.duration(eta)}" if eta is not None else "no gateway rate set")
    )
    if plan.needs_approval:
        out(
            f"  needs a second operator's approval: the alert would reach {plan.reach_after} "
            f"people, more than {plan.approval_threshold}"
        )


def print_preview(report: Preview) -> None:
    exercise = "  *** EXERCICE ***" if report.exercise else ""
    out(
        f"alert {report.alert} ({report.tenant}, {report.hazard}, "
        f"{report.severity.replace('_', '-')}, {report.status}){exercise}"
    )
    out(
        f"  recipients: {report.recipients} ({report.by_address} by address, "
        f"{report.by_postcode} by postcode only); by language: "
        + ", ".join(f"{k} {v}" for k, v in report.by_language.items())
    )
    for t in report.texts:
        out(f"  [{t.lang}] {t.encoding}, {t.segments} segment(s): {t.text}")
    eta = report.eta_seconds
    out(
        f"  {report.segments} SMS segments; cost: {_costs(report.cost_eur)}; time to send: "
        + (f"about {progress.duration(eta)}" if eta is not None else "no gateway rate set")
    )
    if report.expires_at is not None:
        out(
            "  valid until "
            + local_time(report.expires_at, report.timezone)
            + (" if sent now" if report.status in ("draft", "approved", "pending_approval") else "")
            + ": what is not sent by then is not sent late"
        )
    if report.postcode_only_unmatched:
        out(
            f"  warning: {report.postcode_only_unmatched} residents of the territory known by "
            "their postcode only cannot be matched: no postcode areas were imported (alertd "
            "tenants import-territory CODE --postcode-areas FILE)"
        )
    if not report.recipients:
        out(
            "  nobody to alert: no active subscriber of this territory lives inside the zone "
            "(check the zone, its CRS, the topics)"
        )
    if report.needs_approval:
        out(
            f"  needs a second operator's approval: more than {report.approval_threshold} "
            "recipients"
        )


def print_followup(result: FollowUp, running: int, *, as_json: bool) -> None:
    if as_json:
        out_json({**jsonable_object(result), "daemons": running})
        return
    if result.status == "pending_approval":
        out(
            f"update {result.update_id} waits for a second operator's approval (alertd alert "
            f"approve {result.update_id}): it reaches {result.newcomers} people who have not "
            "received the alert; nothing was sent yet"
        )
        return
    if result.update_id is not None:
        out(f"update {result.update_id}: to the {result.update_recipients} people who hold it")
    if result.all_clear_id is not None:
        out(f"all-clear {result.all_clear_id}: to {result.all_clear_recipients} people")
    if result.newcomers:
        out(f"the alert itself: to {result.newcomers} people newly inside the zone")


NO_DAEMON = "no daemon is connected: nothing is being sent (start alertd serve)"


def print_status(report: Status, per_second: float | None = None) -> None:
    exercise = "  *** EXERCICE ***" if report.exercise else ""
    out(
        f"alert {report.alert} ({report.kind}, {report.tenant}, {report.hazard}, "
        f"{report.status}){exercise}: {report.recipients} recipients"
    )
    if report.sent_at is not None:
        out(
            f"  sent {local_time(report.sent_at, report.timezone)}; valid until "
            f"{local_time(report.expires_at, report.timezone)}"
        )
    if report.cancelled_at is not None:
        out(f"  cancelled {local_time(report.cancelled_at, report.timezone)}")
    waiting = not_sent_yet(report)
    if waiting is not None:
        out("  " + waiting)
    else:
        out("  " + progress.line(progress.from_counts(report.progress, per_second)))
    if report.enqueue is not None:
        of = f" of {report.recipients}" if report.recipients is not None else ""
        if report.enqueue == "interrupted":
            out(
                f"  enqueue incomplete: {report.written}{of} written; the daemon resumes it "
                f"(or run alertd alert send {report.alert} again)"
            )
        else:
            out(f"  enqueue in progress: {report.written}{of} written")
    for child in report.followups:
        line = progress.line(progress.from_counts(child.progress))
        out(f"  {child.message_kind} {child.id} ({child.status.replace('_', ' ')}): {line}")
    if report.daemons == 0 and not finished(report):
        out("  " + NO_DAEMON)
    if report.note is not None:
        out(f"WARNING: {report.note}")


def overall(report: Status) -> dict[str, int]:
    """The alert and its follow-ups together: what following it waits for."""
    total: dict[str, int] = dict(report.progress)
    for child in report.followups:
        for status, n in child.progress.items():
            total[status] = total.get(status, 0) + n
    return total


def finished(report: Status) -> bool:
    """Nothing left to send: not the alert, not its follow-ups (an update waiting for approval
    is not being sent), no enqueue still writing."""
    return (
        progress.from_counts(overall(report)).done
        and report.recipients is not None
        and report.enqueue is None
    )


def not_sent_yet(report: Status) -> str | None:
    """What stands between the alert and its recipients when it is not being sent at all: a
    progress line would say "done" over nothing."""
    if report.status == "pending_approval":
        return (
            f"nothing sent: waiting for a second operator's approval "
            f"(alertd alert approve {report.alert})"
        )
    if report.status == "draft":
        return f"nothing sent: a draft (alertd alert send {report.alert})"
    return None


def follow_line(report: Status, state: progress.Progress) -> str:
    waiting = not_sent_yet(report)
    if waiting is not None:
        return waiting
    line = progress.line(state)
    if report.followups:
        line += f"  (with {len(report.followups)} follow-up(s))"
    if report.daemons == 0 and not finished(report):
        line += "  - " + NO_DAEMON
    return line


async def follow(
    fetch: Callable[[], Awaitable[Status]], report: Status, *, as_json: bool
) -> tuple[Status, float | None]:
    """Redraw the progress line until nothing is left to send (Ctrl-C stops watching, not the
    alert). Returns the last status and the pace measured, in messages per second."""
    tty = sys.stdout.isatty() and not as_json
    last_line = 0.0
    pace = progress.Pace()
    per_second: float | None = None
    try:
        while True:
            state = progress.from_counts(overall(report))
            state = replace(state, per_second=pace.update(time.monotonic(), state.handed))
            per_second = state.per_second
            if tty:
                sys.stdout.write("\r" + follow_line(report, state) + "\033[K")
                sys.stdout.flush()
            elif not as_json and time.monotonic() - last_line >= LOG_EVERY_S:
                out(follow_line(report, state))
                last_line = time.monotonic()
            if finished(report) or not_sent_yet(report) is not None:
                break  # done, or nothing will move until someone acts
            await asyncio.sleep(FOLLOW_EVERY_S)
            report = await fetch()
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    if tty:
        out()
    return report, per_second


def print_alert_lines(rows: Sequence[AlertLine]) -> None:
    """``alertd alert list``: one line per alert, exercises marked."""
    table(
        (
            (
                r.id,
                r.parent_id or "",
                r.message_kind,
                r.tenant_code,
                r.hazard,
                r.severity,
                "EXERCICE" if r.exercise else "",
                r.status,
                r.recipients,
                r.sent,
                local_time(r.created_at, r.timezone, short=True),
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
    exercises = sum(1 for r in rows if r.exercise)
    out(f"{len(rows)} alert(s), of which {exercises} exercise(s)")


def print_returned(alert_id: int, reason: str, *, as_json: bool) -> None:
    if as_json:
        out_json({"alert_id": alert_id, "status": "draft", "reason": reason})
    else:
        out(f"alert {alert_id} returned to its author, a draft again: {reason}")


def print_sent(alert_id: int, sent: Sent, approval_threshold: int) -> None:
    """What `alert send` did: sent to the outbox, or waiting for a second person."""
    if sent.status == "pending_approval":
        out(
            f"alert {alert_id} reaches {sent.recipients} people, more than the "
            f"{approval_threshold} one operator may alert alone: a second operator "
            f"must approve it (alertd alert approve {alert_id}); it is sent at once then"
        )
        return
    if sent.resumed:
        out(
            f"alert {alert_id}: its interrupted send was resumed: {sent.written} deliveries "
            "written now"
        )
    out(f"alert {alert_id} sent to the outbox: {sent.recipients} recipients")
    out(f"follow it: alertd alert status {alert_id} --follow")


def print_cancelled(alert_id: int, result: Cancelled, *, as_json: bool) -> None:
    """What `alert cancel` did, and how to tell those who already got the alert."""
    if as_json:
        out_json({"cancelled": alert_id, **jsonable_object(result)})
        return
    out(
        f"alert {alert_id} cancelled: {result.deliveries_stopped} messages not sent; to tell "
        f"those who got it: alertd alert update {alert_id} --param message=… (a correction) "
        f"or alertd alert all-clear {alert_id}"
    )
