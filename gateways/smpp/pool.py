"""A gateway's binds: as many as the contract sells (``binds = N``), each with its own window
and rate (per bind, as contracted), its own throttle pause and its own reconnection. A bind is a
transceiver session, or a transmitter and a receiver session side by side. Submissions go to the
bind that is up with the fewest messages on it; receipts may come on any bind and go to the
gateway's one event stream.

When several daemons share the account, ``binds = N`` is the account's total: ``resize(k)``
keeps this process to the first k binds (the others closed, after the messages on them have
their answers); submissions go only to held binds, and wait while none is held."""

from __future__ import annotations

import asyncio
import contextlib
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
    held: bool = True  # this process may have it open (see Pool.resize)

    @property
    def up(self) -> bool:
        return self.sender.bound

    def sessions(self) -> Iterator[Session]:
        yield self.sender
        if self.receiver is not None:
            yield self.receiver


DRAIN_S = 1.0  # at most this long for a released bind's messages to have their answers


class Pool:
    def __init__(self, binds: list[Bind]) -> None:
        self.binds = binds
        self._some_held = asyncio.Event()
        self._some_held.set()
        self.started = False

    @property
    def held(self) -> int:
        return sum(b.held for b in self.binds)

    async def some_held(self) -> None:
        """Return once this process holds at least one bind."""
        await self._some_held.wait()

    def sessions(self) -> Iterator[Session]:
        for bind in self.binds:
            yield from bind.sessions()

    def pick(self) -> Bind:
        """The bind that is up with the fewest messages on it; when none is up, the least
        loaded (its session waits for its own bind attempt, one at a time)."""
        held = [b for b in self.binds if b.held] or self.binds
        up = [b for b in held if b.up]
        return min(up or held, key=lambda b: (b.load, b.index))

    async def resize(self, count: int, *, drain: bool = True) -> None:
        """Hold the first ``count`` binds: those given up take no new message, their messages
        in flight have their answers (DRAIN_S at most; not at all without ``drain``), then they
        unbind; those taken bind (in the background when they cannot at once). Fewer binds are
        in force when this returns."""
        count = max(0, min(count, len(self.binds)))
        released = [b for b in self.binds[count:] if b.held]
        taken = [b for b in self.binds[:count] if not b.held]
        for bind in released:
            bind.held = False
        if count == 0:
            self._some_held.clear()
        if released and drain:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(b.pacer.window.idle() for b in released)), DRAIN_S
                )
        if released:
            await asyncio.gather(*(s.close() for b in released for s in b.sessions()))
        for bind in taken:
            bind.held = True
        if taken and self.started:
            try:
                await self._open([s for b in taken for s in b.sessions()], must=False)
            except Exception as error:  # noqa: BLE001 - a bind refused is no reason to stop sharing
                log.warning("smpp_bind_failed", gateway=taken[0].sender.name, reason=str(error))
        if count > 0:
            self._some_held.set()

    async def start(self) -> None:
        """Bind every held session at once. Those that fail keep trying in the background; when
        no bind can send, the gateway cannot start: SmppError (SmppBindError when refused). With
        no bind held (another daemon holds them all), it starts with none open."""
        self.started = True
        sessions = [s for b in self.binds if b.held for s in b.sessions()]
        if sessions:
            await self._open(sessions, must=True)

    async def _open(self, sessions: list[Session], *, must: bool) -> None:
        results = await asyncio.gather(*(s.open() for s in sessions), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for error in errors:
            if not isinstance(error, SmppError):
                raise error
        if must and not any(b.up for b in self.binds):
            await self.close()
            refused = [e for e in errors if isinstance(e, SmppBindError)]
            raise (refused or errors)[0]
        for session, result in zip(sessions, results, strict=True):
            if isinstance(result, SmppError):
                log.warning("smpp_bind_later", gateway=session.name, reason=str(result))
                session.keep_trying()

    async def close(self) -> None:
        self.started = False
        for bind in self.binds:
            bind.gate.close()
        await asyncio.gather(*(s.close() for s in self.sessions()))
