"""The pages' SMS (a code, a subscription confirmed, a goodbye), beside the request: the page
answers the same, as fast, whether the gateway is quick, slow or down (and so whatever the
number). Two ways out, behind one ``Sender``:

- ``CodeSender``: handed to the daemon's gateways at once, in the daemon's process (the pages
  in the daemon's event loop, ``[serve] signup_workers = 0``, and the tests that drive a clock);
- ``QueuedSender``: queued in the durable service SMS queue, which the daemon sends as they are
  queued (a NOTIFY wakes it): the pages in processes of their own, which hold no gateway (the
  SMPP binds live in the daemon). A code's SMS expires with the code: a dead code sent late is
  useless."""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import asyncpg

from alertd.delivery import service_queue
from alertd.delivery.service_sms import send_service_sms
from alertd.logs import get_logger, mask_phone
from alertd.store.lost import DATABASE_FAILED
from gateways.base import Gateway
from templates import Catalog

log = get_logger(__name__)
CODE_TEMPLATE = "subscription_code"
CONFIRMED_TEMPLATE = "subscription_confirmed"
LEFT_TEMPLATE = "unsubscribed"
CLOSE_GRACE_S = 5.0
# Stands for the code while its SMS is rendered once per language and sender: six GSM-7
# characters of one septet each, as the six digits, so the encoding, the segments and the
# transliteration are those of the real text.
CODE_MARK = "§§§§§§"
MAX_KEPT = 1024
MAX_BATCH = 500  # SMS queued in one statement


class Sender(Protocol):
    """What the pages send; each returns at once, the SMS leaving in a task of its own (True
    when a gateway took it, or the queue has it)."""

    def send(self, phone: str, code: str, language: str, sender: str) -> asyncio.Task[bool]: ...

    def confirm(self, phone: str, language: str, place: str) -> asyncio.Task[bool]: ...

    def goodbye(self, phone: str, language: str, sender: str) -> asyncio.Task[bool]: ...

    async def aclose(self) -> None: ...


class _Texts(abc.ABC):
    """The texts, rendered once per template, language and values; the SMS in tasks kept until
    they end (and given a few seconds at close)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._tasks: set[asyncio.Task[bool]] = set()
        # Rendered texts by (template, language, values): the same few for every resident.
        self._kept: dict[tuple[str, str, tuple[tuple[str, str], ...]], str] = {}

    def text(self, code: str, language: str, sender: str) -> str:
        if len(code) != len(CODE_MARK) or CODE_MARK in sender:
            return (
                self.catalog.get(CODE_TEMPLATE, language)
                .render({"code": code, "sender": sender})
                .to_send
            )
        marked = self._rendered(CODE_TEMPLATE, language, code=CODE_MARK, sender=sender)
        return marked.replace(CODE_MARK, code)

    def _rendered(self, name: str, language: str, **values: str) -> str:
        key = (name, language, tuple(sorted(values.items())))
        text = self._kept.get(key)
        if text is None:
            text = self.catalog.get(name, language).render(values).to_send
            if len(self._kept) >= MAX_KEPT:
                self._kept.clear()
            self._kept[key] = text
        return text

    def send(self, phone: str, code: str, language: str, sender: str) -> asyncio.Task[bool]:
        return self._out(phone, self.text(code, language, sender), "signup_code", code=True)

    def confirm(self, phone: str, language: str, place: str) -> asyncio.Task[bool]:
        """What was recorded, and how to leave (STOP)."""
        text = self._rendered(CONFIRMED_TEMPLATE, language, commune=place, sender=place)
        return self._out(phone, text, "signup_confirmed")

    def goodbye(self, phone: str, language: str, sender: str) -> asyncio.Task[bool]:
        text = self._rendered(LEFT_TEMPLATE, language, sender=sender)
        return self._out(phone, text, "signup_left")

    @abc.abstractmethod
    def _out(
        self, phone: str, text: str, purpose: str, *, code: bool = False
    ) -> asyncio.Task[bool]:
        """The SMS on its way (``code``: a code's, which dies with the code)."""

    def _spawn(self, work: Coroutine[Any, Any, bool]) -> asyncio.Task[bool]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def aclose(self) -> None:
        """Let the SMS in flight leave (a few seconds at most), then stop."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=CLOSE_GRACE_S)
        for task in late:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class CodeSender(_Texts):
    """Sends through the daemon's gateways, the first that takes it (in their order)."""

    def __init__(self, gateways: Sequence[Gateway], catalog: Catalog) -> None:
        super().__init__(catalog)
        self.gateways = list(gateways)

    def _out(
        self, phone: str, text: str, purpose: str, *, code: bool = False
    ) -> asyncio.Task[bool]:
        return self._spawn(self._send(phone, text))

    async def _send(self, phone: str, text: str) -> bool:
        for gateway in self.gateways:
            if await send_service_sms(gateway, phone, text, ref="signup"):
                return True
        log.error("signup.code_not_sent", to=mask_phone(phone), gateways=len(self.gateways))
        return False


class QueuedSender(_Texts):
    """Queues into the durable service SMS queue, for the daemon to send. ``code_ttl``: how long
    a code's SMS may wait there (the code's own life); the others wait the queue's default.

    One INSERT at a time per process: what the pages ask while it runs goes into the next, in
    one statement (a rush's codes cost a round trip, a commit and a NOTIFY per batch, not each).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        catalog: Catalog,
        *,
        code_ttl: timedelta,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(catalog)
        self.pool = pool
        self.code_ttl = code_ttl
        self.clock = clock or (lambda: datetime.now(UTC))
        self._waiting: list[tuple[service_queue.Queued, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    def _out(
        self, phone: str, text: str, purpose: str, *, code: bool = False
    ) -> asyncio.Task[bool]:
        valid_for = self.code_ttl if code else service_queue.VALID_FOR
        queued = asyncio.get_running_loop().create_future()
        sms = service_queue.Queued(phone, text, purpose, self.clock(), valid_for)
        self._waiting.append((sms, queued))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return self._spawn(_outcome(queued))

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            queued = False
            try:
                async with self.pool.acquire() as conn:
                    await service_queue.queue_many(conn, [sms for sms, _ in batch])
                queued = True
            except DATABASE_FAILED as exc:
                for sms, _ in batch:
                    # One line for the duty officer, no traceback: the database's own log says
                    # more.
                    log.error(  # noqa: TRY400
                        "signup.code_not_sent", to=mask_phone(sms.phone), error=type(exc).__name__
                    )
            finally:  # whatever happened, nobody waits for these any longer
                for _, outcome in batch:
                    if not outcome.done():
                        outcome.set_result(queued)

    async def aclose(self) -> None:
        await super().aclose()
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer


async def _outcome(queued: asyncio.Future[bool]) -> bool:
    return await queued
