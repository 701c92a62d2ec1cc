"""The sign-up pages' application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import asyncpg
import jinja2
from aiohttp import web

from alertd.config import Config
from alertd.web import flows, handlers
from alertd.web.pages import (
    CLOCK,
    CONFIG,
    KEY,
    PAGES,
    PLACES,
    POOL,
    RENDERED,
    SENDER,
    Clock,
    forgery,
    security,
    static,
)
from alertd.web.places import Places
from alertd.web.sender import Sender


def _pages() -> jinja2.Environment:
    folder = Path(str(resources.files("alertd.web").joinpath("html")))
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        auto_reload=False,  # the pages ship with the package: never changed while serving
        trim_blocks=True,
        lstrip_blocks=True,
    )


def create_app(
    config: Config,
    pool: asyncpg.Pool,
    sender: Sender,
    *,
    clock: Clock | None = None,
) -> web.Application:
    app = web.Application(middlewares=[security, forgery], client_max_size=64 * 1024)
    app[POOL] = pool
    app[CONFIG] = config
    app[SENDER] = sender
    app[CLOCK] = clock or (lambda: datetime.now(UTC))
    app[PAGES] = _pages()
    app[PLACES] = Places(pool)
    app[RENDERED] = {}

    async def keyed(app: web.Application) -> AsyncIterator[None]:
        app[KEY] = await flows.web_key(pool)
        yield
        await sender.aclose()

    app.cleanup_ctx.append(keyed)
    app.router.add_get("/static/{name}", static)
    handlers.add_routes(app)
    return app
