"""An alert's deliveries and the replies it received: paged by a cursor, phones masked unless the
role may see them."""

from __future__ import annotations

from typing import Any

from alertd.alerts import lifecycle
from alertd.alerts.access import RANK
from alertd.api.problems import ApiProblem
from alertd.api.routes import Call, Reply, Route, Schema, integer
from alertd.logs import mask_phone
from alertd.operators import Operator

# Who reads phone numbers in clear: the admins, who answer the residents' RGPD requests; for
# everyone else the last two digits are enough to tell two lines apart.
SEES_PHONES = "admin"
PAGE = 100
CURSOR: Schema = {"type": "string", "pattern": "^[0-9]{1,18}$", "description": "next_cursor"}
_NULLABLE_TEXT: Schema = {"type": ["string", "null"]}
DELIVERY: Schema = {
    "type": "object",
    "required": ["id", "phone", "status", "gateway", "error", "in_doubt", "attempts"],
    "properties": {
        "id": {"type": "integer"},
        "subscriber_id": {"type": "integer"},
        "phone": {"type": "string"},
        "status": {"type": "string"},
        "matched_by": _NULLABLE_TEXT,
        "language": {"type": "string"},
        "gateway": _NULLABLE_TEXT,
        "rerouted_from": _NULLABLE_TEXT,
        "attempts": {"type": "integer"},
        "segments": {"type": ["integer", "null"]},
        "in_doubt": {"type": "boolean"},
        "error": _NULLABLE_TEXT,
        "created_at": {"type": "string"},
        "submitted_at": _NULLABLE_TEXT,
        "delivered_at": _NULLABLE_TEXT,
        "updated_at": {"type": "string"},
    },
}
REPLY: Schema = {
    "type": "object",
    "required": ["id", "sender", "body", "kind", "received_at"],
    "properties": {
        "id": {"type": "integer"},
        "sender": {"type": "string"},
        "body": {"type": "string"},
        "kind": {"type": "string"},
        "gateway": {"type": "string"},
        "received_at": {"type": "string"},
    },
}


def page_of(items: Schema) -> Schema:
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": items},
            "next_cursor": {"type": ["string", "null"]},
        },
    }


_DELIVERIES = """
SELECT d.id, d.subscriber_id, s.phone, d.status, d.matched_by, d.language, d.gateway,
       d.rerouted_from, d.attempts, d.segments, d.in_doubt, d.error, d.created_at,
       d.submitted_at, d.delivered_at, d.updated_at
FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
WHERE d.alert_id = $1 AND d.id > $2
ORDER BY d.id LIMIT $3
"""
_REPLIES = """
SELECT id, sender, body, kind, gateway, received_at FROM inbound_messages
WHERE alert_id = $1 AND id > $2 ORDER BY id LIMIT $3
"""


def _phone(op: Operator, phone: str) -> str:
    return phone if RANK[op.role] >= RANK[SEES_PHONES] else mask_phone(phone)


def _after(call: Call) -> int:
    raw = call.query.get("cursor")
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        raise ApiProblem(422, f"cursor {raw!r} is not one this API gave") from None


async def _page(call: Call, sql: str, phone_key: str) -> Reply:
    await lifecycle.load(call.env.pool, call.op, call.path["id"])  # role and territory
    limit = call.query.get("limit", PAGE)
    rows = await call.env.pool.fetch(sql, call.path["id"], _after(call), limit)
    items: list[dict[str, Any]] = []
    for row in rows:
        item = {k: (str(v) if hasattr(v, "isoformat") else v) for k, v in dict(row).items()}
        item[phone_key] = _phone(call.op, row[phone_key])
        items.append(item)
    cursor = str(rows[-1]["id"]) if len(rows) == limit else None
    return Reply({"items": items, "next_cursor": cursor})


async def list_deliveries(call: Call) -> Reply:
    return await _page(call, _DELIVERIES, "phone")


async def list_replies(call: Call) -> Reply:
    return await _page(call, _REPLIES, "sender")


_PAGED = {"cursor": CURSOR, "limit": integer(1, 1000)}
ROUTES = [
    Route(
        "GET",
        "/alerts/{id}/deliveries",
        list_deliveries,
        "an alert's deliveries: outcome, reason, gateway, times (paged)",
        "alerts",
        page_of(DELIVERY),
        query=_PAGED,
    ),
    Route(
        "GET",
        "/alerts/{id}/replies",
        list_replies,
        "the SMS replies received to an alert (paged)",
        "alerts",
        page_of(REPLY),
        query=_PAGED,
    ),
]
