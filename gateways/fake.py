"""The fake gateway: in-process, for tests, the demo and benchmarks.

It behaves like a real one where it matters to the dispatcher: it takes its time (latency), keeps
to its contract (rate in segments, window), fails as configured (random temporary errors,
throttling, an outage switched on and off, numbers it rejects for good, numbers whose receipt says
failed, a hang), sends delivery receipts, and takes inbound messages injected by the test. It
records every message it accepted, so a test can prove that nobody got one twice.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from gateways.base import (
    Event,
    Inbound,
    Limits,
    Message,
    Receipt,
    ReceiptStatus,
    Share,
    SubmitResult,
)
from gateways.breaker import CircuitBreaker
from gateways.events import EventQueue
from gateways.limits import Clock, Pacer, SystemClock


class FakeGateway:
    def __init__(
        self,
        name: str = "fake",
        *,
        rate: float = 0.0,
        window: int = 100,
        latency: float = 0.0,
        receipt_delay: float = 0.0,
        error_rate: float = 0.0,
        throttle_rate: float = 0.0,
        reject_numbers: frozenset[str] = frozenset(),
        fail_numbers: frozenset[str] = frozenset(),
        receipts: bool = True,
        clock: Clock | None = None,
        seed: int = 0,
    ) -> None:
        self.name = name
        self.limits = Limits(rate=rate, window=window)
        self.latency = latency
        self.receipt_delay = receipt_delay
        self.error_rate = error_rate
        self.throttle_rate = throttle_rate
        self.reject_numbers = reject_numbers
        self.fail_numbers = fail_numbers
        self.send_receipts = receipts
        self.outage = False  # switch on to make every submission fail for now
        self.hang = False  # switch on to make submissions wait until close()
        self.clock = clock or SystemClock()
        self.breaker = CircuitBreaker(clock=self.clock)
        self.received: list[Message] = []  # accepted messages, in order
        self.first_accepted_at: float | None = None  # clock time of the first acceptance
        self.most_in_flight = 0  # the most submissions awaiting an answer at once (the window)
        self._pacer = Pacer(self.limits, self.clock)
        self._rng = random.Random(seed)  # noqa: S311 - simulated faults, not secrets
        self._ids = itertools.count(1)
        self._events = EventQueue()
        self._closed = asyncio.Event()
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._closed.clear()
        self._events.open()

    async def close(self) -> None:
        self._closed.set()
        for task in list(self._pending):
            task.cancel()
        self._events.close()

    def health(self) -> str:
        return self.breaker.state

    binds = 0  # no binds: the rate alone is shared

    @property
    def on_hold(self) -> bool:
        """No share of the contract now (another process holds it all)."""
        return self._pacer.rate.held

    async def share(self, share: Share) -> None:
        self._pacer.share(share.part)

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        if self.latency == 0 and self.limits.rate == 0 and not self.hang and not self.on_hold:
            return [self._decide(m) for m in messages]  # the fast path benchmarks use
        return list(await asyncio.gather(*(self._submit_one(m) for m in messages)))

    async def _submit_one(self, message: Message) -> SubmitResult:
        async with self._pacer.turn(message.segments):
            self.most_in_flight = max(self.most_in_flight, self._pacer.window.in_flight)
            if self.hang:
                await self._closed.wait()
                return SubmitResult.retry(message.ref, "gateway closed while hanging", 1.0)
            if self.latency:
                await self.clock.sleep(self.latency)
            return self._decide(message)

    def _decide(self, message: Message) -> SubmitResult:
        if self.outage:
            self.breaker.failure()
            return SubmitResult.retry(message.ref, "gateway unavailable (outage)", 5.0)
        if message.to in self.reject_numbers:
            return SubmitResult.rejected(message.ref, "unknown subscriber (number not allocated)")
        roll = self._rng.random()
        if roll < self.throttle_rate:
            return SubmitResult.retry(message.ref, "throttled", 1.0)
        if roll < self.throttle_rate + self.error_rate:
            self.breaker.failure()
            return SubmitResult.retry(message.ref, "temporary gateway error", 1.0)
        self.breaker.success()
        message_id = f"{self.name}-{next(self._ids)}"
        if self.first_accepted_at is None:
            self.first_accepted_at = self.clock.now()
        self.received.append(message)
        if self.send_receipts:
            self._receipt_later(message, message_id)
        return SubmitResult.accepted(message.ref, message_id)

    def _receipt_later(self, message: Message, message_id: str) -> None:
        failed = message.to in self.fail_numbers
        receipt = Receipt(
            self.name,
            message_id,
            ReceiptStatus.FAILED if failed else ReceiptStatus.DELIVERED,
            datetime.now(UTC),
            "absent subscriber" if failed else None,
        )
        if self.receipt_delay == 0:
            self._events.publish(receipt)
            return
        task = asyncio.get_running_loop().create_task(self._deliver(receipt))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, receipt: Receipt) -> None:
        await self.clock.sleep(self.receipt_delay)
        self._events.publish(receipt)

    def inject_inbound(
        self, sender: str, text: str, recipient: str | None = None, message_id: str | None = None
    ) -> None:
        """A resident's SMS arrives (STOP, a reply). ``message_id``: the provider's id, to send
        the same message again as a provider does when it saw no acknowledgement."""
        self._events.publish(self._inbound(sender, text, recipient, message_id))

    async def deliver_inbound(
        self, sender: str, text: str, recipient: str | None = None, message_id: str | None = None
    ) -> bool:
        """As a real provider hands it over: True once the daemon has stored it, False when it
        could not (the provider would send it again)."""
        return await self._events.deliver(self._inbound(sender, text, recipient, message_id))

    async def deliver_receipt(self, receipt: Receipt) -> bool:
        """A delivery receipt handed over as a real provider's: True once stored."""
        return await self._events.deliver(receipt)

    def _inbound(
        self, sender: str, text: str, recipient: str | None, message_id: str | None
    ) -> Inbound:
        if message_id is None:
            message_id = f"{self.name}-in-{next(self._ids)}"
        return Inbound(self.name, sender, recipient, text, datetime.now(UTC), message_id)

    def events(self) -> AsyncIterator[Event]:
        return self._events.events()
