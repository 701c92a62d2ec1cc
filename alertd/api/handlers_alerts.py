"""/v1/alerts: from draft to all-clear, through the same lifecycle functions as ``alertd alert``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alertd.alerts import approvals, followups, lifecycle, status
from alertd.alerts.followup_plan import Plan
from alertd.alerts.followups import Cancelled, FollowUp
from alertd.alerts.previews import Preview
from alertd.api import deliveries
from alertd.api.routes import (
    BOOLEAN,
    Call,
    Reply,
    Route,
    Schema,
    array,
    integer,
    obj,
    string_map,
    text,
    with_fields,
)
from alertd.api.shapes import dataclass_schema, list_schema
from alertd.api.zone_input import ZONE_FIELDS, geometry_of
from alertd.delivery import daemon, fake_gateways
from alertd.jsonable import jsonable_object

MAX_EXPIRES_S = 30 * 86_400  # as the CLI's --expires-in

CREATE: Schema = with_fields(
    obj(
        ["template"],
        template=text(100, 1),
        params=string_map(),
        hazard=text(100, 1),
        severity={"enum": list(lifecycle.SEVERITIES)},
        languages=array(text(10, 1), 20),
        topics=array(text(100, 1), 50),
        expires_in_s=integer(1, MAX_EXPIRES_S),
        exercise=BOOLEAN,
        tenant=text(20, 1),
        # whole communes (INSEE codes) and postcode areas: targets without drawing
        communes=array(text(5, 5), 50),
        postcodes=array(text(5, 5), 50),
    ),
    ZONE_FIELDS,
)
UPDATE: Schema = with_fields(obj(template=text(100, 1), params=string_map()), ZONE_FIELDS)
ALL_CLEAR: Schema = obj(params=string_map())
SENT: Schema = {
    "type": "object",
    "required": ["alert_id", "status", "recipients", "daemons", "note"],
    "properties": {
        **dataclass_schema(lifecycle.Sent)["properties"],
        "daemons": {"type": "integer"},
        "note": {"type": ["string", "null"]},
    },
}
PREVIEW_OR_PLAN: Schema = {"anyOf": [dataclass_schema(Preview), dataclass_schema(Plan)]}
STATUS: Schema = {
    **dataclass_schema(status.Status),
    "properties": {
        **dataclass_schema(status.Status)["properties"],
        "note": {"type": ["string", "null"]},
    },
}


async def create(call: Call) -> Reply:
    b = call.body
    draft = lifecycle.Draft(
        template=b["template"],
        params=b.get("params", {}),
        zone_ids=b.get("zone_ids", []),
        geometry=geometry_of(b, call.env.config),
        hazard=b.get("hazard"),
        severity=b.get("severity"),
        languages=b.get("languages", []),
        topics=b.get("topics", []),
        expires_in_s=b.get("expires_in_s"),
        exercise=b.get("exercise", False),
        tenant_code=b.get("tenant"),
        outside_territory=b.get("outside_territory", False),
        communes=b.get("communes", []),
        postcodes=b.get("postcodes", []),
    )
    alert_id = await lifecycle.create(call.env.ctx, call.op, draft, call.actor)
    return Reply(await lifecycle.preview(call.env.ctx, call.op, alert_id), 201)


async def preview(call: Call) -> Reply:
    alert_id = call.path["id"]
    alert = await lifecycle.load(call.env.pool, call.op, alert_id)
    if alert["message_kind"] != "alert":
        return Reply(await followups.preview_child(call.env.ctx, call.op, alert_id))
    return Reply(await lifecycle.preview(call.env.ctx, call.op, alert_id))


async def send(call: Call) -> Reply:
    sent = await lifecycle.send(call.env.ctx, call.op, call.path["id"], call.actor)
    return Reply(await _with_daemons(call, jsonable_object(sent), sent.alert_id))


async def approve(call: Call) -> Reply:
    alert_id = call.path["id"]
    alert = await lifecycle.load(call.env.pool, call.op, alert_id)
    if alert["message_kind"] == "update":
        done = await followups.approve_update(call.env.ctx, call.op, alert_id, call.actor)
        return Reply(await _with_daemons(call, jsonable_object(done), alert_id))
    sent = await lifecycle.approve(call.env.ctx, call.op, alert_id, call.actor)
    value = (
        jsonable_object(sent)
        if sent is not None
        # Approved, not sent: the author sends it.
        else {"alert_id": alert_id, "status": "approved", "recipients": None, "written": 0}
    )
    return Reply(await _with_daemons(call, value, alert_id))


async def give_back(call: Call) -> Reply:
    """The approver returns it to its author, with the reason (four eyes, as for approving)."""
    alert = await lifecycle.load(call.env.pool, call.op, call.path["id"])
    await lifecycle.check_approver(call.env.pool, call.op, alert)
    await approvals.give_back(call.env.pool, alert, call.body["reason"], call.actor)
    return Reply({"alert_id": alert["id"], "status": "draft", "reason": call.body["reason"]})


async def _with_daemons(
    call: Call, value: Mapping[str, object], alert_id: int
) -> dict[str, object]:
    """Whether a daemon will send it; whether it goes through a fake gateway (nobody gets it)."""
    return {
        **value,
        "daemons": await daemon.daemons(call.env.pool),
        "note": await _note(call, alert_id),
    }


async def _note(call: Call, alert_id: int) -> str | None:
    """Said when nothing reaches a phone: a test token's alert, or a fake gateway."""
    return await fake_gateways.reach_note(call.env.pool, alert_id)


