"""The code's SMS, handed to a gateway at once, beside the request: the page answers the same,
as fast, whether the gateway is quick, slow or down (and so whatever the number)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from alertd.delivery.service_sms import send_service_sms
from alertd.logs import get_logger, mask_phone
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


class CodeSender:
    """Sends codes through the daemon's gateways, the first that takes it (in their order)."""

    def __init__(self, gateways: Sequence[Gateway], catalog: Catalog) -> None:
        self.gateways = list(gateways)
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
        return self._spawn(phone, self.text(code, language, sender))

    def confirm(self, phone: str, language: str, place: str) -> asyncio.Task[bool]:
        """What was recorded, and how to leave (STOP)."""
        text = self._rendered(CONFIRMED_TEMPLATE, language, commune=place, sender=place)
        return self._spawn(phone, text)

    def goodbye(self, phone: str, language: str, sender: str) -> asyncio.Task[bool]:
        return self._spawn(phone, self._rendered(LEFT_TEMPLATE, language, sender=sender))

    def _spawn(self, phone: str, text: str) -> asyncio.Task[bool]:
        task = asyncio.create_task(self._send(phone, text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _send(self, phone: str, text: str) -> bool:
        for gateway in self.gateways:
            if await send_service_sms(gateway, phone, text, ref="signup"):
                return True
        log.error("signup.code_not_sent", to=mask_phone(phone), gateways=len(self.gateways))
        return False

    async def aclose(self) -> None:
        """Let the codes in flight leave (a few seconds at most), then stop."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=CLOSE_GRACE_S)
        for task in late:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
