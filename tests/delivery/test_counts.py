"""The progress counters the triggers keep are exact: after retries, rejections, failed
receipts and reroutes, a reclaimed lease, cancellation and an erasure, they equal a count of the
deliveries themselves."""

from __future__ import annotations

import asyncpg

from alertd.delivery import outbox
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from gateways.base import Receipt
from gateways.fake import FakeGateway
from tests.support.seed import seed_alert

NOW = DispatchSettings(backoff_base_s=0, backoff_max_s=0)
COUNTED = (
    "SELECT alert_id, status, in_doubt, rerouted_from IS NOT NULL AS rerouted, count(*) AS n "
    "FROM deliveries GROUP BY 1, 2, 3, 4"
)
KEPT = (
    "SELECT alert_id, status, in_doubt, rerouted, sum(n) AS n FROM delivery_counts "
    "GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0"
)


async def _same(pool: asyncpg.Pool) -> None:
    counted = {tuple(r) for r in await pool.fetch(COUNTED)}
    kept = {tuple(r) for r in await pool.fetch(KEPT)}
    assert kept == counted


async def test_counters_follow_every_path(loaded: asyncpg.Pool) -> None:
    alert_id = await seed_alert(loaded, 200)
    await _same(loaded)
    lost = frozenset({"+33730000003", "+33730000004"})
    flaky = FakeGateway(
        "flaky",
        error_rate=0.2,
        reject_numbers=frozenset({"+33730000001"}),
        fail_numbers=lost,
        seed=5,
    )
    flaky.breaker.threshold = 10_000
    backup = FakeGateway("backup")
    dispatcher = Dispatcher(loaded, [flaky, backup], worker="w1", settings=NOW)
    await dispatcher.drain()
    await _same(loaded)
    receipts: list[Receipt] = []
    async for event in flaky.events():
        assert isinstance(event, Receipt)
        receipts.append(event)
        if len(receipts) == len(flaky.received):
            break
    await dispatcher.apply(receipts)  # two failed receipts: rerouted
    await _same(loaded)
    claimed = await outbox.claim(loaded, 50, 0, "died")  # a daemon that dies at once
    handed = [c.id for c in claimed[:10]]
    await outbox.handover(loaded, "died", claimed[0].token, handed, lease_s=0, renew=handed)
    await outbox.reclaim_expired(loaded)
    await _same(loaded)
    await loaded.execute(
        "UPDATE deliveries SET status = 'cancelled' WHERE alert_id = $1 AND status = 'queued'",
        alert_id,
    )
    await loaded.execute("DELETE FROM subscribers WHERE phone = '+33730000002'")  # erasure
    await _same(loaded)
    counts = await outbox.progress(loaded, alert_id)
    assert sum(v for k, v in counts.items() if k not in ("in_doubt", "rerouted")) == 199