async def update_preview(call: Call) -> Reply:
    plan = await followups.preview_update(
        call.env.ctx, call.op, call.path["id"], **_update_args(call)
    )
    return Reply(plan)


async def update(call: Call) -> Reply:
    done = await followups.update(
        call.env.ctx, call.op, call.path["id"], **_update_args(call), actor=call.actor
    )
    return Reply(await _with_daemons(call, jsonable_object(done), call.path["id"]))


def _update_args(call: Call) -> dict[str, Any]:
    b = call.body
    return {
        "params": b.get("params", {}),
        "template": b.get("template", "update"),
        "zone_ids": b.get("zone_ids", []),
        "geometry": geometry_of(b, call.env.config),
        "outside_territory": b.get("outside_territory", False),
    }


async def all_clear_preview(call: Call) -> Reply:
    params = call.body.get("params", {})
    return Reply(
        await followups.preview_all_clear(call.env.ctx, call.op, call.path["id"], params=params)
    )


async def all_clear(call: Call) -> Reply:
    params = call.body.get("params", {})
    done = await followups.all_clear(
        call.env.ctx, call.op, call.path["id"], params=params, actor=call.actor
    )
    return Reply(await _with_daemons(call, jsonable_object(done), call.path["id"]))


async def cancel(call: Call) -> Reply:
    return Reply(await followups.cancel(call.env.ctx, call.op, call.path["id"], call.actor))


async def get_status(call: Call) -> Reply:
    report = await status.status(call.env.ctx, call.op, call.path["id"])
    return Reply(jsonable_object(report))


async def list_alerts(call: Call) -> Reply:
    return Reply(await status.list_alerts(call.env.ctx, call.op, call.query.get("limit", 20)))


FOLLOW_UP: Schema = {
    "type": "object",
    "required": ["status", "daemons", "note"],
    "properties": {
        **dataclass_schema(FollowUp)["properties"],
        "daemons": {"type": "integer"},
        "note": {"type": ["string", "null"]},
    },
}
APPROVED: Schema = {"anyOf": [SENT, FOLLOW_UP]}
ID = "/alerts/{id}"
ROUTES = [
    Route(
        "GET",
        "/alerts",
        list_alerts,
        "the latest alerts of your territory",
        "alerts",
        list_schema(status.AlertLine),
        query={"limit": integer(1, 1000)},
    ),
    Route(
        "POST",
        "/alerts",
        create,
        "draft an alert; answers its preview",
        "alerts",
        dataclass_schema(Preview),
        201,
        CREATE,
    ),
    Route("GET", ID, get_status, "an alert's progress and its follow-ups", "alerts", STATUS),
    Route(
        "GET",
        f"{ID}/preview",
        preview,
        "recipients, texts, segments, cost and time",
        "alerts",
        PREVIEW_OR_PLAN,
    ),
    Route(
        "POST",
        f"{ID}/send",
        send,
        "send, or ask a second operator's approval",
        "alerts",
        SENT,
        body=obj(),
        sends=True,
    ),
    Route(
        "POST",
        f"{ID}/approve",
        approve,
        "approve another person's alert or update (sends it)",
        "alerts",
        APPROVED,
        body=obj(),
        sends=True,
    ),
    Route(
        "POST",
        f"{ID}/return",
        give_back,
        "return an alert waiting for approval to its author, with the reason",
        "alerts",
        {"type": "object", "required": ["alert_id", "status", "reason"]},
        body=obj(["reason"], reason=text(500, 1)),
    ),
    Route(
        "POST",
        f"{ID}/update/preview",
        update_preview,
        "preview an update",
        "alerts",
        dataclass_schema(Plan),
        body=UPDATE,
    ),
    Route(
        "POST",
        f"{ID}/update",
        update,
        "a point of situation to those who hold the alert",
        "alerts",
        FOLLOW_UP,
        body=UPDATE,
        sends=True,
    ),
    Route(
        "POST",
        f"{ID}/all-clear/preview",
        all_clear_preview,
        "preview the all-clear",
        "alerts",
        dataclass_schema(Plan),
        body=ALL_CLEAR,
    ),
    Route(
        "POST",
        f"{ID}/all-clear",
        all_clear,
        "the end of the alert, to those who got it",
        "alerts",
        FOLLOW_UP,
        body=ALL_CLEAR,
        sends=True,
    ),
    Route(
        "POST",
        f"{ID}/cancel",
        cancel,
        "stop sending at once",
        "alerts",
        dataclass_schema(Cancelled),
        body=obj(),
    ),
    *deliveries.ROUTES,
]
