"""One claimed batch through one gateway: its window kept full, results recorded as they return.

The dispatcher holds, per gateway, as many credits as the gateway's window, shared by every batch
in flight. The feeder takes whatever credits are free (at least one, at most half the window),
hands those rows over (one statement: only the rows the claim still holds are sent) and gives
them to the gateway, in submit calls of an eighth of the window, without waiting for what is
already there; the credits come back as each call's answers are recorded, so the next rows leave
as soon as slots free up, not when a chunk is done.
Results are recorded by group commit: the first answer back while no record is running records
everything that has come back, in one statement, and whatever returns meanwhile goes in the next
one. So the database sees a few statements per window, and a crash leaves in doubt at most one
window: a credit is held from the hand-over of its row until the row's answer is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg

from alertd.delivery import metrics, outbox
from alertd.logs import get_logger
from gateways.base import Gateway, Message, SubmitResult
from templates import segments

log = get_logger(__name__)

HANDOVER_SHARE = 2  # a hand-over takes at most this share of the window (one statement)
SUBMIT_SHARE = 8  # each submit call this share: its answers come back (and free slots) together
# Applied to each result as it returns: (result, attempts, failing over) -> with its back-off.
Finish = Callable[[SubmitResult, int, bool], SubmitResult]


@contextlib.asynccontextmanager
async def task_group() -> AsyncIterator[asyncio.TaskGroup]:
    """An ``asyncio.TaskGroup`` (a task that dies cancels the others, none is left running
    unobserved) whose failure raises its first error itself, not an ExceptionGroup: the
    supervisor tells a lost database from a bug by the error's class."""
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failed:
        raise _first(failed) from None


def _first(group: BaseExceptionGroup) -> BaseException:
    error = group.exceptions[0]
    return _first(error) if isinstance(error, BaseExceptionGroup) else error


