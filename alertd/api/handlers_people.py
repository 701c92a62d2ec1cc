"""/v1/subscribers and /v1/audit: the town halls' CSV import, the RGPD requests of one person,
and the audit log, as ``alertd subscribers`` and ``alertd audit`` do, for admins.

A phone number travels in the body, never in the URL: URLs end up in proxies' access logs.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from alertd import audit
from alertd.alerts.access import require, scope
from alertd.api.deliveries import CURSOR, page_of
from alertd.api.handlers_admin import tenant_in_scope
from alertd.api.routes import Call, Reply, Route, Schema, integer, obj, text
from alertd.api.shapes import dataclass_schema
from alertd.errors import ConflictError
from alertd.jsonable import jsonable_object
from alertd.logs import mask_message
from alertd.subscribers import importer, rgpd

MAX_REJECTED_SHOWN = 100
IMPORT: Schema = obj(
    ["tenant", "csv"],
    tenant=text(20, 1),
    csv={"type": "string", "maxLength": 8_000_000, "description": "the CSV file's text"},
)
ONE_PERSON: Schema = obj(["phone"], phone=text(40, 1), tenant=text(20, 1))
IMPORTED: Schema = {
    **dataclass_schema(importer.ImportSummary),
    "properties": {
        **dataclass_schema(importer.ImportSummary)["properties"],
        "rejected_rows": {"type": "array", "items": {"type": "string"}},
    },
}
ENTRY: Schema = {
    "type": "object",
    "required": ["seq", "at", "actor", "action", "target", "details"],
    "properties": {
        "seq": {"type": "integer"},
        "at": {"type": "string"},
        "actor": {"type": "string"},
        "tenant": {"type": ["string", "null"]},
        "action": {"type": "string"},
        "target": {"type": ["string", "null"]},
        "details": {"type": "object"},
    },
}
_ENTRIES = """
SELECT a.seq, a.at, a.actor, t.code AS tenant, a.action, a.target, a.details
FROM audit_log a LEFT JOIN tenants t ON t.id = a.tenant_id
WHERE a.tenant_id = ANY($1::bigint[]) AND a.seq > $2 AND ($3::text IS NULL OR a.action = $3)
ORDER BY a.seq LIMIT $4
"""


async def import_subscribers(call: Call) -> Reply:
    require(call.op, "admin", "importing subscribers")
    await tenant_in_scope(call, call.body["tenant"], "import the subscribers")
    with tempfile.TemporaryDirectory(prefix="alertd-api-") as folder:
        path = Path(folder) / "subscribers.csv"
        await asyncio.to_thread(path.write_text, call.body["csv"], "utf-8")
        report = await importer.import_csv(
            call.env.pool, path, call.body["tenant"], call.env.config.subscribers, call.actor
        )
    summary: dict[str, Any] = dict(jsonable_object(report.summary()))
    # As on the CLI's stderr: the line number says which row to correct; numbers masked.
    summary["rejected_rows"] = [mask_message(str(p)) for p in report.rejected[:MAX_REJECTED_SHOWN]]
    return Reply(summary)


async def _tenant_of_request(call: Call) -> str:
    code = call.body.get("tenant") or call.op.tenant_code
    await tenant_in_scope(call, code, "read or erase the residents")
    return str(code)


async def export_subscriber(call: Call) -> Reply:
    require(call.op, "admin", "exporting a resident's data (RGPD)")
    code = await _tenant_of_request(call)
    region = call.env.config.subscribers.default_region
    return Reply(
        await rgpd.export_subscriber(call.env.pool, call.body["phone"], code, region, call.actor)
    )


async def erase_subscriber(call: Call) -> Reply:
    require(call.op, "admin", "erasing a resident (RGPD)")
    code = await _tenant_of_request(call)
    region = call.env.config.subscribers.default_region
    erased = await rgpd.erase_subscriber(
        call.env.pool, call.body["phone"], code, region, call.actor
    )
    return Reply({"erased": erased, "tenant": code})


async def read_audit(call: Call) -> Reply:
    require(call.op, "admin", "reading the audit log")
    after = int(call.query.get("cursor", "0"))
    limit = call.query.get("limit", 100)
    ids = await scope(call.env.pool, call.op)
    rows = await call.env.pool.fetch(_ENTRIES, ids, after, call.query.get("action"), limit)
    items = [{**dict(r), "at": str(r["at"])} for r in rows]
    cursor = str(rows[-1]["seq"]) if len(rows) == limit else None
    return Reply({"items": items, "next_cursor": cursor})


async def verify_audit(call: Call) -> Reply:
    require(call.op, "admin", "verifying the audit log")
    async with call.env.pool.acquire() as conn:
        found = await audit.verify(conn)
    if not found.ok:  # as the CLI: a broken chain is an error to act on
        raise ConflictError(
            f"the audit log is not intact: {found.problem} ({found.entries} entries before it "
            "check out); keep a copy of the database as it is and tell whoever runs it"
        )
    return Reply(found)


ROUTES = [
    Route(
        "POST",
        "/subscribers/import",
        import_subscribers,
        "import a town hall's CSV into a tenant (insert or update)",
        "subscribers",
        IMPORTED,
        body=IMPORT,
    ),
    Route(
        "POST",
        "/subscribers/export",
        export_subscriber,
        "everything held on one phone number (RGPD right of access)",
        "subscribers",
        {"type": "object", "required": ["phone", "subscriptions"]},
        body=ONE_PERSON,
    ),
    Route(
        "POST",
        "/subscribers/erase",
        erase_subscriber,
        "erase one phone number (RGPD right to erasure)",
        "subscribers",
        {"type": "object", "required": ["erased", "tenant"]},
        body=ONE_PERSON,
    ),
    Route(
        "GET",
        "/audit",
        read_audit,
        "the audit log of your territory (paged)",
        "audit",
        page_of(ENTRY),
        query={"cursor": CURSOR, "limit": integer(1, 1000), "action": text(60, 1)},
    ),
    Route(
        "POST",
        "/audit/verify",
        verify_audit,
        "check the audit log's hash chain",
        "audit",
        dataclass_schema(audit.Verification),
        body=obj(),
    ),
]
