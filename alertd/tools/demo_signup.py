"""``alertd demo --signup``: two residents sign themselves up, in the demo's own database, with
an in-process fake gateway as their phones: one by SMS keyword (ALERTE 59140, through the
gateway's inbound and the daemon's consumer), one on the pages (an HTTP client submitting the
real forms; the code read from the fake gateway, as the resident reads it on their phone)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg

from alertd import jsonable
from alertd.audit import cli_actor
from alertd.config import Config, with_overrides
from alertd.delivery.consumer import consume
from alertd.errors import AlertdError, NotFoundError
from alertd.logs import mask_phone
from alertd.store.database import open_database
from alertd.subscribers import rgpd
from alertd.subscribers.sms_keywords import SmsKeywords
from alertd.tenants import load_territory
from alertd.tools.demo import DEMO_NAME, _refuse_if_served, demo_database
from alertd.web import server
from gateways.base import Message
from gateways.fake import FakeGateway
from templates import Catalog

BY_SMS = "+33611223344"
BY_PAGE = "+33655667788"
KEYWORD = "ALERTE 59140"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CODE = re.compile(r"\b([0-9]{6})\b")
WAIT_S = 10.0
POLL_S = 0.01  # the demo's own waiting loop; tests wait on events


async def run(config: Config, *, as_json: bool) -> int:
    say = (lambda _: None) if as_json else print
    name = demo_database(config)
    say(f"alertd demo --signup: residents sign themselves up (database {name})")
    async with open_database(config, database=name, application_name=DEMO_NAME) as db:
        await _refuse_if_served(db.pool, name)
        await load_territory(db.pool, cli_actor())
        for phone in (BY_SMS, BY_PAGE):  # the demo's residents start afresh at each run
            with contextlib.suppress(NotFoundError):
                await rgpd.erase_subscriber(db.pool, phone, None, "FR", "demo")
        phones = FakeGateway("demo", receipts=False)
        catalog = Catalog(config.templates.directory)
        async with _consuming(db.pool, phones, catalog, config.subscribers.default_region):
            sms = await _by_sms(db.pool, phones, say)
            page = await _by_page(config, db.pool, phones, say)
    if as_json:
        sys.stdout.write(jsonable.dumps({"by_sms": sms, "by_page": page}) + "\n")
    return 0


@contextlib.asynccontextmanager
async def _consuming(
    pool: asyncpg.Pool, phones: FakeGateway, catalog: Catalog, region: str
) -> AsyncIterator[None]:
    """What ``alertd serve`` runs for the gateway's inbound: stored, then answered."""
    await phones.start()
    task = asyncio.create_task(consume(pool, phones, catalog, region, keywords=SmsKeywords()))
    try:
        yield
    finally:
        await phones.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _next_to(phones: FakeGateway, phone: str, seen: int) -> Message:
    deadline = time.monotonic() + WAIT_S
    while len([m for m in phones.received if m.to == phone]) <= seen:
        if time.monotonic() > deadline:
            raise AlertdError(f"demo: no SMS reached {mask_phone(phone)} in {WAIT_S:.0f} s")
        await asyncio.sleep(POLL_S)
    return [m for m in phones.received if m.to == phone][seen]


async def _recorded(pool: asyncpg.Pool, phone: str) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT s.status, s.consent_channel, s.consent_at, s.language, s.postcode, s.topics, "
        "t.name AS tenant FROM subscribers s JOIN tenants t ON t.id = s.tenant_id "
        "WHERE s.phone = $1",
        phone,
    )
    if row is None:
        raise AlertdError(f"demo: nothing recorded for {mask_phone(phone)}")
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def _say_recorded(say: Any, rec: dict[str, Any]) -> None:
    topics = ", ".join(rec["topics"]) or "none"
    say(
        f"    recorded: {rec['status']} with {rec['tenant']} (postcode {rec['postcode']}), "
        f"channel {rec['consent_channel']}, consent at {rec['consent_at']}, "
        f"language {rec['language']}, topics: {topics}"
    )


async def _by_sms(pool: asyncpg.Pool, phones: FakeGateway, say: Any) -> dict[str, Any]:
    say(f"  1. By SMS: {mask_phone(BY_SMS)} texts {KEYWORD!r} to the alert number")
    await phones.deliver_inbound(BY_SMS, KEYWORD)
    reply = await _next_to(phones, BY_SMS, 0)
    say(f"    reply: {reply.text!r}")
    rec = await _recorded(pool, BY_SMS)
    _say_recorded(say, rec)
    return {"phone": mask_phone(BY_SMS), "sent": KEYWORD, "reply": reply.text, "recorded": rec}


async def _by_page(
    config: Config, pool: asyncpg.Pool, phones: FakeGateway, say: Any
) -> dict[str, Any]:
    pages = with_overrides(config, serve={"signup_listen": "127.0.0.1:0"})
    async with (
        server.serving(pages, pool, [phones]) as address,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser,
    ):
        base = f"http://{address}"
        say(f"  2. On the page {base}/fr/subscribe (an HTTP client fills in the real forms)")
        token, _ = await _visit(browser, "GET", f"{base}/fr/subscribe", None)
        where = {"phone": "06 55 66 77 88", "postcode": "59140", "language": "fr"}
        token, _ = await _visit(browser, "POST", f"{base}/fr/subscribe", {**where, "csrf": token})
        say("    step 1: phone 06 •• •• •• 88, postcode 59140 -> step 2: what to receive")
        what = {**where, "csrf": token, "consent": "yes", "topics": "dechets"}
        token, path = await _visit(browser, "POST", f"{base}/fr/subscribe/choices", what)
        say(f"    step 2: safety alerts + waste collection, consent ticked -> {path}")
        sms = await _next_to(phones, BY_PAGE, 0)
        match = CODE.search(sms.text)
        if match is None:
            raise AlertdError("demo: the code's SMS holds no code")
        say(f"    the phone gets: {sms.text!r}")
        _, path = await _visit(
            browser, "POST", f"{base}/fr/code", {"code": match[1], "csrf": token}
        )
        say(f"    step 3: the code typed -> {path}")
    rec = await _recorded(pool, BY_PAGE)
    _say_recorded(say, rec)
    confirmation = await _next_to(phones, BY_PAGE, 1)
    say(f"    then the phone gets: {confirmation.text!r}")
    return {
        "phone": mask_phone(BY_PAGE),
        "code_sms": CODE.sub("••••••", sms.text),
        "landed_on": path,
        "confirmation": confirmation.text,
        "recorded": rec,
    }


async def _visit(
    browser: aiohttp.ClientSession, method: str, url: str, form: dict[str, str] | None
) -> tuple[str, str]:
    """(the CSRF field of the page landed on, its path)."""
    async with browser.request(method, url, data=form) as response:
        body = await response.text()
        if response.status != 200:
            raise AlertdError(f"demo: {method} {url} answered {response.status}")
        match = CSRF.search(body)
        return (html.unescape(match[1]) if match else ""), response.url.path
