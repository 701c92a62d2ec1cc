"""/v1/tenants/{code}/keywords: the SMS keywords residents send, as ``alertd tenants keywords``.

Read by anyone whose territory holds the tenant (as ``GET /v1/tenants`` lists it); changed by an
admin of that territory only, audited as the CLI's change is (``tenant.keywords``).
"""

from __future__ import annotations

from collections.abc import Sequence

from alertd.alerts.access import check_tenant, require
from alertd.api.routes import Call, Reply, Route, Schema, array, obj, text
from alertd.api.shapes import dataclass_schema
from alertd.errors import InputError
from alertd.subscribers import keyword_settings

KEYWORDS_CHANGE: Schema = obj(
    subscribe=array(text(30, 1), 30),
    help=array(text(30, 1), 30),
    language=array(text(30, 1), 30),
)


def _code(call: Call) -> str:
    assert call.code is not None  # noqa: S101 - the route has {code}
    return call.code


async def show_keywords(call: Call) -> Reply:
    require(call.op, "viewer", "reading a tenant's SMS keywords")
    await check_tenant(call.env.pool, call.op, _code(call), "read the SMS keywords")
    return Reply(await keyword_settings.show(call.env.pool, _code(call)))


async def change_keywords(call: Call) -> Reply:
    require(call.op, "admin", "changing a tenant's SMS keywords")
    await check_tenant(call.env.pool, call.op, _code(call), "change the SMS keywords")
    b = call.body
    changed = await keyword_settings.change(
        call.env.pool,
        _code(call),
        call.actor,
        subscribe=_joined(b.get("subscribe"), "subscribe"),
        help_words=_joined(b.get("help"), "help"),
        language=_joined(b.get("language"), "language"),
    )
    return Reply(changed)


def _joined(words: Sequence[str] | None, what: str) -> str | None:
    """The list as the CLI gives it (comma-separated); an empty list stays a list given
    (emptied, or refused for the subscribe words)."""
    if words is None:
        return None
    for word in words:
        if "," in word:  # joined, it would silently become two words
            raise InputError(
                f"{what} words: {word.strip()!r} is not one word: give each word as an item "
                "of its own"
            )
    return ",".join(words)


WORDS: Schema = dataclass_schema(keyword_settings.TenantWords)
ROUTES = [
    Route(
        "GET",
        "/tenants/{code}/keywords",
        show_keywords,
        "the SMS keywords a tenant's residents send (subscribe, help, language; STOP words)",
        "admin",
        WORDS,
    ),
    Route(
        "PATCH",
        "/tenants/{code}/keywords",
        change_keywords,
        "set any of a tenant's subscribe, help and language words; the others stay",
        "admin",
        WORDS,
        body=KEYWORDS_CHANGE,
    ),
]
