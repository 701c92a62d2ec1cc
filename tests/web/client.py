"""A resident's browser without a browser: an HTTP client that keeps cookies and fills forms."""

from __future__ import annotations

import html
import re
from typing import Any

import aiohttp

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Resident:
    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for 127.0.0.1
        )
        self.csrf = ""
        self.last = ""

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.base + path) as response:
            self.last = html.unescape(await response.text())
            self._keep_csrf()
            return response.status, self.last

    async def post(
        self, path: str, form: dict[str, Any] | list[tuple[str, str]]
    ) -> tuple[int, str, str]:
        """(status, body, final path) after following the redirect, as a browser does."""
        items = list(form.items()) if isinstance(form, dict) else list(form)
        items.append(("csrf", self.csrf))
        async with self.session.post(self.base + path, data=items) as response:
            self.last = html.unescape(await response.text())
            self._keep_csrf()
            return response.status, self.last, response.url.path

    def _keep_csrf(self) -> None:
        match = CSRF.search(self.last)
        if match:
            self.csrf = html.unescape(match[1])

    async def close(self) -> None:
        await self.session.close()
