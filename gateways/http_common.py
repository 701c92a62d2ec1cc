"""What the HTTP provider adapters share: session ownership, one request per message, the timeout.

An HTTP adapter sends one request per message (the providers answer per recipient), each after
the rate limiter (in segments) and inside the window, each bounded by a timeout: a provider that
hangs costs the timeout, never a hang of the dispatcher. A connection that could not be made is a
RETRY (nothing left); a timeout or a connection lost once the request may have left is IN_DOUBT:
the provider may have taken the message and sent it, so the dispatcher counts it and applies the
severity's policy instead of silently sending it again. The circuit breaker counts
the provider's faults (5xx, refused credentials, timeouts, broken connections); throttling and
per-recipient rejections prove the provider is up and close it. Webhooks (delivery receipts,
inbound SMS) are served by small aiohttp applications the daemon mounts (`gateways.base.Webhooks`);
they feed the adapter's event queue.

Phone numbers are never logged: log lines carry the caller's reference, never ``Message.to``.
"""

from __future__ import annotations

import abc
import asyncio
import email.utils
import re
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import aiohttp

from gateways.base import Event, Limits, Message, Share, SubmitResult
from gateways.breaker import Answer, CircuitBreaker, fault
from gateways.events import EventQueue
from gateways.limits import Clock, Pacer, SystemClock

DEFAULT_TIMEOUT = 10.0  # seconds for one request, connection included
THROTTLE_RETRY_AFTER = 1.0  # when a provider throttles without a Retry-After

_DIGITS = re.compile(r"\+?\d[\d .-]{5,}\d")


def scrub(text: str) -> str:
    """A provider's error text without the phone numbers some of them echo back."""
    return _DIGITS.sub("<number>", text)


def parse_retry_after(value: str | None, default: float, now: float | None = None) -> float:
    """Retry-After as seconds (RFC 9110: delay-seconds or an HTTP date); ``default`` if absent
    or unreadable. ``now`` is the wall clock in seconds since the epoch (passed in for tests)."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    wall = time.time() if now is None else now
    return max(0.0, when.timestamp() - wall)


class HttpGateway(abc.ABC):
    """The base of the HTTP adapters: implements the Gateway protocol around ``_send``."""

    kind = "http"

    def __init__(
        self,
        name: str,
        *,
        rate: float = 0.0,
        window: int = 10,
        timeout: float = DEFAULT_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.limits = Limits(rate=rate, window=window)
        self.timeout = timeout
        self.clock = clock or SystemClock()
        self.breaker = breaker or CircuitBreaker(clock=self.clock)
        self._given_session = session
        self._session: aiohttp.ClientSession | None = session
        self._pacer = Pacer(self.limits, self.clock)
        self._events = EventQueue()
        self.closed = False

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.closed = False
        self._events.open()
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.limits.window)
            self._session = aiohttp.ClientSession(connector=connector)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._events.close()
        if self._session is not None and self._session is not self._given_session:
            await self._session.close()  # ours: we close it; a handed one stays its owner's
        self._session = None

    binds = 0  # no binds: the rate alone is shared

    async def share(self, share: Share) -> None:
        """This process's part of the contract's rate (several daemons share one account)."""
        self._pacer.share(share.part)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"gateway {self.name}: start() it before submitting")
        return self._session

    def request_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.timeout)

    # -- the protocol ------------------------------------------------------------------------

    def health(self) -> str:
        return self.breaker.state

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        return list(await asyncio.gather(*(self._submit_one(m) for m in messages)))

    def events(self) -> AsyncIterator[Event]:
        return self._events.events()

    # -- for the webhooks ----------------------------------------------------------------------

    async def deliver(self, event: Event) -> bool:
        """Hand a webhook's (or a poll's) event to the daemon; True once it is stored, False
        when it is not (closed, or not stored in time): the provider is then answered 503, so
        that it sends it again (see gateways.events)."""
        return await self._events.deliver(event)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    # -- one message -----------------------------------------------------------------------------

    async def _submit_one(self, message: Message) -> SubmitResult:
        if self.closed:
            return SubmitResult.retry(message.ref, f"gateway {self.name} is closed", 1.0)
        if (refused := self.breaker.refusal(self.name, message.ref)) is not None:
            return refused
        async with self._pacer.turn(message.segments):
            answer = await self._guarded_send(message)
        return self.breaker.record(answer, gateway=self.name, ref=message.ref)

    async def _guarded_send(self, message: Message) -> Answer:
        try:
            return await self._send(message)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            detail = scrub(str(exc)) or type(exc).__name__
            return fault(message.ref, f"{self.name}: connection failed ({detail})")
        except TimeoutError:  # the request may have left: the provider may have sent it
            reason = f"{self.name}: no answer within {self.timeout:g} s, in doubt"
            return Answer(SubmitResult.in_doubt(message.ref, reason), False)
        except aiohttp.ClientError as exc:  # connected, then lost: the same
            detail = scrub(str(exc)) or type(exc).__name__
            reason = f"{self.name}: connection lost, in doubt ({detail})"
            return Answer(SubmitResult.in_doubt(message.ref, reason), False)

    @abc.abstractmethod
    async def _send(self, message: Message) -> Answer:
        """One request for one message; may raise TimeoutError or aiohttp.ClientError."""
