"""Issue 12, case 4: a provider slower than the HTTP timeout. The request left, the provider sent
the SMS and answered too late: the result is in doubt, counted, and handled by the severity's
policy (life-safety sent again, information not). The provider's own log is the witness."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from alertd.delivery import outbox, progress
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from gateways.base import Message, Outcome
from gateways.breaker import CircuitBreaker
from gateways.fake_provider import FakeProvider, serve
from gateways.http_twilio import TwilioGateway
from tests.support.seed import seed_alert

ACCOUNT, TOKEN = "AC" + "2" * 32, "slow-provider-token"
NOW = DispatchSettings(backoff_base_s=0.0, backoff_max_s=0.0, concurrency=1)


def twilio(base_url: str) -> TwilioGateway:
    return TwilioGateway(
        "twilio",
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        from_number="+33700000001",
        base_url=base_url,
        timeout=0.3,
        breaker=CircuitBreaker(threshold=1000),
    )


@asynccontextmanager
async def slow_provider(tmp_path: Path) -> AsyncIterator[tuple[FakeProvider, TwilioGateway]]:
    provider = FakeProvider(tmp_path / "sent.jsonl", ACCOUNT, TOKEN, mode="slow", delay=30)
    runner, port = await serve(provider)
    gateway = twilio(f"http://127.0.0.1:{port}")
    await gateway.start()
    try:
        yield provider, gateway
    finally:
        await gateway.close()
        provider.set_mode("ok")
        await runner.cleanup()


def copies(provider: FakeProvider) -> dict[str, int]:
    sent: dict[str, int] = {}
    for line in provider.accepted:
        sent[line["to"]] = sent.get(line["to"], 0) + 1
    return sent


async def test_life_safety_in_doubt_is_sent_again_and_counted(
    loaded: asyncpg.Pool, tmp_path: Path
) -> None:
    alert_id = await seed_alert(loaded, 3)
    async with slow_provider(tmp_path) as (provider, gateway):
        dispatcher = Dispatcher(loaded, [gateway], worker="host:1", settings=NOW)
        assert await dispatcher.step() == 3  # sent by the provider, answered too late
        counts = await outbox.progress(loaded, alert_id)
        assert (counts["queued"], counts["in_doubt"]) == (3, 3)
        provider.set_mode("ok")
        assert await dispatcher.drain() == 3
    assert sorted(copies(provider).values()) == [2, 2, 2]
    counts = await outbox.progress(loaded, alert_id)
    extra = len(provider.accepted) - 3
    assert (counts["submitted"], counts["in_doubt"]) == (3, extra)
    assert f"in doubt {extra}" in progress.line(progress.from_counts(counts))


async def test_information_in_doubt_is_counted_and_not_sent_again(
    loaded: asyncpg.Pool, tmp_path: Path
) -> None:
    alert_id = await seed_alert(loaded, 3, hazard="waste", priority=outbox.INFORMATION)
    async with slow_provider(tmp_path) as (provider, gateway):
        dispatcher = Dispatcher(loaded, [gateway], worker="host:1", settings=NOW)
        assert await dispatcher.step() == 3
        provider.set_mode("ok")
        assert await dispatcher.drain() == 0  # nothing left to send
    assert sorted(copies(provider).values()) == [1, 1, 1]
    counts = await outbox.progress(loaded, alert_id)
    assert (counts["submitted"], counts["in_doubt"]) == (3, 3)
    error = await loaded.fetchval("SELECT DISTINCT error FROM deliveries")
    assert "in doubt, not sent again (information)" in error


async def test_a_refused_connection_is_not_in_doubt() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = twilio(f"http://127.0.0.1:{port}")
    await gateway.start()
    try:
        [result] = await gateway.submit([Message("d1", "+33612345678", "Alerte", 1)])
    finally:
        await gateway.close()
    assert result.outcome is Outcome.RETRY
