"""The one small interface every SMS gateway adapter implements, and what flows through it.

The dispatcher hands a gateway a batch of messages and gets one result per message: accepted
(with the gateway's message id), rejected for good (with the reason: a wrong number will stay
wrong), failed for now (with how long to wait: nothing left for the provider), or in doubt (the
request left, then a timeout or a lost connection: the provider may have taken it and sent it).
Delivery receipts and residents' replies come back as a stream of events. Rates are counted in
SMS segments, as operators count them. A gateway whose provider calls back over HTTP also offers
`Webhooks`: the daemon mounts its application.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # aiohttp only for the annotation: importing gateways.base stays light
    from aiohttp import web


class GatewayError(Exception):
    """A gateway cannot be used (refused credentials, bind failed): the message says why."""


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # for good: do not retry through this gateway
    RETRY = "retry"  # for now, and not sent: throttled, queue full, refused connection, outage
    IN_DOUBT = "in_doubt"  # may have been sent: a timeout or a lost link after the request left


@dataclass(frozen=True, slots=True)
class Message:
    ref: str  # the caller's reference (a delivery id), echoed in the result
    to: str  # E.164
    text: str
    segments: int  # counted by the caller (templates.sms), for the rate limit
    sender: str | None = None  # alphanumeric sender id or short code; None: the gateway's own
    expires_at: datetime | None = None  # the alert's expiry: the SMSC gives up then (validity)
    urgent: bool = False  # life-safety: sent with the SMSC's priority flag where it has one


@dataclass(frozen=True, slots=True)
class SubmitResult:
    ref: str
    outcome: Outcome
    message_id: str | None = None
    reason: str | None = None
    retry_after: float | None = None  # seconds, for RETRY
    # A message sent in several parts: every part's id, message_id (the first) included; the
    # delivery is delivered once every part is. Empty for a message sent whole.
    part_ids: tuple[str, ...] = ()

    @classmethod
    def accepted(cls, ref: str, message_id: str) -> SubmitResult:
        return cls(ref, Outcome.ACCEPTED, message_id=message_id)

    @classmethod
    def rejected(cls, ref: str, reason: str) -> SubmitResult:
        return cls(ref, Outcome.REJECTED, reason=reason)

    @classmethod
    def retry(cls, ref: str, reason: str, after: float) -> SubmitResult:
        return cls(ref, Outcome.RETRY, reason=reason, retry_after=after)

    @classmethod
    def in_doubt(cls, ref: str, reason: str, after: float = 0.0) -> SubmitResult:
        return cls(ref, Outcome.IN_DOUBT, reason=reason, retry_after=after)


class ReceiptStatus(enum.Enum):
    DELIVERED = "delivered"
    FAILED = "failed"  # undeliverable, rejected by the network
    EXPIRED = "expired"  # the SMSC gave up (phone off for too long)
    BUFFERED = "buffered"  # intermediate: still trying


@dataclass(frozen=True, slots=True)
class Receipt:
    gateway: str
    message_id: str
    status: ReceiptStatus
    at: datetime
    error: str | None = None  # the operator's reason, as given
    # Other forms message_id may stand for (an SMSC writing ids in two bases), likeliest first:
    # the outbox takes the first form that names a message of this gateway.
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Inbound:
    gateway: str
    sender: str  # E.164 when the gateway gives it so
    recipient: str | None
    text: str
    at: datetime
    message_id: str | None = None


Event = Receipt | Inbound


@dataclass(frozen=True, slots=True)
class Limits:
    rate: float  # SMS segments per second the contract allows; 0 = unlimited
    window: int  # submissions awaiting the gateway's answer at once


@runtime_checkable
class Gateway(Protocol):
    name: str
    limits: Limits

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        """One result per message, in the same order; waits for the rate and the window."""
        ...

    def events(self) -> AsyncIterator[Event]:
        """Delivery receipts and inbound messages, as they arrive, until close()."""
        ...

    def health(self) -> str:
        """The circuit breaker's state: closed, open or half_open."""
        ...


@dataclass(frozen=True, slots=True)
class Share:
    """This process's part of a gateway's contract, when several processes share it: ``part``
    of the rate (0 to 1; 0 holds every submission not gone yet) and, for a gateway of binds, how
    many of them it may have open. The caller (alertd's delivery) decides it; the adapter obeys."""

    part: float
    binds: int = 1
    # False when the lease runs out: binds given up close at once (no wait for the answers of
    # what they have in flight: in doubt), so that they are closed before another process may
    # open them.
    drain: bool = True

    @property
    def held(self) -> bool:
        return self.part <= 0


@runtime_checkable
class Shared(Protocol):
    """A gateway whose contract several processes share. ``binds``: the binds of the account
    (0: a gateway without binds, whose rate alone is shared)."""

    binds: int

    async def share(self, share: Share) -> None:
        """Apply ``share`` now: a smaller part or fewer binds is in force when this returns."""
        ...


@runtime_checkable
class Webhooks(Protocol):
    """A gateway whose provider calls back over HTTP (delivery receipts, inbound SMS)."""

    def webhook_app(self, public_url: str | None) -> web.Application:
        """The application the daemon mounts under /webhooks/<gateway name>/. ``public_url``:
        its base URL as the provider calls it, when a proxy stands in front; None: as seen."""
        ...
