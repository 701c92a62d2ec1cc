"""The dispatch loop: claimed deliveries to gateways, results and receipts back to the outbox.

One ``step`` claims a batch (life-safety first), stops what has expired, hands the rest to the
gateway its attempt number points at (failover: after ``retries_per_gateway`` attempts a delivery
moves to the next gateway by priority, skipping gateways whose circuit breaker is open), and
records each gateway's results with one statement. Temporary failures come back later with
exponential back-off and jitter; permanent ones fail at once with the gateway's reason; results in
doubt (the gateway may have sent them) follow the severity's policy in the record statement.

Leases: each claim has its token. A heartbeat renews, every third of the lease, the lease of the
claim's rows not recorded yet, so a live daemon keeps what it is sending however slow its gateway;
each chunk's hand-over also renews its rows if less than half their lease is left, and sends only
the rows the claim still holds: rows it lost (the daemon stalled past its lease and they were
given back) are not sent by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import asyncpg
import structlog

from alertd.delivery import outbox
from alertd.logs import get_logger
from gateways.base import Gateway, Message, Outcome, Receipt, SubmitResult
from templates import segments

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


SEGMENTS_PER_MESSAGE = 2  # what the alert templates allow; rates are in segments
LEASE_SHARE = 0.5  # of the lease a claimed batch may take to send
ASSUMED_ROUND_TRIP_S = 0.25  # of one HTTP request or submit_sm, for a gateway without a rate
RENEW_SHARE = 1 / 3  # of the lease between two heartbeats renewing a claim's lease


def backoff(attempts: int, settings: DispatchSettings, rng: random.Random) -> float:
    """Seconds before the next attempt: exponential, capped, with full jitter on the upper half."""
    ceiling = min(settings.backoff_max_s, settings.backoff_base_s * 2.0 ** max(0, attempts - 1))
    return float(ceiling / 2 + rng.random() * ceiling / 2)


def claim_size(settings: DispatchSettings, gateways: Sequence[Gateway]) -> int:
    """How many deliveries to claim at once: the configured batch, but never more than the
    slowest gateway can send well within the lease while the other batches in flight share it:
    at its rate (in segments) or, without one, its window per assumed round trip. The heartbeat
    keeps a live daemon's lease whatever happens, so this is not what makes it safe: it keeps
    the heartbeat idle in the usual case (a claim renewed over and over costs writes) and the
    rows of a daemon that died waiting no longer than a lease."""
    paces = [
        min(
            g.limits.window / ASSUMED_ROUND_TRIP_S,
            g.limits.rate / SEGMENTS_PER_MESSAGE if g.limits.rate > 0 else math.inf,
        )
        for g in gateways
    ]
    affordable = min(paces) * settings.lease_s * LEASE_SHARE / settings.concurrency
    return max(1, min(settings.batch, int(affordable)))


def choose(
    gateways: Sequence[Gateway], attempts: int, per_gateway: int, avoid: str | None = None
) -> Gateway | None:
    """The gateway for this attempt: by priority, moving on every ``per_gateway`` attempts,
    skipping open circuits, and ``avoid`` (the gateway that lost this delivery) unless it is the
    only one left; None when every circuit is open."""
    usable = [g for g in gateways if g.health() != "open"]
    usable = [g for g in usable if g.name != avoid] or usable
    if not usable:
        return None
    return usable[((attempts - 1) // per_gateway) % len(usable)]


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        gateways: Sequence[Gateway],
        *,
        worker: str,
        settings: DispatchSettings | None = None,
        seed: int | None = None,
    ) -> None:
        if not gateways:
            raise ValueError("the dispatcher needs at least one gateway")
        self.pool = pool
        self.gateways = list(gateways)
        self.worker = worker
        self.settings = settings or DispatchSettings()
        self._rng = random.Random(seed)  # noqa: S311 - jitter, not secrets
        self.claim_size = claim_size(self.settings, self.gateways)

    async def step(self) -> int:
        """Claim one batch and dispatch it; returns how many deliveries were claimed."""
        claimed = await outbox.claim(self.pool, self.claim_size, self.settings.lease_s, self.worker)
        if not claimed:
            return 0
        token = claimed[0].token
        now = datetime.now(UTC)
        expired = [c.id for c in claimed if c.expires_at is not None and c.expires_at <= now]
        if expired:
            await outbox.expire(self.pool, token, expired)
        live = [c for c in claimed if c.id not in set(expired)]
        by_gateway: dict[Gateway | None, list[outbox.Claimed]] = defaultdict(list)
        for delivery in live:
            gateway = choose(
                self.gateways,
                delivery.attempts,
                self.settings.retries_per_gateway,
                delivery.rerouted_from,
            )
            by_gateway[gateway].append(delivery)
        await asyncio.gather(
            *(self._send_in_chunks(g, batch, token) for g, batch in by_gateway.items())
        )
        return len(claimed)

    async def _send_in_chunks(
        self, gateway: Gateway | None, batch: list[outbox.Claimed], token: int
    ) -> None:
        """Record after every chunk: what a crash can leave accepted but unrecorded (in doubt)
        is bounded by the gateway's window, shared by the batches in flight. While this runs,
        a heartbeat renews the lease of the rows not recorded yet."""
        size = (
            len(batch)
            if gateway is None
            else max(1, gateway.limits.window // self.settings.concurrency)
        )
        pending = {c.id for c in batch}
        done = asyncio.Event()
        heartbeat = asyncio.create_task(self._keep_leases(token, pending, done))
        try:
            # One task per gateway (gathered by step): what it and the gateway log names it.
            with structlog.contextvars.bound_contextvars(
                gateway="none" if gateway is None else gateway.name
            ):
                for first in range(0, len(batch), size):
                    chunk = batch[first : first + size]
                    await self._send(gateway, chunk, token)
                    pending.difference_update(c.id for c in chunk)
        finally:
            done.set()
            await heartbeat

    async def _keep_leases(self, token: int, pending: set[int], done: asyncio.Event) -> None:
        """The heartbeat of one claimed batch: every third of the lease, renew the lease of its
        rows not recorded yet (those at a gateway included, however slow it is)."""
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.settings.lease_s * RENEW_SHARE)
                return
            try:
                await outbox.renew(self.pool, token, sorted(pending), self.settings.lease_s)
            except (asyncpg.PostgresError, OSError) as exc:  # the next beat tries again
                log.warning("dispatch.lease_not_renewed", error=str(exc))

    async def _send(self, gateway: Gateway | None, batch: list[outbox.Claimed], token: int) -> None:
        if gateway is None:  # every circuit open: try again later, through whichever recovers
            results = [
                SubmitResult.retry(str(c.id), "every gateway's circuit is open", 0) for c in batch
            ]
            name, handed = "none", None
        else:
            handover = await outbox.handover(
                self.pool,
                self.worker,
                token,
                [c.id for c in batch],
                lease_s=self.settings.lease_s,
            )
            if len(handover.held) < len(batch):
                log.warning("dispatch.lease_lost", deliveries=len(batch) - len(handover.held))
                batch = [c for c in batch if c.id in handover.held]
                if not batch:
                    return
            messages = [
                Message(
                    str(c.id),
                    c.phone,
                    c.text or "",
                    segments(c.text or ""),
                    expires_at=c.expires_at,
                    urgent=c.priority == outbox.LIFE_SAFETY,
                )
                for c in batch
            ]
            handed = handover.id
            results = await gateway.submit(messages)
            name = gateway.name
        attempts = {str(c.id): c.attempts for c in batch}
        # A gateway whose circuit just opened will not be used next: its retry-after is moot.
        failing_over = gateway is None or gateway.health() == "open"
        results = [self._with_backoff(r, attempts[r.ref], failing_over) for r in results]
        recorded = await outbox.record(
            self.pool, token, name, results, handed, attempts=[attempts[r.ref] for r in results]
        )
        if recorded.in_doubt:
            log.warning("dispatch.in_doubt", deliveries=recorded.in_doubt)
        log.debug(
            "dispatch.batch",
            submitted=recorded.submitted,
            failed=recorded.failed,
            requeued=recorded.requeued,
            in_doubt=recorded.in_doubt,
        )

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
        counts = await asyncio.gather(
            *(self._drain_one(stop) for _ in range(self.settings.concurrency))
        )
        return sum(counts)

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
