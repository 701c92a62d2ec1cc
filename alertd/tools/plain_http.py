"""A small HTTP/1.1 client for the benchmarks' load generators: keep-alive connections to one
server, forms, cookies per resident, redirects followed. It does a fraction of the work of
aiohttp's client per request, so that the process playing thousands of residents on the same
two cores measures the server, not itself. Not for talking to anything but our own pages."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

MAX_REDIRECTS = 5


class HttpError(RuntimeError):
    """A malformed or cut answer."""


@dataclass(slots=True)
class Answer:
    status: int
    path: str  # where the last redirect landed
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass(slots=True)
class Jar:
    """One resident's cookies (every cookie for every path of the one server)."""

    cookies: dict[str, str] = field(default_factory=dict)

    def header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def keep(self, set_cookie: str) -> None:
        name, _, rest = set_cookie.partition("=")
        value = rest.split(";", 1)[0]
        if "expires=Thu, 01 Jan 1970" in rest or "Max-Age=0" in rest:
            self.cookies.pop(name.strip(), None)
        else:
            self.cookies[name.strip()] = value  # quoted or not, sent back as it came


class Client:
    """``connections`` keep-alive connections to ``base`` (http://host:port), shared by all."""

    def __init__(self, base: str, connections: int) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.authority = parts.netloc
        self.size = connections
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = (
            asyncio.Queue()
        )
        for _ in range(connections):
            self.idle.put_nowait(None)  # opened on first use

    async def request(
        self, method: str, path: str, jar: Jar, form: dict[str, str] | None = None
    ) -> Answer:
        """One request, its redirects followed (303: GET, as browsers do)."""
        for _ in range(MAX_REDIRECTS):
            answer = await self._once(method, path, jar, form)
            location = answer.headers.get("location")
            if answer.status not in (301, 302, 303, 307, 308) or location is None:
                return answer
            method, path, form = (
                "GET",
                urlsplit(location)._replace(scheme="", netloc="").geturl(),
                None,
            )
        raise HttpError(f"{path}: more than {MAX_REDIRECTS} redirects")

    async def _once(self, method: str, path: str, jar: Jar, form: dict[str, str] | None) -> Answer:
        conn = await self.idle.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection(self.host, self.port)
            answer = await _exchange(conn, self.authority, method, path, jar=jar, form=form)
            if answer.headers.get("connection", "").lower() == "close":
                conn[1].close()
                conn = None
        except BaseException as exc:
            # Whatever went wrong, what is left on this connection is unknown: it goes.
            if conn is not None:
                conn[1].close()
            conn = None
            if isinstance(exc, (OSError, asyncio.IncompleteReadError, ValueError, IndexError)):
                raise HttpError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
            raise
        finally:
            self.idle.put_nowait(conn)
        return answer

    async def aclose(self) -> None:
        for _ in range(self.size):
            conn = await self.idle.get()
            if conn is not None:
                conn[1].close()


async def _exchange(
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    authority: str,
    method: str,
    path: str,
    *,
    jar: Jar,
    form: dict[str, str] | None,
) -> Answer:
    reader, writer = conn
    body = urlencode(form).encode() if form is not None else b""
    head = [f"{method} {path} HTTP/1.1", f"Host: {authority}"]
    if jar.cookies:
        head.append(f"Cookie: {jar.header()}")
    if form is not None:
        head.append("Content-Type: application/x-www-form-urlencoded")
        head.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        if not line:
            continue
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "set-cookie":
            jar.keep(value)
        headers[name] = value
    if "transfer-encoding" in headers:
        raise HttpError(f"{method} {path}: chunked answers are not read here")
    length = int(headers.get("content-length", "0"))
    payload = await reader.readexactly(length) if length else b""
    return Answer(int(status_line.split(" ", 2)[1]), path.split("?", 1)[0], headers, payload)
