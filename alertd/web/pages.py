"""What every page shares: the application's keys, rendering, and the middlewares each request
goes through (security headers, CSRF, errors as plain pages, never a traceback)."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any

import asyncpg
import jinja2
import markupsafe
from aiohttp import web

from alertd.config import Config
from alertd.errors import AlertdError, DatabaseError, InputError
from alertd.logs import get_logger
from alertd.store.lost import DATABASE_FAILED
from alertd.web import csrf
from alertd.web.places import Places
from alertd.web.sender import Sender
from alertd.web.texts import LANGUAGES, text

log = get_logger(__name__)
# The database out of reach (a connection broken mid-statement too), or refusing a statement.
UNAVAILABLE: tuple[type[BaseException], ...] = (DatabaseError, *DATABASE_FAILED)
Clock = Callable[[], datetime]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

POOL = web.AppKey("pool", asyncpg.Pool)
CONFIG = web.AppKey("config", Config)
SENDER: web.AppKey[Sender] = web.AppKey("sender")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
KEY = web.AppKey("key", bytes)
PAGES = web.AppKey("pages", jinja2.Environment)
PLACES = web.AppKey("places", Places)
FLOW_COOKIE = "alertd_flow"
NONCE = web.RequestKey("csrf_nonce", str)
RENDERED: web.AppKey[dict[tuple[object, ...], str]] = web.AppKey("rendered")
# Where a kept page's CSRF field goes: no field (hex digits) and no page text holds it.
CSRF_MARK = "@@alertd-csrf@@"
ECHO_MARK = "@@alertd-echo@@"  # around a field's name: where its value goes in a kept page
_MARKS = re.compile(rf"{re.escape(CSRF_MARK)}|{re.escape(ECHO_MARK)}[a-z_]+{re.escape(ECHO_MARK)}")
MAX_RENDERED = 512

# No script at all, styles only from here, forms only to here, never in a frame.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on our own forms.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def now(request: web.Request) -> datetime:
    clock: Clock = request.app[CLOCK]
    return clock()


def lang_of(request: web.Request) -> str:
    lang = request.match_info.get("lang", "fr")
    return lang if lang in LANGUAGES else "fr"


def client_ip(request: web.Request, trusted: Sequence[str]) -> str:
    """The resident's address for the per-IP limit: the peer's, or, behind a trusted reverse
    proxy, the last address in X-Forwarded-For that is not one of the trusted proxies."""
    peer = request.remote or ""
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return peer


def is_secure(request: web.Request, trusted: Sequence[str]) -> bool:
    if request.secure:
        return True
    return (request.remote or "") in trusted and (
        request.headers.get("X-Forwarded-Proto", "") == "https"
    )


def page(
    request: web.Request,
    name: str,
    *,
    title: str,
    status: int = 200,
    errors: dict[str, tuple[str, dict[str, object]]] | None = None,
    reusable: bool = False,
    echoed: Mapping[str, str] | None = None,
    **context: Any,
) -> web.Response:
    """A page in the request's language, with its CSRF field and its errors in words.

    ``reusable``: the page depends on nothing the resident typed (only on the language, the
    path and ``context``, a few known values) but ``echoed``, values it only writes back as
    they are (hidden fields, checked before): rendered once, kept, and only its CSRF field and
    the echoed values (escaped as the template would) are filled in per request."""
    if reusable and not errors:
        marks = {field: f"{ECHO_MARK}{field}{ECHO_MARK}" for field in echoed or {}}
        if marks:  # the values echoed are marks in the page kept
            context = {**context, "values": marks}
        key = (name, request.path, title, status, repr(sorted(context.items())))
        kept = request.app[RENDERED]
        body = kept.get(key)
        if body is None:
            body = _render(
                request, name, title=title, errors=None, csrf_field=CSRF_MARK, context=context
            )
            if len(kept) >= MAX_RENDERED:
                kept.clear()
            kept[key] = body
        fills = {CSRF_MARK: csrf.field_for(request.app[KEY], request[NONCE])}
        fills.update((marks[f], str(markupsafe.escape(v))) for f, v in (echoed or {}).items())
        # One pass: a value filled in is never read again for a mark.
        body = _MARKS.sub(lambda m: fills.get(m[0], m[0]), body)
    else:
        field = csrf.field_for(request.app[KEY], request[NONCE])
        body = _render(request, name, title=title, errors=errors, csrf_field=field, context=context)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def _render(
    request: web.Request,
    name: str,
    *,
    title: str,
    errors: dict[str, tuple[str, dict[str, object]]] | None,
    csrf_field: str,
    context: dict[str, Any],
) -> str:
    lang = lang_of(request)
    other = "en" if lang == "fr" else "fr"
    path = request.path
    other_url = f"/{other}{path[3:]}" if path[:4] in ("/fr/", "/en/") else f"/{other}/"
    words = {field: text(lang, key, **values) for field, (key, values) in (errors or {}).items()}
    values = context.pop("values", {})
    return (
        request.app[PAGES]
        .get_template(name)
        .render(
            lang=lang,
            other=other,
            other_url=other_url,
            t=lambda key, **values: text(lang, key, **values),
            title=title,
            errors=words,
            csrf=csrf_field,
            values=values,
            **context,
        )
    )


def message(
    request: web.Request, title_key: str, *line_keys: str, status: int = 200
) -> web.Response:
    lang = lang_of(request)
    return page(
        request,
        "message.html",
        title=text(lang, title_key),
        status=status,
        lines=[text(lang, k) for k in line_keys],
    )


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


@web.middleware
async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers on every answer; the CSRF nonce cookie; errors as pages in words."""
    request[NONCE] = request.cookies.get(csrf.COOKIE) or csrf.new_nonce()
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        response = message(request, "err_not_found", status=404)
    except web.HTTPMethodNotAllowed:
        response = message(request, "err_not_found", status=405)
    except web.HTTPException as exc:
        response = exc
    except InputError as exc:  # a bad request that got past the forms' checks
        log.info("signup.refused", reason=exc.message)
        response = message(request, "err_form", status=400)
    except UNAVAILABLE as exc:
        # A known outage (a connection broken mid-statement too): its name is enough, a
        # traceback would only fill the log.
        log.error("signup.unavailable", error=type(exc).__name__)  # noqa: TRY400
        response = message(request, "err_server", status=503)
    except AlertdError as exc:
        log.exception("signup.failed", error=exc.message)
        response = message(request, "err_server", status=500)
    except Exception:  # a bug: logged with its traceback, never shown to a resident
        log.exception("signup.bug", path=request.path)
        response = web.Response(
            text=text(lang_of(request), "err_server"), status=500, content_type="text/plain"
        )
    response.headers.update(SECURITY_HEADERS)
    if request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "public, max-age=3600"
    else:
        response.headers["Cache-Control"] = "no-store"
    if csrf.COOKIE not in request.cookies:
        trusted = request.app[CONFIG].signup.trusted_proxies
        response.set_cookie(
            csrf.COOKIE,
            request[NONCE],
            httponly=True,
            samesite="Strict",
            secure=is_secure(request, trusted),
            path="/",
        )
    return response


@web.middleware
async def forgery(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every POST carries the field that matches this browser's nonce, from a page of ours."""
    if request.method == "POST":
        origin = request.headers.get("Origin")
        try:
            form = await request.post()
        except ValueError as exc:  # no form at all: a broken multipart body, a bad encoding
            raise InputError(f"the body is not a form: {exc}") from exc
        field = form.get(csrf.FIELD)
        same_origin = origin is None or origin.split("://", 1)[-1] == request.host
        if not same_origin or not csrf.valid(
            request.app[KEY],
            request.cookies.get(csrf.COOKIE),
            field if isinstance(field, str) else None,
        ):
            log.info("signup.csrf_refused", origin_ok=same_origin)
            return message(request, "errors_title", "err_form", status=403)
    return await handler(request)


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name != "style.css":
        raise web.HTTPNotFound
    return web.Response(text=_stylesheet(), content_type="text/css", charset="utf-8")


@functools.cache
def _stylesheet() -> str:
    return resources.files("alertd.web").joinpath("static", "style.css").read_text("utf-8")
