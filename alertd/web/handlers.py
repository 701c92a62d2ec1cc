"""The pages: subscribe (where, what, code), manage (code, change, download, leave)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from alertd.errors import InputError, NotFoundError
from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.subscribers import enrol as enrolment
from alertd.subscribers import rgpd
from alertd.web import flows, forms
from alertd.web.codes import Verdict
from alertd.web.pages import (
    CONFIG,
    FLOW_COOKIE,
    KEY,
    PLACES,
    POOL,
    SENDER,
    client_ip,
    is_secure,
    lang_of,
    message,
    now,
    page,
    redirect,
)
from alertd.web.texts import LANGUAGES, text, topic_label

LANG = "/{lang:fr|en}"
# What the choices page only writes back, in hidden fields, as the first step checked it.
ECHOED = frozenset({"phone", "postcode", "language"})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", root)
    r.add_get(LANG, home)
    r.add_get(LANG + "/", home)
    r.add_get(LANG + "/subscribe", subscribe_form)
    r.add_post(LANG + "/subscribe", subscribe_where)
    r.add_post(LANG + "/subscribe/choices", subscribe_choices)
    r.add_get(LANG + "/code", code_form)
    r.add_post(LANG + "/code", code_check)
    r.add_post(LANG + "/code/new", code_again)
    r.add_get(LANG + "/done", done)
    r.add_get(LANG + "/manage", manage_form)
    r.add_post(LANG + "/manage", manage_ask)
    r.add_get(LANG + "/account", account)
    r.add_post(LANG + "/account", account_save)
    r.add_get(LANG + "/account/data.json", account_data)
    r.add_post(LANG + "/account/leave", account_leave)
    r.add_get(LANG + "/left", left)


def _again(
    request: web.Request,
    name: str,
    title_key: str,
    out: forms.Checked,
    status: int,
    **context: Any,
) -> web.Response:
    """The same form again, with what was typed and what to fix."""
    return page(
        request,
        f"{name}.html",
        title=_t(request, title_key),
        status=status,
        errors=out.errors,
        values=out.values,
        **context,
    )


def _t(request: web.Request, key: str, **values: object) -> str:
    return text(lang_of(request), key, **values)


async def root(request: web.Request) -> web.StreamResponse:
    wanted = request.headers.get("Accept-Language", "").lower()
    english = wanted.startswith("en")
    return redirect("/en/" if english else "/fr/")


async def home(request: web.Request) -> web.StreamResponse:
    return page(request, "home.html", title=_t(request, "home_title"), reusable=True)


# --- subscribe: step 1, where and which number


async def subscribe_form(request: web.Request) -> web.StreamResponse:
    return page(
        request,
        "subscribe.html",
        title=_t(request, "subscribe_title"),
        values={"language": lang_of(request)},
        reusable=True,
    )


async def _form(request: web.Request) -> tuple[dict[str, str], list[str]]:
    """The fields as text (the last of each), and the topics ticked."""
    data = await request.post()
    fields = {k: v for k, v in data.items() if isinstance(v, str)}
    topics = [v for v in data.getall("topics", []) if isinstance(v, str)]
    return fields, topics


async def _placed(
    request: web.Request, postcode: str | None, commune: str | None, out: forms.Checked
) -> enrolment.Placement | None:
    if postcode is None:
        return None
    try:
        return await request.app[PLACES].place(postcode, commune)
    except enrolment.NotServedError as exc:
        out.fail("postcode", "err_not_served", served=enrolment.served_list(exc.served))
    except InputError:
        out.fail("postcode", "err_postcode")
    return None


def _unpicked(placement: enrolment.Placement) -> bool:
    """Several communes share the postcode and none was chosen."""
    return len(placement.communes) > 1 and placement.tenant_code not in {
        code for code, _ in placement.communes
    }


async def _offered(request: web.Request, lang: str, tenant_id: int) -> list[tuple[str, str]]:
    return [(t, topic_label(lang, t)) for t in await request.app[PLACES].topics(tenant_id)]


async def subscribe_where(request: web.Request) -> web.StreamResponse:
    form, _ = await _form(request)
    out = forms.Checked()
    region = request.app[CONFIG].subscribers.default_region
    forms.check_phone(form, out, region)
    postcode = forms.check_postcode(form, out)
    forms.check_language(form, out, lang_of(request))
    placement = await _placed(request, postcode, None, out)
    if out.errors or placement is None:
        return _again(request, "subscribe", "subscribe_title", out, 422)
    offered = await _offered(request, lang_of(request), placement.tenant_id)
    return _choices(request, out, placement, offered, chosen=frozenset())


def _choices(
    request: web.Request,
    out: forms.Checked,
    placement: enrolment.Placement,
    offered: list[tuple[str, str]],
    *,
    chosen: frozenset[str],
    status: int = 200,
) -> web.Response:
    # The step every resident passes: the same page for a place but for what it echoes.
    plain = not out.errors and not chosen and set(out.values) <= ECHOED
    return page(
        request,
        "choices.html",
        title=_t(request, "choices_title"),
        status=status,
        errors=out.errors,
        values=out.values,
        reusable=plain,
        echoed=out.values if plain else None,
        place_name=placement.tenant_name,
        communes=placement.communes,
        offered=offered,
        chosen=chosen,
    )


# --- subscribe: step 2, what to receive, then the code


async def subscribe_choices(request: web.Request) -> web.StreamResponse:
    form, ticked = await _form(request)
    out = forms.Checked()
    config = request.app[CONFIG]
    lang = lang_of(request)
    phone = forms.check_phone(form, out, config.subscribers.default_region)
    postcode = forms.check_postcode(form, out)
    language = forms.check_language(form, out, lang)
    if phone is None or postcode is None:  # hidden fields changed: start again
        return _again(request, "subscribe", "subscribe_title", out, 422)
    commune = form.get("commune") or None
    out.values["commune"] = commune or ""
    street, number = forms.check_address(form, out)
    out.values["consent"] = "yes" if form.get("consent") == "yes" else ""
    if not out.values["consent"]:
        out.fail("consent", "err_consent")
    placement = await _placed(request, postcode, commune, out)
    if placement is None:
        return _again(request, "subscribe", "subscribe_title", out, 422)
    if _unpicked(placement):
        out.fail("commune", "err_commune")
    offered = await _offered(request, lang, placement.tenant_id)
    topics = forms.check_topics(ticked, [t for t, _ in offered])
    if out.errors:
        return _choices(request, out, placement, offered, chosen=topics, status=422)
    async with request.app[POOL].acquire() as conn:
        point = None
        if street is not None:
            point = await enrolment.locate(conn, postcode, street, number)
        wanted = {
            "postcode": postcode,
            "commune": placement.tenant_code if commune else None,
            "language": language,
            "topics": sorted(topics),
            "address": forms.address_line(street, number),
            "point": list(point) if point else None,
            "sender": placement.tenant_name,
            # Where the code's check will enrol them, as placed now: no second look-up then.
            "placement": [placement.tenant_id, placement.tenant_code, placement.tenant_name],
        }
        asked = await flows.ask(
            conn,
            request.app[KEY],
            config.signup,
            phone=phone,
            ip=client_ip(request, config.signup.trusted_proxies),
            purpose="subscribe",
            request=wanted,
            tenant_id=placement.tenant_id,
            now=now(request),
        )
    if asked.limited is not None:
        out.fail("form", "err_limited")
        return _choices(request, out, placement, offered, chosen=topics, status=429)
    request.app[SENDER].send(phone, asked.code, language, placement.tenant_name)
    return _with_flow(request, redirect(f"/{lang}/code"), asked.token)


def _with_flow(request: web.Request, response: web.Response, token: str) -> web.Response:
    response.set_cookie(
        FLOW_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        path="/",
        secure=is_secure(request, request.app[CONFIG].signup.trusted_proxies),
    )
    return response


# --- the code


async def code_form(request: web.Request) -> web.StreamResponse:
    notice = _t(request, "new_code_sent") if request.query.get("new") else None
    manage = request.query.get("for") == "manage"  # no "step 3 of 3" on the way to manage
    return page(
        request,
        "code.html",
        title=_t(request, "code_title"),
        notice=notice,
        manage=manage,
        reusable=True,
    )


def _manages(flow: flows.Flow) -> bool:
    return flow.purpose == "manage"


async def code_check(request: web.Request) -> web.StreamResponse:
    form, _ = await _form(request)
    out = forms.Checked()
    lang = lang_of(request)
    config = request.app[CONFIG]
    typed = forms.check_code(form, out)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        flow = await flows.find(conn, request.cookies.get(FLOW_COOKIE), lock=True)
        if flow is None:
            return message(request, "errors_title", "err_session", status=410)
        if typed is None:
            return _again(request, "code", "code_title", out, 422, manage=_manages(flow))
        verdict, left = await flows.check(conn, config.signup, flow, typed, now=now(request))
        if verdict is Verdict.RIGHT and flow.purpose == "subscribe":
            await _enrol(conn, flow, now=now(request))
    if verdict is Verdict.RIGHT:
        if flow.purpose == "subscribe":
            request.app[SENDER].confirm(
                flow.phone, flow.request["language"], flow.request["sender"]
            )
            return redirect(f"/{lang}/done")
        return redirect(f"/{lang}/account")
    if verdict is Verdict.WRONG:
        out.fail("code", "err_code_wrong", n=left)
    else:
        out.fail("code", "err_code_dead" if verdict is Verdict.DEAD else "err_code_expired")
    return _again(request, "code", "code_title", out, 422, manage=_manages(flow))


async def _enrol(conn: Queryable, flow: flows.Flow, *, now: datetime) -> enrolment.Enrolled:
    wanted: dict[str, Any] = flow.request
    tenant_id, tenant_code, tenant_name = wanted["placement"]
    placement = enrolment.Placement(tenant_id, tenant_code, tenant_name, wanted["postcode"], ())
    point = wanted.get("point")
    return await enrolment.enrol(
        conn,
        enrolment.Enrolment(
            phone=flow.phone,
            placement=placement,
            language=wanted["language"],
            topics=frozenset(wanted["topics"]),
            channel="web",
            address=wanted.get("address"),
            lon=point[0] if point else None,
            lat=point[1] if point else None,
        ),
        now=now,
    )


async def code_again(request: web.Request) -> web.StreamResponse:
    lang = lang_of(request)
    config = request.app[CONFIG]
    async with request.app[POOL].acquire() as conn, conn.transaction():
        flow = await flows.find(conn, request.cookies.get(FLOW_COOKIE), lock=True)
        if flow is None:
            return message(request, "errors_title", "err_session", status=410)
        asked = await flows.ask_again(
            conn,
            request.app[KEY],
            config.signup,
            flow,
            ip=client_ip(request, config.signup.trusted_proxies),
            now=now(request),
        )
    if asked.limited is not None:
        out = forms.Checked()
        out.fail("form", "err_limited")
        return _again(request, "code", "code_title", out, 429, manage=_manages(flow))
    language = flow.request.get("language", lang)
    sender = flow.request.get("sender") or text(language, "site")
    request.app[SENDER].send(flow.phone, asked.code, language, sender)
    return redirect(f"/{lang}/code?new=1" + ("&for=manage" if _manages(flow) else ""))


# --- manage: the number, its code, then the subscription


async def manage_form(request: web.Request) -> web.StreamResponse:
    return page(request, "manage.html", title=_t(request, "manage_title"), reusable=True)


async def manage_ask(request: web.Request) -> web.StreamResponse:
    form, _ = await _form(request)
    out = forms.Checked()
    lang = lang_of(request)
    config = request.app[CONFIG]
    phone = forms.check_phone(form, out, config.subscribers.default_region)
    if phone is None:
        return _again(request, "manage", "manage_title", out, 422)
    # The same work whether or not the number is subscribed: it is not even looked up.
    async with request.app[POOL].acquire() as conn:
        asked = await flows.ask(
            conn,
            request.app[KEY],
            config.signup,
            phone=phone,
            ip=client_ip(request, config.signup.trusted_proxies),
            purpose="manage",
            request={"language": lang},
            tenant_id=None,
            now=now(request),
        )
    if asked.limited is not None:
        out.fail("form", "err_limited")
        return _again(request, "manage", "manage_title", out, 429)
    request.app[SENDER].send(phone, asked.code, lang, text(lang, "site"))
    return _with_flow(request, redirect(f"/{lang}/code?for=manage"), asked.token)


async def _session(request: web.Request, conn: Queryable) -> tuple[flows.Flow, str] | None:
    flow = await flows.find(conn, request.cookies.get(FLOW_COOKIE))
    phone = flows.session_phone(flow, request.app[CONFIG].signup, now=now(request))
    return None if flow is None or phone is None else (flow, phone)


def _ended(request: web.Request) -> web.Response:
    return message(request, "errors_title", "err_session", status=401)


async def done(request: web.Request) -> web.StreamResponse:
    async with request.app[POOL].acquire() as conn:
        session = await _session(request, conn)
        if session is None:
            return _ended(request)
        flow, phone = session
        name = flow.request.get("sender")
        if name is None:
            sub = await conn.fetchrow(queries("signup")["subscription_of"], phone)
            name = sub["tenant_name"] if sub is not None else ""
    return page(
        request, "done.html", title=_t(request, "done_title"), place_name=name, reusable=True
    )


async def _account_page(
    request: web.Request,
    conn: Queryable,
    sub: asyncpg.Record | None,
    *,
    out: forms.Checked | None = None,
    placement: enrolment.Placement | None = None,
    chosen: frozenset[str] | None = None,
    status: int = 200,
    notice: str | None = None,
) -> web.Response:
    lang = lang_of(request)
    title = _t(request, "account_title")
    if sub is None:
        return page(request, "account.html", title=title, subscription=None, status=status)
    if placement is None:
        placement = (
            await _placed(request, sub["postcode"], None, forms.Checked())
            if sub["postcode"]
            else None
        )
    if out is None:
        out = forms.Checked(
            values={
                "postcode": sub["postcode"] or "",
                "language": sub["language"],
                "commune": sub["tenant_code"],
            }
        )
    tenant_id = placement.tenant_id if placement is not None else sub["tenant_id"]
    return page(
        request,
        "account.html",
        title=title,
        status=status,
        subscription=sub,
        errors=out.errors,
        values=out.values,
        place_name=sub["tenant_name"],
        communes=placement.communes if placement is not None else (),
        offered=await _offered(request, lang, tenant_id),
        chosen=chosen if chosen is not None else frozenset(sub["topics"]),
        notice=notice,
    )


async def account(request: web.Request) -> web.StreamResponse:
    async with request.app[POOL].acquire() as conn:
        session = await _session(request, conn)
        if session is None:
            return _ended(request)
        sub = await conn.fetchrow(queries("signup")["subscription_of"], session[1])
        notice = _t(request, "saved") if request.query.get("saved") else None
        return await _account_page(request, conn, sub, notice=notice)


async def account_save(request: web.Request) -> web.StreamResponse:
    form, ticked = await _form(request)
    lang = lang_of(request)
    out = forms.Checked()
    postcode = forms.check_postcode(form, out)
    language = forms.check_language(form, out, lang)
    commune = form.get("commune") or None
    out.values["commune"] = commune or ""
    async with request.app[POOL].acquire() as conn, conn.transaction():
        session = await _session(request, conn)
        if session is None:
            return _ended(request)
        sub = await conn.fetchrow(queries("signup")["subscription_of"], session[1])
        if sub is None:
            return await _account_page(request, conn, None)
        placement = await _placed(request, postcode, commune, out)
        if placement is not None and _unpicked(placement):
            out.fail("commune", "err_commune")
        if out.errors or placement is None:
            return await _account_page(
                request,
                conn,
                sub,
                out=out,
                placement=placement,
                chosen=frozenset(ticked),
                status=422,
            )
        offered = [t for t, _ in await _offered(request, lang, placement.tenant_id)]
        same_place = postcode == sub["postcode"]
        await enrolment.enrol(
            conn,
            enrolment.Enrolment(
                phone=session[1],
                placement=placement,
                language=language,
                topics=forms.check_topics(ticked, offered),
                channel="web",
                # A new postcode drops the old street: it no longer says where the person is.
                address=sub["address"] if same_place else None,
                lon=sub["lon"] if same_place else None,
                lat=sub["lat"] if same_place else None,
            ),
            now=now(request),
        )
    return redirect(f"/{lang}/account?saved=1")


async def account_data(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    async with request.app[POOL].acquire() as conn:
        session = await _session(request, conn)
    if session is None:
        return _ended(request)
    try:
        held = await rgpd.export_subscriber(
            request.app[POOL],
            session[1],
            None,
            config.subscribers.default_region,
            actor="resident:web",
        )
    except NotFoundError:
        held = {"phone": session[1], "subscriptions": []}
    return web.Response(
        text=json.dumps(held, ensure_ascii=False, indent=2, default=str),
        content_type="application/json",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="alertd-data.json"'},
    )


async def account_leave(request: web.Request) -> web.StreamResponse:
    lang = lang_of(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        session = await _session(request, conn)
        if session is None:
            return _ended(request)
        flow, phone = session
        sub = await conn.fetchrow(queries("signup")["subscription_of"], phone)
        stopped = await enrolment.leave(conn, phone, channel="web", now=now(request))
        await flows.end(conn, flow)
    if stopped and sub is not None:
        language = sub["language"] if sub["language"] in LANGUAGES else lang
        request.app[SENDER].goodbye(phone, language, sub["tenant_name"])
    response = redirect(f"/{lang}/left")
    response.del_cookie(FLOW_COOKIE, path="/")
    return response


async def left(request: web.Request) -> web.StreamResponse:
    return message(request, "left_title", "left_body")
