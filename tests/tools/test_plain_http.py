"""The benchmarks' small HTTP client against a loopback aiohttp server: forms, cookies,
redirects, keep-alive, and a clear error for what it does not read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from alertd.tools.plain_http import Client, HttpError, Jar


async def _login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    response = web.Response(status=303, headers={"Location": "/whoami?from=login"})
    response.set_cookie("who", str(form["name"]), httponly=True, path="/")
    return response


async def _whoami(request: web.Request) -> web.StreamResponse:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return web.Response(text=f"{request.cookies.get('who', '-')} {request.method} {peer[1]}")


async def _leave(request: web.Request) -> web.StreamResponse:
    response = web.Response(text="bye")
    response.del_cookie("who", path="/")
    return response


async def _streamed(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(b"part")
    return response


@pytest.fixture
async def base() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/login", _login)
    app.router.add_get("/whoami", _whoami)
    app.router.add_get("/leave", _leave)
    app.router.add_get("/streamed", _streamed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def test_a_form_sets_a_cookie_and_the_redirect_is_followed(base: str) -> None:
    client = Client(base, connections=1)
    alice, nobody = Jar(), Jar()
    try:
        answer = await client.request("POST", "/login", alice, {"name": "alice & co"})
        assert (answer.status, answer.path) == (200, "/whoami")
        who, method, port = answer.text().rsplit(" ", 2)
        assert (who, method) == ("alice & co", "GET")
        again = await client.request("GET", "/whoami", nobody)
        assert again.text().rsplit(" ", 2)[::2] == ["-", port]  # the same connection, kept alive
        await client.request("GET", "/leave", alice)
        assert alice.cookies == {}
    finally:
        await client.aclose()


async def test_a_chunked_answer_is_an_error_not_a_wrong_body(base: str) -> None:
    client = Client(base, connections=1)
    try:
        with pytest.raises(HttpError, match="chunked"):
            await client.request("GET", "/streamed", Jar())
        assert (await client.request("GET", "/whoami", Jar())).status == 200  # a new connection
    finally:
        await client.aclose()
