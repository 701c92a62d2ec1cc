"""The dispatcher and the receipt consumer feed the Prometheus counters as they work."""

from __future__ import annotations

import asyncio

import asyncpg

from alertd.delivery import consumer
from alertd.delivery.dispatch import Dispatcher
from alertd.delivery.metrics import REGISTRY
from gateways.fake import FakeGateway
from templates import Catalog
from tests.support.seed import seed_alert


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_submissions_and_receipts_are_counted_by_gateway_and_outcome(
    loaded: asyncpg.Pool,
) -> None:
    alert_id = await seed_alert(loaded, 30)
    gateway = FakeGateway("metered", fail_numbers={"+33730000001"})
    before = sample("alertd_gateway_submit_seconds_count", gateway="metered")
    consuming = asyncio.create_task(consumer.consume(loaded, gateway, Catalog()))
    try:
        assert await Dispatcher(loaded, [gateway], worker="host:1").drain() == 30

        async def received() -> None:
            while await loaded.fetchval(  # noqa: ASYNC110 - another task's progress
                "SELECT count(*) FROM deliveries WHERE alert_id = $1 AND status = 'submitted'",
                alert_id,
            ):
                await asyncio.sleep(0.02)

        await asyncio.wait_for(received(), 10)
    finally:
        await gateway.close()
        await asyncio.wait_for(consuming, 10)
    total = "alertd_gateway_submissions_total"
    assert sample(total, gateway="metered", outcome="accepted") == 30
    assert sample("alertd_gateway_submit_seconds_count", gateway="metered") > before
    receipts = "alertd_gateway_receipts_total"
    assert sample(receipts, gateway="metered", status="delivered") == 29
    assert sample(receipts, gateway="metered", status="failed") == 1
