"""The lease each daemon holds on its share of each gateway's contract (issue 18).

Several ``alertd serve`` on one database share each gateway's rate and binds. Every
``lease_s / 3`` the daemon renews, per gateway, in one short transaction under a lock of that
gateway: the expired leases are dropped, the shares in force read, this daemon's share decided
(``shares.decide``) and written with an expiry of ``now() + lease_s`` — the database's clock, the
one clock every machine agrees on. A share that shrinks is applied before its lease is
committed, one that grows after (binds: counted by the lease from before they open until they
are closed; they open and close in the background, so that a renewal never waits for an SMSC):
the shares in force never add up to more than the contract.

Between two renewals nothing touches the database: the gateway's pacer holds the share in
memory, so the hot path has no round trip. A daemon that cannot renew (the database is out of
reach, a statement hangs) holds every shared gateway when its lease runs out on its own
monotonic clock (started before the renewal's statement left, so never later than the database's
expiry; binds closed at once, early enough for the unbind): it never sends beyond a share it may
no longer have. The others take that share at their
first renewal after the lease expires; a daemon that stops cleanly gives its shares back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence

import asyncpg

from alertd.delivery.shares import Decision, Held, decide, to_write
from alertd.logs import get_logger
from alertd.store.lost import DATABASE_LOST
from alertd.store.queries import queries
from gateways.base import Gateway, Share, Shared

log = get_logger(__name__)

HOLD_MARGIN_S = 0.2  # held this long before the lease's end: the event loop may wake late
# Binds are closed this long before the lease's end: an unbind waits up to 1 s for its answer
# (the SMPP adapter's unbind_wait), and they must be closed before another daemon may open them.
CLOSE_ALLOWANCE_S = 1.2
PUT_ATTEMPTS = 3  # reads and writes of a lease while the others' shares change under it
EXPIRY_SLACK_S = 0.05  # renewed this long after another's lease ends, to find it ended
HELD = Decision(0.0, 0)
NOT_RENEWED: tuple[type[BaseException], ...] = (TimeoutError, *DATABASE_LOST)


class ShareLeases:
    """This daemon's leases on its shares of the gateways that can be shared."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        gateways: Sequence[Gateway],
        *,
        worker: str,
        lease_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pool = pool
        self.worker = worker
        self.lease_s = lease_s
        self.renew_every = lease_s / 3
        self.clock = clock
        # name, the adapter, the contract's rate (segments a second: shown to the others)
        self.gateways: list[tuple[str, Shared, float]] = [
            (g.name, g, g.limits.rate) for g in gateways if isinstance(g, Shared)
        ]
        self.in_force: dict[str, Decision] = {}
        self.deadline: dict[str, float] = {}
        # When another daemon's lease next ends (local clock): renewed then, to take over a dead
        # daemon's share within a lease of its death rather than a lease and a renewal period.
        self.others_end: dict[str, float] = {}
        # Binds that may be open (opening or closing included): what the lease must count. Binds
        # open and close in the background, one change at a time per gateway, so that a renewal
        # never waits for an SMSC (a drain, an unbind, a bind).
        self.open_binds: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._enacting: set[asyncio.Task[None]] = set()
        self._lost = False

    def parts(self) -> dict[str, float]:
        """This daemon's part of each shared gateway's contract now (0: none)."""
        return {name: d.part for name, d in self.in_force.items()}

    def held(self, name: str) -> bool:
        """This daemon has no share of gateway ``name`` now (a gateway not shared never is)."""
        found = self.in_force.get(name)
        return found is not None and found.part <= 0

    async def hold_all(self) -> None:
        """Hold every shared gateway, binds closed: at start, before the first lease, and when
        stopping (what the background was doing is done first)."""
        for name, gateway, _ in self.gateways:
            await self._apply(name, gateway, HELD)
        await asyncio.gather(*self._enacting, return_exceptions=True)

    async def renew(self) -> None:
        """Renew every lease once; one that cannot be renewed runs out (see hold_expired)."""
        for name, gateway, rate in self.gateways:
            left = self.deadline.get(name, 0.0) - self.clock()
            timeout = left if not self.held(name) and left > 0 else self.lease_s
            try:
                decided = await asyncio.wait_for(self._renew(name, gateway, rate), timeout)
            except NOT_RENEWED as exc:
                if not self._lost:
                    log.warning("share.not_renewed", gateway=name, error=type(exc).__name__)
                self._lost = True
            else:
                if self._lost:
                    log.info("share.renewed_again", gateway=name)
                self._lost = False
                # Grown (or binds closed) once the lease says so; never cut short by the
                # renewal's timeout: binds half closed would be open and counted by nobody.
                if decided != self.in_force.get(name):
                    await self._apply(name, gateway, decided, wait=gateway.binds == 0)
            await self.hold_expired()

    async def hold_expired(self) -> None:
        now = self.clock()
        for name, gateway, _ in self.gateways:
            if not self.held(name) and self.deadline.get(name, 0.0) <= now:
                log.warning("share.lease_ran_out", gateway=name)
                await self._apply(name, gateway, HELD, drain=False)

    async def run(self, stop: asyncio.Event) -> None:
        """Renew until ``stop``; then give the shares back."""
        try:
            while not stop.is_set():
                await self.renew()
                await self._pause(stop)
        finally:
            await self.leave()

    async def _pause(self, stop: asyncio.Event) -> None:
        """Until the next renewal, or the end of a lease still in force if sooner (then hold)."""
        now = self.clock()
        ends = [d - now for n, d in self.deadline.items() if not self.held(n)]
        ends += [e - now for e in self.others_end.values() if e > now]  # past: not renewed
        wait = max(0.0, min([self.renew_every, *ends]))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
        await self.hold_expired()

    async def leave(self) -> None:
        """Hold everything, then free this daemon's shares for the others at once."""
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self.hold_all())
        try:
            await self.pool.execute(queries("shares")["leave"], self.worker)
        except DATABASE_LOST as exc:  # they expire by themselves
            log.warning("share.not_left", error=type(exc).__name__)

    async def _renew(self, name: str, gateway: Shared, rate: float) -> Decision:
        """One renewal: what this daemon may now hold (applied by the caller if it changed).
        The shares in force are read, this daemon's decided from them and written unless the
        others' have grown meanwhile (then read again): no lock is held across a round trip."""
        q = queries("shares")
        for _ in range(PUT_ATTEMPTS):
            started = self.clock()
            rows = await self.pool.fetch(q["live"], name)
            held = [Held(r["worker"], float(r["part"]), int(r["binds"])) for r in rows]
            others = [h for h in held if h.worker != self.worker]
            decided = decide(self.worker, held, gateway.binds)
            if gateway.binds == 0 and decided.part < self.in_force.get(name, HELD).part:
                await self._apply(name, gateway, decided)  # shrunk before the lease says so
            opened = self.open_binds.get(name, 0)
            written = to_write(
                decided, Decision(opened / max(1, gateway.binds), opened), gateway.binds
            )
            put = await self.pool.fetchval(
                q["put"], name, self.worker, written.part, written.binds, rate, gateway.binds,
                self.lease_s, sum(h.part for h in others), sum(h.binds for h in others),
            )  # fmt: skip
            if put:
                break
        else:
            raise TimeoutError  # the others' shares kept changing: as a renewal that came late
        allowance = HOLD_MARGIN_S + (CLOSE_ALLOWANCE_S if gateway.binds else 0.0)
        self.deadline[name] = started + self.lease_s - allowance
        ends = [r["expires_in_s"] for r in rows if r["worker"] != self.worker]
        if ends:
            self.others_end[name] = started + min(ends) + EXPIRY_SLACK_S
        else:
            self.others_end.pop(name, None)
        return decided

    async def _apply(
        self,
        name: str,
        gateway: Shared,
        decision: Decision,
        *,
        wait: bool = True,
        drain: bool = True,
    ) -> None:
        """Make ``decision`` this daemon's share of ``name``: at once for what the dispatcher
        reads (``parts``); in the gateway now, or in the background without ``wait``."""
        before = self.in_force.get(name)
        self.in_force[name] = decision
        if before != decision:
            log.info("share.changed", gateway=name, part=round(decision.part, 4),
                     binds=decision.binds)  # fmt: skip
        enact = self._enact(name, gateway, Share(decision.part, decision.binds, drain))
        if wait:
            await enact
            return
        task = asyncio.create_task(enact, name=f"share:{name}")
        self._enacting.add(task)
        task.add_done_callback(self._enacting.discard)

    async def _enact(self, name: str, gateway: Shared, share: Share) -> None:
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            # Binds opening count from before they open, binds closing until they are closed.
            self.open_binds[name] = max(self.open_binds.get(name, 0), share.binds)
            try:
                await gateway.share(share)
            except Exception as exc:  # the lease goes on; the log says why
                log.exception("share.not_applied", gateway=name, error=type(exc).__name__)
                return
            self.open_binds[name] = 0 if share.held else share.binds
