"""Log context is bound where work begins (structlog contextvars), not passed down by hand: every
line a gateway's task logs names the gateway, every line of a daemon names its worker."""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from alertd.delivery import consumer
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from gateways.fake import FakeGateway
from templates import Catalog
from tests.support.seed import seed_alert


async def test_each_gateway_task_logs_under_its_gateway(loaded: asyncpg.Pool) -> None:
    await seed_alert(loaded, 40)
    gateways = [FakeGateway("primary", error_rate=1.0, receipts=False), FakeGateway("backup")]
    gateways[0].breaker.threshold = 10_000  # every attempt goes back to the primary
    settings = DispatchSettings(backoff_base_s=0.0, backoff_max_s=0.0, retries_per_gateway=1)
    dispatcher = Dispatcher(loaded, gateways, worker="w1", settings=settings)
    with capture_logs(processors=[merge_contextvars]) as logs:
        await dispatcher.step()
        await loaded.execute("UPDATE deliveries SET next_attempt_at = now()")
        await dispatcher.step()
    batches = [e for e in logs if e["event"] == "dispatch.batch"]
    assert {e["gateway"] for e in batches} == {"primary", "backup"}
    assert {e["gateway"] for e in batches if e["requeued"]} == {"primary"}
    assert structlog.contextvars.get_contextvars() == {}  # nothing leaks out of the tasks


async def test_the_events_task_logs_under_its_gateway(loaded: asyncpg.Pool) -> None:
    await seed_alert(loaded, 1, enqueue=False)
    fake = FakeGateway("sms-ovh")
    with capture_logs(processors=[merge_contextvars]) as logs:
        consuming = asyncio.create_task(consumer.consume(loaded, fake, Catalog()))
        fake.inject_inbound("+33730000001", "Merci")
        await fake.close()
        await asyncio.wait_for(consuming, 10)
    handled = [e for e in logs if e["event"] == "inbound.handled"]
    assert [(e["gateway"], e["kind"]) for e in handled] == [("sms-ovh", "reply")]
