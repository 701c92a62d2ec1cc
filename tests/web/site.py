"""The sign-up pages served on a loopback port, over a real database, with the fake gateway as
the residents' phones and a clock the test drives."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from alertd.config import Config, with_overrides
from alertd.web import server
from gateways.base import Message, SubmitResult
from gateways.fake import FakeGateway

CODE = re.compile(r"\b([0-9]{6})\b")


class Phones(FakeGateway):
    """The fake gateway, telling the test when a message arrives."""

    def __init__(self) -> None:
        super().__init__("fake", receipts=False)
        self._arrived = asyncio.Condition()

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        results = await super().submit(messages)
        async with self._arrived:
            self._arrived.notify_all()
        return results

    def to(self, phone: str) -> list[Message]:
        return [m for m in self.received if m.to == phone]

    async def next_to(self, phone: str, seen: int, within: float = 10.0) -> Message:
        """The message after the ``seen`` first ones sent to ``phone``."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.to(phone)) > seen), within
            )
        return self.to(phone)[seen]

    async def code_for(self, phone: str, seen: int) -> str:
        match = CODE.search((await self.next_to(phone, seen)).text)
        assert match is not None
        return match[1]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Site:
    url: str
    phones: Phones
    clock: Clock
    pool: asyncpg.Pool


@asynccontextmanager
async def site(
    config: Config, pool: asyncpg.Pool, *, down_first: bool = False, **signup: Any
) -> AsyncIterator[Site]:
    """``down_first``: a gateway in outage comes before the phones' one."""
    phones, clock = Phones(), Clock()
    await phones.start()
    down = FakeGateway("down", receipts=False)
    down.outage = True
    gateways = [down, phones] if down_first else [phones]
    config = with_overrides(config, serve={"signup_listen": "127.0.0.1:0"}, signup=signup)
    try:
        # The pages' own pool, as `alertd serve` runs them on a DATABASE_URL.
        async with server.serving(
            config, pool, gateways, clock=clock, dsn=config.database.url
        ) as address:
            yield Site(f"http://{address}", phones, clock, pool)
    finally:
        await phones.close()
