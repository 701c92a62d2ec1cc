"""A gateway's binds: as many as the contract sells (``binds = N``), each with its own window
and rate (per bind, as contracted), its own throttle pause and its own reconnection. A bind is a
transceiver session, or a transmitter and a receiver session side by side. Submissions go to the
bind that is up with the fewest messages on it; receipts may come on any bind and go to the
gateway's one event stream."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import structlog

from gateways.limits import Pacer
from gateways.smpp.gate import Gate
from gateways.smpp.link import SmppBindError, SmppError
from gateways.smpp.session import Session

log = structlog.get_logger("gateways.smpp")


@dataclass(eq=False)
class Bind:
    index: int
    sender: Session  # where submit_sm go: the transceiver, or the transmitter
    receiver: Session | None  # the receiver beside a transmitter
    pacer: Pacer  # this bind's rate and window
    gate: Gate  # this bind's throttle pause
    load: int = 0  # messages given to this bind and not finished

    @property
    def up(self) -> bool:
        return self.sender.bound

    def sessions(self) -> Iterator[Session]:
        yield self.sender
        if self.receiver is not None:
            yield self.receiver


class Pool:
    def __init__(self, binds: list[Bind]) -> None:
        self.binds = binds

    def sessions(self) -> Iterator[Session]:
        for bind in self.binds:
            yield from bind.sessions()

    def pick(self) -> Bind:
        """The bind that is up with the fewest messages on it; when none is up, the least
        loaded (its session waits for its own bind attempt, one at a time)."""
        up = [b for b in self.binds if b.up]
        return min(up or self.binds, key=lambda b: (b.load, b.index))

    async def start(self) -> None:
        """Bind every session at once. Those that fail keep trying in the background; when no
        bind can send, the gateway cannot start: SmppError (SmppBindError when refused)."""
        sessions = list(self.sessions())
        results = await asyncio.gather(*(s.open() for s in sessions), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for error in errors:
            if not isinstance(error, SmppError):
                raise error
        if not any(b.up for b in self.binds):
            await self.close()
            refused = [e for e in errors if isinstance(e, SmppBindError)]
            raise (refused or errors)[0]
        for session, result in zip(sessions, results, strict=True):
            if isinstance(result, SmppError):
                log.warning("smpp_bind_later", gateway=session.name, reason=str(result))
                session.keep_trying()

    async def close(self) -> None:
        for bind in self.binds:
            bind.gate.close()
        await asyncio.gather(*(s.close() for s in self.sessions()))