class Credits:
    """The free slots of one gateway's window, on the dispatcher's side; taken several at once."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.free = self.size
        self._waiters: list[asyncio.Future[None]] = []

    async def take(self, most: int) -> int:
        """Wait until at least one slot is free; take up to ``most`` of those free."""
        while self.free <= 0:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        taken = min(most, self.free)
        self.free -= taken
        return taken

    def give(self, count: int) -> None:
        self.free += count
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:  # each takes what is free when it runs, or waits again
            if not waiter.done():
                waiter.set_result(None)


@dataclass(slots=True)
class Lane:
    """A gateway as the dispatcher drives it: its credits, its weight, and its backlog (rows
    given to it and not answered yet, across batches), which the spreading reads. A batch that
    fails may leave credits taken; its error ends the dispatcher, which the daemon builds anew."""

    gateway: Gateway
    weight: float = 1.0
    credits: Credits = field(init=False)
    backlog: int = 0

    def __post_init__(self) -> None:
        self.credits = Credits(self.gateway.limits.window)


class Recorder:
    """Group commit of one claim's results at one gateway (see the module docstring)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        token: int,
        gateway: str,
        pending: set[int] | None = None,
        credits: Credits | None = None,
    ) -> None:
        self.pool, self.token, self.gateway = pool, token, gateway
        self.pending = pending if pending is not None else set()
        self.credits = credits  # given back once what holds them is recorded
        self._held = 0
        self._results: list[SubmitResult] = []
        self._attempts: list[int] = []
        self._open: dict[int, int] = {}  # hand-over id -> its rows not answered yet
        self._closing: list[int] = []  # hand-overs whose rows are all in _results
        self._running = False

    def handed(self, handover: int | None, rows: int) -> None:
        if handover is not None:
            self._open[handover] = rows

    async def add(
        self,
        results: Sequence[SubmitResult],
        attempts: Sequence[int],
        handover: int | None,
        credits: int = 0,
    ) -> None:
        self._held += credits
        self._results.extend(results)
        self._attempts.extend(attempts)
        if handover is not None:
            left = self._open[handover] - len(results)
            if left:
                self._open[handover] = left
            else:
                del self._open[handover]
                self._closing.append(handover)
        if self._running:  # the record running now takes these next
            return
        self._running = True
        try:
            # Answers of the same turn of the loop (the other calls of a hand-over, often) go
            # in this record rather than the next one.
            await asyncio.sleep(0)
            while self._results:
                results, self._results = self._results, []
                attempts, self._attempts = self._attempts, []
                closing, self._closing = self._closing, []
                held, self._held = self._held, 0
                await self._record(results, attempts, closing)
                if self.credits is not None:
                    self.credits.give(held)
        finally:
            self._running = False

    async def _record(
        self, results: list[SubmitResult], attempts: list[int], handovers: list[int]
    ) -> None:
        recorded = await outbox.record(
            self.pool, self.token, self.gateway, results, handovers, attempts=attempts
        )
        self.pending.difference_update(int(r.ref) for r in results)
        if recorded.in_doubt:
            log.warning("dispatch.in_doubt", deliveries=recorded.in_doubt)
        log.debug(
            "dispatch.batch",
            submitted=recorded.submitted,
            failed=recorded.failed,
            requeued=recorded.requeued,
            in_doubt=recorded.in_doubt,
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """One claim's rows for one gateway, and what sending them needs."""

    pool: asyncpg.Pool
    worker: str
    token: int
    lease_s: float
    rows: Sequence[outbox.Claimed]
    recorder: Recorder
    finish: Finish


async def send(lane: Lane, batch: Batch) -> None:
    """Feed the rows to the gateway as its credits free up; returns once all are recorded."""
    unanswered = len(batch.rows)
    lane.backlog += unanswered
    most = max(1, lane.gateway.limits.window // HANDOVER_SHARE)
    piece = max(1, lane.gateway.limits.window // SUBMIT_SHARE)
    try:
        async with task_group() as group:
            first = 0
            while first < len(batch.rows):
                taken = await lane.credits.take(min(most, len(batch.rows) - first))
                chunk = batch.rows[first : first + taken]
                first += taken
                held, handover = await _hand_over(lane, batch, chunk)
                unanswered -= len(chunk) - len(held)
                lane.backlog -= len(chunk) - len(held)
                if held:
                    batch.recorder.handed(handover, len(held))
                    for part in range(0, len(held), piece):
                        rows = held[part : part + piece]
                        group.create_task(_submit(lane, batch, rows, handover))
                        unanswered -= len(rows)  # _submit takes them off the backlog
    finally:
        lane.backlog -= unanswered


async def _hand_over(
    lane: Lane, batch: Batch, chunk: Sequence[outbox.Claimed]
) -> tuple[list[outbox.Claimed], int | None]:
    """The rows of ``chunk`` still held (their credits kept) and the hand-over's id; the
    credits of the others come back at once."""
    try:
        handed = await outbox.handover(
            batch.pool, batch.worker, batch.token, [c.id for c in chunk], lease_s=batch.lease_s
        )
    except BaseException:
        lane.credits.give(len(chunk))
        raise
    held = list(chunk)
    if len(handed.held) < len(chunk):
        log.warning("dispatch.lease_lost", deliveries=len(chunk) - len(handed.held))
        held = [c for c in chunk if c.id in handed.held]
        lane.credits.give(len(chunk) - len(held))
        batch.recorder.pending.difference_update(c.id for c in chunk if c.id not in handed.held)
    return held, handed.id


async def _submit(
    lane: Lane, batch: Batch, rows: list[outbox.Claimed], handover: int | None
) -> None:
    started = time.monotonic()
    try:
        results = await lane.gateway.submit(messages(rows))
    except BaseException:
        lane.credits.give(len(rows))
        raise
    finally:
        lane.backlog -= len(rows)
    metrics.observe_submits(
        lane.gateway.name, (r.outcome for r in results), time.monotonic() - started
    )
    attempts = {str(c.id): c.attempts for c in rows}
    # A gateway whose circuit just opened will not be used next: its retry-after is moot.
    failing_over = lane.gateway.health() == "open"
    results = [batch.finish(r, attempts[r.ref], failing_over) for r in results]
    await batch.recorder.add(results, [attempts[r.ref] for r in results], handover, len(rows))


def messages(rows: Sequence[outbox.Claimed]) -> list[Message]:
    """The messages of these rows; a batch holds a few distinct texts, each counted once."""
    counted: dict[str, int] = {}
    out = []
    for c in rows:
        text = c.text or ""
        if (n := counted.get(text)) is None:
            n = counted[text] = segments(text)
        out.append(
            Message(
                str(c.id),
                c.phone,
                text,
                n,
                expires_at=c.expires_at,
                urgent=c.priority == outbox.LIFE_SAFETY,
            )
        )
    return out


async def nowhere(batch: Batch, reason: str) -> None:
    """Every circuit is open: the rows are given back, to go through whichever recovers."""
    results = [SubmitResult.retry(str(c.id), reason, 0) for c in batch.rows]
    results = [batch.finish(r, c.attempts, True) for r, c in zip(results, batch.rows, strict=True)]
    await batch.recorder.add(results, [c.attempts for c in batch.rows], None)
