"""What a session is made of: its errors, where it connects (`Endpoint`) and one connection
(`Link`: the streams, the requests awaiting their response, the tasks that serve it)."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field

from gateways.base import GatewayError
from gateways.smpp.pdu import Pdu, encode


class SmppError(ConnectionError):
    """The SMSC cannot be reached or bound; the message says why, for the person on call."""


class SmppBindError(SmppError, GatewayError):
    """The SMSC refused the bind (wrong system_id, password, system_type, too many binds)."""


class Lost(ConnectionError):
    """The connection went away while a request awaited its response."""


class ResponseTimeout(Lost):
    """No response within the timeout: the link was reset, the request is in doubt."""


@dataclass(eq=False)
class Link:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    pending: dict[int, asyncio.Future[Pdu]] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    answering: set[asyncio.Task[None]] = field(default_factory=set)  # deliver_sm being stored
    smsc_id: str = ""
    lost: str | None = None  # why it ended, once it has
    resetting: str | None = None  # why it is being reset: nothing new is sent on it

    @property
    def usable(self) -> bool:
        return self.lost is None and self.resetting is None

    def send(self, pdu: Pdu) -> None:
        if self.lost is None and not self.writer.is_closing():
            self.writer.write(encode(pdu))

    def fail_pending(self, reason: str) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_exception(Lost(reason))
        self.pending.clear()


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and as whom a bind connects."""

    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    bind: str = "transceiver"  # transceiver, transmitter or receiver
    tls: ssl.SSLContext | None = None
