"""The dispatch pipeline: every gateway's window kept full, answers recorded as they come back,
and a batch that dies takes the others down with it instead of leaving them unobserved."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import pytest

from alertd.delivery import outbox
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from alertd.delivery.pipeline import Batch, Credits, Recorder, send
from gateways.base import Message, SubmitResult
from gateways.fake import FakeGateway
from tests.support.seed import seed_alert


async def submitted(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'submitted'"))


async def test_one_batch_keeps_the_gateway_window_full(loaded: asyncpg.Pool) -> None:
    await seed_alert(loaded, 300)
    smsc = FakeGateway("smsc", latency=0.02, window=30, receipts=False)
    dispatcher = Dispatcher(loaded, [smsc], worker="w1")
    assert await dispatcher.step() == 300  # one claim: no other batch to fill the gaps
    # Chunk-and-wait (a third of the window, each awaited) never had more than 10 out at once.
    assert smsc.most_in_flight == 30
    assert len({m.to for m in smsc.received}) == len(smsc.received) == 300
    assert await submitted(loaded) == 300
    assert await loaded.fetchval("SELECT count(*) FROM handovers") == 0  # all closed


class HoldsTheFirst(FakeGateway):
    """Answers at once, except the first message it is given, held until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__("holds", window=64, receipts=False)
        self.release = asyncio.Event()
        self.held: str | None = None

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        if self.held is None:
            self.held = messages[0].to
            await self.release.wait()
        return await super().submit(messages)


async def test_answers_are_recorded_as_they_return_not_after_the_slowest(
    loaded: asyncpg.Pool,
) -> None:
    await seed_alert(loaded, 300)
    gateway = HoldsTheFirst()
    step = asyncio.create_task(Dispatcher(loaded, [gateway], worker="w1").step())
    # While the first submission is held, the rest go and are recorded (at most the held call's
    # own eighth of the window waits with it); chunk-and-wait recorded nothing meanwhile.
    for _ in range(1000):
        if await submitted(loaded) >= 300 - 64 // 8:
            break
        assert not step.done()
        await asyncio.sleep(0.01)  # another task's progress, bounded by the loop
    assert await submitted(loaded) >= 292
    assert not step.done()
    gateway.release.set()
    assert await step == 300
    assert await submitted(loaded) == 300


class DiesOnce(FakeGateway):
    """The first call raises (a bug in an adapter) once a second call is at the gateway; the
    second call hangs until it is cancelled."""

    def __init__(self) -> None:
        super().__init__("dies", receipts=False)
        self.calls = 0
        self.second_in = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        self.calls += 1
        if self.calls == 1:
            await self.second_in.wait()
            raise RuntimeError("an adapter bug")
        self.second_in.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return []


async def test_a_batch_that_dies_cancels_the_others_and_raises_its_own_error(
    loaded: asyncpg.Pool,
) -> None:
    await seed_alert(loaded, 20)
    gateway = DiesOnce()
    settings = DispatchSettings(batch=10, concurrency=2)
    dispatcher = Dispatcher(loaded, [gateway], worker="w1", settings=settings)
    # The error itself, not an ExceptionGroup: the supervisor tells a lost database by its class.
    with pytest.raises(RuntimeError, match="an adapter bug"):
        await dispatcher.drain()
    assert gateway.cancelled.is_set()  # gather left the other batch hanging, unobserved
    assert await submitted(loaded) == 0


async def test_credits_are_taken_several_at_once_and_wait_when_none_is_free() -> None:
    credits = Credits(5)
    assert await credits.take(3) == 3
    assert await credits.take(10) == 2
    waiting = asyncio.create_task(credits.take(4))
    await asyncio.sleep(0)
    assert not waiting.done()
    credits.give(1)
    assert await waiting == 1
    credits.give(4)
    assert credits.free == 4


async def test_rows_lost_before_their_hand_over_are_not_sent(loaded: asyncpg.Pool) -> None:
    await seed_alert(loaded, 30)
    smsc = FakeGateway("smsc", window=10, receipts=False)
    dispatcher = Dispatcher(loaded, [smsc], worker="w1")
    claimed = await outbox.claim(loaded, 30, 60, "w1")
    await loaded.execute(  # ten of them were given back and taken by another claim meanwhile
        "UPDATE deliveries SET claim_token = claim_token + 1000 WHERE id = ANY($1::bigint[])",
        [c.id for c in claimed[:10]],
    )
    lane = dispatcher.lanes["smsc"]
    recorder = Recorder(loaded, claimed[0].token, "smsc", credits=lane.credits)
    await send(lane, Batch(loaded, "w1", claimed[0].token, 60, claimed, recorder, _as_is))
    assert {m.to for m in smsc.received} == {c.phone for c in claimed[10:]}
    assert (lane.credits.free, lane.backlog) == (10, 0)  # every slot came back


def _as_is(result: SubmitResult, attempts: int, failing_over: bool) -> SubmitResult:
    return result


class Watches(FakeGateway):
    """Counts, at each call, the rows handed over and not recorded yet: what a crash now would
    leave in doubt."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__("watched", latency=0.01, window=24, receipts=False)
        self.pool = pool
        self.exposed: list[int] = []

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        self.exposed.append(
            await self.pool.fetchval(
                "SELECT count(*) FROM deliveries WHERE status = 'sending'"
                " AND id IN (SELECT unnest(delivery_ids) FROM handovers)"
            )
        )
        return await super().submit(messages)


async def test_a_crash_would_leave_at_most_one_window_in_doubt(loaded: asyncpg.Pool) -> None:
    await seed_alert(loaded, 600)
    gateway = Watches(loaded)
    assert await Dispatcher(loaded, [gateway], worker="w1").drain() == 600
    assert max(gateway.exposed) <= 24  # handed over, not recorded: never more than the window
    assert gateway.most_in_flight == 24  # and the window full all the same
