"""POST /v1/subscribers: the town hall's desk, as ``alertd subscribers register`` does. Any role
but viewer, for a resident of the operator's territory; the confirmation SMS is queued in the
same transaction and sent by the daemon serving this API. An Idempotency-Key makes a retried
request register once and confirm once."""

from __future__ import annotations

from datetime import UTC, datetime

from alertd.api.routes import Call, Reply, Route, Schema, array, obj, text
from alertd.api.shapes import dataclass_schema
from alertd.delivery import daemon
from alertd.jsonable import jsonable_object
from alertd.subscribers import desk

REGISTER: Schema = obj(
    ["phone", "postcode"],
    phone=text(40, 1),
    postcode=text(10, 1),
    commune=text(100, 1),
    street=text(200, 1),
    number=text(20, 1),
    language={"type": "string", "enum": ["fr", "en"]},
    topics=array(text(32, 1), 20),
)
REGISTERED: Schema = {
    **dataclass_schema(desk.Registered),
    "properties": {
        **dataclass_schema(desk.Registered)["properties"],
        "daemons": {"type": "integer"},
    },
}


async def register(call: Call) -> Reply:
    b = call.body
    done = await desk.register(
        call.env.pool,
        call.op,
        desk.DeskRequest(
            phone=b["phone"],
            postcode=b["postcode"],
            commune=b.get("commune"),
            street=b.get("street"),
            number=b.get("number"),
            language=b.get("language", "fr"),
            topics=desk.topics_of(",".join(b.get("topics", []))),
        ),
        catalog=call.env.ctx.catalog,
        region=call.env.config.subscribers.default_region,
        now=datetime.now(UTC),
    )
    running = await daemon.daemons(call.env.pool)
    return Reply({**jsonable_object(done), "daemons": running}, 201)


ROUTES = [
    Route(
        "POST",
        "/subscribers",
        register,
        "register a resident at the town hall's desk (consent channel guichet); a confirmation "
        "SMS is queued",
        "subscribers",
        REGISTERED,
        status=201,
        body=REGISTER,
        sends=True,
    ),
]
