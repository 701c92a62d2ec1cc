"""The dispatch loop: claimed deliveries to gateways, results and receipts back to the outbox.

One ``step`` claims a batch (life-safety first), stops what has expired, and hands the rest to the
tier of gateways its attempt number points at (failover: after ``retries_per_gateway`` attempts a
delivery moves to the next priority, skipping gateways whose circuit breaker is open), spread over
the tier's gateways by free capacity and weight (``spread``). Each gateway's rows go through a
pipeline (``pipeline``) that keeps its window full and records results in batches as they
return. Temporary failures come back later with exponential back-off and jitter; permanent ones
fail at once with the gateway's reason; results in doubt (the gateway may have sent them) follow
the severity's policy in the record statement.

Leases: each claim has its token. A heartbeat renews, every third of the lease, the lease of the
claim's rows not recorded yet, so a live daemon keeps what it is sending however slow its gateway;
each hand-over also renews its rows if less than half their lease is left, and sends only the
rows the claim still holds: rows it lost (the daemon stalled past its lease and they were given
back) are not sent by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import asyncpg
import structlog

from alertd.delivery import outbox, pipeline
from alertd.delivery.pipeline import Batch, Lane, Recorder
from alertd.delivery.spread import choose_tier, pace, shares
from alertd.logs import get_logger
from alertd.store.lost import DATABASE_FAILED
from gateways.base import Gateway, Outcome, Receipt, SubmitResult

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    batch: int = 1000
    lease_s: float = 60.0
    retries_per_gateway: int = 3
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    idle_s: float = 0.2  # pause when nothing is queued
    receipt_timeout_s: float = 600.0  # life-safety, no receipt: sent again elsewhere; 0: never
    sweep_s: float = 5.0  # how often silent deliveries are looked for
    # Batches in flight at once in one daemon: while one is with a gateway, another is being
    # claimed or recorded (SKIP LOCKED keeps them disjoint).
    concurrency: int = 3


LEASE_SHARE = 0.5  # of the lease a claimed batch may take to send
RENEW_SHARE = 1 / 3  # of the lease between two heartbeats renewing a claim's lease
CLAIM_AHEAD_S = 1.0  # of a shared gateway's pace in one batch (see claim_size)


def backoff(attempts: int, settings: DispatchSettings, rng: random.Random) -> float:
    """Seconds before the next attempt: exponential, capped, with full jitter on the upper half."""
    ceiling = min(settings.backoff_max_s, settings.backoff_base_s * 2.0 ** max(0, attempts - 1))
    return float(ceiling / 2 + rng.random() * ceiling / 2)


def claim_size(
    settings: DispatchSettings,
    gateways: Sequence[Gateway],
    parts: Mapping[str, float] | None = None,
) -> int:
    """How many deliveries to claim at once: the configured batch, but never more than the
    slowest gateway can send well within the lease while the other batches in flight share it:
    at its rate (in segments) or, without one, its window per assumed round trip. The heartbeat
    keeps a live daemon's lease whatever happens, so this is not what makes it safe: it keeps
    the heartbeat idle in the usual case (a claim renewed over and over costs writes) and the
    rows of a daemon that died waiting no longer than a lease.

    ``parts``: this daemon's share of each rate-limited gateway's contract, when daemons share
    them (``share_lease``): then a batch is at most CLAIM_AHEAD_S of this daemon's pace, so that
    a daemon holding a third of the rate does not hold minutes of rows while the others, their
    share unused, find nothing queued (the end of an alert would go at a third of the rate)."""
    affordable = (
        min(pace(g.limits) for g in gateways)
        * settings.lease_s
        * LEASE_SHARE
        / settings.concurrency
    )
    if parts is not None:
        shared = [
            pace(g.limits) * parts.get(g.name, 1.0) * CLAIM_AHEAD_S
            for g in gateways
            if g.limits.rate > 0 and parts.get(g.name, 1.0) > 0
        ]
        if shared:
            affordable = min(affordable, *shared)
    return max(1, min(settings.batch, int(affordable)))


def choose(
    gateways: Sequence[Gateway], attempts: int, per_gateway: int, avoid: str | None = None
) -> Gateway | None:
    """The gateway for this attempt: by priority, moving on every ``per_gateway`` attempts,
    skipping open circuits, and ``avoid`` (the gateway that lost this delivery) unless it is the
    only one left; None when every circuit is open."""
    tier = choose_tier(gateways, attempts, per_gateway, avoid)
    return tier[0] if tier else None


def _by_priority(claimed: outbox.Claimed) -> int:
    return claimed.priority


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        gateways: Sequence[Gateway],
        *,
        worker: str,
        settings: DispatchSettings | None = None,
        seed: int | None = None,
        priorities: Mapping[str, int] | None = None,
        weights: Mapping[str, float] | None = None,
        parts: Callable[[], Mapping[str, float]] | None = None,
    ) -> None:
        """``priorities`` (gateway name -> priority, lower first) makes tiers of the gateways of
        the same priority, over which first attempts are spread; without it each gateway is a
        tier of its own, in the given order. ``weights``: a gateway's share (default 1).
        ``parts()``: this daemon's share of each shared gateway's contract now (0: none, other
        daemons hold it all: nothing goes to it; see ``share_lease``), read at each claim."""
        if not gateways:
            raise ValueError("the dispatcher needs at least one gateway")
        self.pool = pool
        self.gateways = list(gateways)
        self.worker = worker
        self.settings = settings or DispatchSettings()
        self.priorities = priorities
        self.lanes = {g.name: Lane(g, (weights or {}).get(g.name, 1.0)) for g in self.gateways}
        self._rng = random.Random(seed)  # noqa: S311 - jitter, not secrets
        self.claim_size = claim_size(self.settings, self.gateways)
        self.parts = parts

    def _with_share(self) -> list[Gateway]:
        if self.parts is None:
            return self.gateways
        parts = self.parts()
        return [g for g in self.gateways if parts.get(g.name, 1.0) > 0]

    def _claim_size(self) -> int:
        if self.parts is None:
            return self.claim_size
        return claim_size(self.settings, self.gateways, self.parts())

    async def step(self) -> int:
        """Claim one batch and dispatch it; returns how many deliveries were claimed (none
        while this daemon has no share of any gateway: the others send them)."""
        if not self._with_share():
            return 0
        claimed = await outbox.claim(
            self.pool, self._claim_size(), self.settings.lease_s, self.worker
        )
        if not claimed:
            return 0
        claimed.sort(key=_by_priority)  # life-safety first to the gateways (a stable sort)
        token = claimed[0].token
        now = datetime.now(UTC)
        expired = {c.id for c in claimed if c.expires_at is not None and c.expires_at <= now}
        if expired:
            await outbox.expire(self.pool, token, list(expired))
        live = [c for c in claimed if c.id not in expired] if expired else claimed
        routed = self._route(live)
        pending = {c.id for c in live}
        done = asyncio.Event()
        heartbeat = asyncio.create_task(self._keep_leases(token, pending, done))
        try:
            async with pipeline.task_group() as group:
                for gateway, rows in routed.items():
                    group.create_task(self._send(gateway, rows, token, pending))
        finally:
            done.set()
            await heartbeat
        return len(claimed)

    def _route(self, live: Sequence[outbox.Claimed]) -> dict[Gateway | None, list[outbox.Claimed]]:
        """Each row to its attempt's tier, then spread over the tier by free capacity."""
        per = self.settings.retries_per_gateway
        by_tier: dict[tuple[int, str | None], list[outbox.Claimed]] = {}
        for c in live:
            by_tier.setdefault(((c.attempts - 1) // per, c.rerouted_from), []).append(c)
        routed: dict[Gateway | None, list[outbox.Claimed]] = {}
        for (stage, avoid), rows in by_tier.items():
            usable = self._with_share() or self.gateways
            tier = choose_tier(usable, stage * per + 1, per, avoid, self.priorities)
            if not tier:
                routed.setdefault(None, []).extend(rows)
                continue
            lanes = [self.lanes[g.name] for g in tier]
            counts = shares(
                len(rows),
                [pace(g.limits) * ln.weight for g, ln in zip(tier, lanes, strict=True)],
                [ln.backlog for ln in lanes],
            )
            first = 0
            for gateway, count in zip(tier, counts, strict=True):
                if count:
                    routed.setdefault(gateway, []).extend(rows[first : first + count])
                    first += count
        return routed

    async def _send(
        self,
        gateway: Gateway | None,
        rows: list[outbox.Claimed],
        token: int,
        pending: set[int],
    ) -> None:
        """One gateway's share of the batch through its pipeline; what it and the gateway log
        names the gateway (one task per gateway)."""
        name = "none" if gateway is None else gateway.name
        lane = None if gateway is None else self.lanes[gateway.name]
        with structlog.contextvars.bound_contextvars(gateway=name):
            batch = Batch(
                self.pool,
                self.worker,
                token,
                self.settings.lease_s,
                rows,
                Recorder(self.pool, token, name, pending, lane.credits if lane else None),
                self._with_backoff,
            )
            if lane is None:
                await pipeline.nowhere(batch, "every gateway's circuit is open")
            else:
                await pipeline.send(lane, batch)

    async def _keep_leases(self, token: int, pending: set[int], done: asyncio.Event) -> None:
        """The heartbeat of one claimed batch: every third of the lease, renew the lease of its
        rows not recorded yet (those at a gateway included, however slow it is)."""
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.settings.lease_s * RENEW_SHARE)
                return
            try:
                await outbox.renew(self.pool, token, sorted(pending), self.settings.lease_s)
            except DATABASE_FAILED as exc:  # the next beat tries again
                log.warning("dispatch.lease_not_renewed", error=str(exc))

    def _with_backoff(
        self, result: SubmitResult, attempts: int, failing_over: bool
    ) -> SubmitResult:
        # In doubt (life-safety: sent again) waits its back-off too: a provider slower than the
        # timeout would otherwise get a copy more at each round.
        if result.outcome not in (Outcome.RETRY, Outcome.IN_DOUBT):
            return result
        asked = 0.0 if failing_over else result.retry_after or 0.0
        wait = max(asked, backoff(attempts, self.settings, self._rng))
        return replace(result, retry_after=wait)

    async def drain(self, stop: asyncio.Event | None = None) -> int:
        """Steps until nothing is claimable now (or ``stop`` is set); returns how many were
        claimed in all."""
        stop = stop or asyncio.Event()
        # A TaskGroup, not gather: a batch that dies cancels the others and its error is raised,
        # rather than leaving them running unobserved.
        async with pipeline.task_group() as group:
            runs = [
                group.create_task(self._drain_one(stop)) for _ in range(self.settings.concurrency)
            ]
        return sum(r.result() for r in runs)

    async def _drain_one(self, stop: asyncio.Event) -> int:
        total = 0
        while not stop.is_set() and (claimed := await self.step()):
            total += claimed
        return total

    async def apply(self, receipts: Sequence[Receipt]) -> int:
        """Apply receipts; returns how many matched a delivery."""
        return len(receipts) - len(await outbox.apply_receipts(self.pool, receipts))

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and send until ``stop`` is set; reclaim expired leases as it goes, and reroute
        the life-safety deliveries left without a receipt."""
        swept = -math.inf
        while not stop.is_set():
            await outbox.reclaim_expired(self.pool)
            if time.monotonic() - swept >= self.settings.sweep_s:
                swept = time.monotonic()
                await self._reroute_silent()
            if not await self.drain(stop):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.idle_s)

    async def _reroute_silent(self) -> None:
        if not self.settings.receipt_timeout_s:
            return
        if rerouted := await outbox.reroute_silent(self.pool, self.settings.receipt_timeout_s):
            log.warning("dispatch.rerouted_silent", deliveries=rerouted)
