"""``alertd alert …`` through the API (ALERTD_URL): the same questions, output and exit codes as
alertd/cli/alerts.py, with the work done by ``alertd serve``. Every command that sends carries one
Idempotency-Key for its invocation (alertd/cli/remote.py), so a retry never sends twice.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from alertd.alerts.followup_plan import Plan
from alertd.alerts.followups import Cancelled, FollowUp
from alertd.alerts.lifecycle import Sent
from alertd.alerts.previews import Preview
from alertd.alerts.status import AlertLine, Status
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
from alertd.cli.remote import Remote
from alertd.cli.revive import revive
from alertd.cli.templates import parse_params
from alertd.cli.util import out, out_json
from alertd.config import Config
from alertd.errors import InputError
from alertd.jsonable import jsonable_object


def remote(config: Config) -> Remote:
    return Remote(config.operator.url, config.operator.token)


def zone_body(args: argparse.Namespace) -> dict[str, Any]:
    """The zone options as the API takes them; a GeoJSON file is read here, projected there."""
    if args.geojson and args.circle:
        raise InputError("give either --geojson or --circle, not both")
    body: dict[str, Any] = {"zone_ids": args.zone, "outside_territory": args.outside_territory}
    if args.geojson:
        try:
            body["geojson"] = json.loads(args.geojson.read_bytes())
        except ValueError as exc:
            raise InputError(f"{args.geojson} is not JSON: {exc}") from None
        if args.crs:
            body["crs"] = args.crs
    if args.circle:
        lon, lat, radius = args.circle
        body["circle"] = {"lon": lon, "lat": lat, "radius_m": radius}
    return body


def _plain(**values: object) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, [], {})}


def _no_daemon(answer: Mapping[str, Any], quiet: bool) -> None:
    if not answer.get("daemons") and not quiet:
        sys.stderr.write(
            "alertd: warning: no `alertd serve` is connected to this database: the messages "
            "wait in the outbox until one runs\n"
        )


def _preview_or_plan(answer: Mapping[str, Any]) -> Preview | Plan:
    return (
        revive(Preview, answer)
        if "texts" in answer and "by_address" in answer
        else revive(Plan, answer)
    )


async def alert_create(args: argparse.Namespace, config: Config) -> int:
    body = _plain(
        template=args.template,
        params=parse_params(args.param),
        hazard=args.hazard,
        severity=args.severity,
        languages=args.lang,
        topics=args.topic,
        expires_in_s=int(args.expires_in) if args.expires_in else None,
        tenant=args.tenant,
        **zone_body(args),
    )
    for key, given in (("communes", args.commune), ("postcodes", args.postcode)):
        if given:
            body[key] = given
    if args.exercise:
        body["exercise"] = True
    async with remote(config) as api:
        report = revive(Preview, await api.post("/alerts", body))
        author = (
            (await api.get(f"/alerts/{report.alert}")).get("created_by") if not args.json else None
        )
    if args.json:
        out_json(report)
    else:
        out(f"draft alert {report.alert} created by {author}")
        print_preview(report)
        out(f"next: alertd alert send {report.alert}")
    return 0


async def alert_preview(args: argparse.Namespace, config: Config) -> int:
    async with remote(config) as api:
        report = _preview_or_plan(await api.get(f"/alerts/{args.id}/preview"))
    if args.json:
        out_json(report)
    elif isinstance(report, Plan):
        print_plan(report)
    else:
        print_preview(report)
    return 0


async def alert_send(args: argparse.Namespace, config: Config) -> int:
    async with remote(config) as api:
        report = revive(Preview, await api.get(f"/alerts/{args.id}/preview"))
        if not args.json:
            print_preview(report)
        confirm(args, report, "send")
        answer = await api.post(f"/alerts/{args.id}/send", sends=True)
    sent = revive(Sent, answer)
    _no_daemon(answer, args.json or sent.status != "sent")
    if args.json:
        out_json({**answer})
    else:
        print_sent(args.id, sent, report.approval_threshold)
    return 0


async def alert_approve(args: argparse.Namespace, config: Config) -> int:
    async with remote(config) as api:
        report = _preview_or_plan(await api.get(f"/alerts/{args.id}/preview"))
        if isinstance(report, Plan):
            if not args.json:
                print_plan(report)
            confirm_plan(args, report, f"approve and send update {args.id}")
        else:
            if not args.json:
                print_preview(report)
            confirm(args, report, "approve and send")
        answer = await api.post(f"/alerts/{args.id}/approve", sends=True)
        approver = (await api.get(f"/alerts/{args.id}")).get("approved_by")
    if isinstance(report, Plan):
        print_followup(revive(FollowUp, answer), answer.get("daemons", 0), as_json=args.json)
    elif args.json:
        out_json({"approved": args.id, **answer})
    elif answer.get("status") == "approved":
        out(f"alert {args.id} approved by {approver}; it is sent when its author sends it")
    elif answer.get("resumed"):
        out(
            f"alert {args.id}: its interrupted send was resumed: {answer.get('written')} "
            f"deliveries written now; {answer.get('recipients')} recipients"
        )
    else:
        out(
            f"alert {args.id} approved by {approver} and sent: "
            f"{answer.get('recipients')} recipients"
        )
    return 0


async def alert_return(args: argparse.Namespace, config: Config) -> int:
    async with remote(config) as api:
        answer = await api.post(f"/alerts/{args.id}/return", {"reason": args.reason})
    print_returned(answer["alert_id"], answer["reason"], as_json=args.json)
    return 0


async def alert_update(args: argparse.Namespace, config: Config) -> int:
    body = {"params": parse_params(args.param), "template": args.template, **zone_body(args)}
    async with remote(config) as api:
        plan = revive(Plan, await api.post(f"/alerts/{args.id}/update/preview", body))
        if not args.json:
            print_plan(plan)
        confirm_plan(args, plan, f"send this update of alert {args.id}")
        answer = await api.post(f"/alerts/{args.id}/update", body, sends=True)
    _no_daemon(answer, args.json or answer.get("status") != "sent")
    print_followup(revive(FollowUp, answer), answer.get("daemons", 0), as_json=args.json)
    return 0


async def alert_all_clear(args: argparse.Namespace, config: Config) -> int:
    body = {"params": parse_params(args.param)}
    async with remote(config) as api:
        plan = revive(Plan, await api.post(f"/alerts/{args.id}/all-clear/preview", body))
        if not args.json:
            print_plan(plan)
        confirm_plan(args, plan, f"give the all-clear for alert {args.id}")
        answer = await api.post(f"/alerts/{args.id}/all-clear", body, sends=True)
    _no_daemon(answer, args.json)
    print_followup(revive(FollowUp, answer), answer.get("daemons", 0), as_json=args.json)
    return 0


async def alert_cancel(args: argparse.Namespace, config: Config) -> int:
    async with remote(config) as api:
        confirm(args, None, f"cancel alert {args.id} (what is not sent yet never will be)")
        result = revive(Cancelled, await api.post(f"/alerts/{args.id}/cancel"))
    print_cancelled(args.id, result, as_json=args.json)
    return 0


async def alert_status(args: argparse.Namespace, config: Config) -> int:
    async with remote(config) as api:

        async def fetch() -> Status:
            return revive(Status, await api.get(f"/alerts/{args.id}"))

        report = await fetch()
        if not args.follow:
            if args.json:
                out_json(report)
            else:
                print_status(report)
            return 0
        report, per_second = await follow(fetch, report, as_json=args.json)
    if args.json:
        out_json({**jsonable_object(report), "per_second": per_second})
    else:
        print_status(report, per_second)
    return 0


async def alert_list(args: argparse.Namespace, config: Config) -> int:
    async with remote(config) as api:
        rows = [revive(AlertLine, r) for r in await api.get("/alerts", limit=args.limit or None)]
    if args.json:
        out_json(rows)
    else:
        print_alert_lines(rows)
    return 0
