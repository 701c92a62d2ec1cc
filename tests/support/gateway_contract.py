"""What every gateway adapter must do, whatever it talks to. Each adapter's test module
subclasses GatewayContract and provides the ``gateway`` fixture (started, on loopback) and the
``inject_inbound`` helper for its peer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateways import events
from gateways.base import Event, Gateway, Inbound, Message, Outcome, Receipt, ReceiptStatus

GOOD = "+33612345678"
UNALLOCATED = "+33699999999"  # every peer used in tests rejects this one for good


async def next_events(gateway: Gateway, count: int, within: float = 10.0) -> list[Event]:
    """The next events, read as the daemon does: each is settled as stored once read, which is
    when the adapter acknowledges it to the provider."""
    found: list[Event] = []

    async def collect() -> None:
        async for event in gateway.events():
            found.append(event)
            events.settle(event, True)
            if len(found) == count:
                return

    await asyncio.wait_for(collect(), within)
    return found


class GatewayContract:
    @pytest.fixture
    async def gateway(self) -> AsyncIterator[Gateway]:
        raise NotImplementedError
        yield  # noqa: PT022 - the adapters' fixtures override this one and tear down

    async def inject_inbound(self, gateway: Gateway, sender: str, text: str) -> None:
        raise NotImplementedError

    async def test_implements_the_protocol(self, gateway: Gateway) -> None:
        assert isinstance(gateway, Gateway)
        assert gateway.name
        assert gateway.limits.window >= 1
        assert gateway.health() == "closed"

    async def test_one_result_per_message_in_order(self, gateway: Gateway) -> None:
        batch = [Message(f"d{i}", f"+3361234{i:04d}", f"Test {i}", 1) for i in range(20)]
        results = await gateway.submit(batch)
        assert [r.ref for r in results] == [m.ref for m in batch]
        assert {r.outcome for r in results} == {Outcome.ACCEPTED}
        ids = [r.message_id for r in results]
        assert all(ids) and len(set(ids)) == 20

    async def test_unallocated_number_is_rejected_for_good(self, gateway: Gateway) -> None:
        [result] = await gateway.submit([Message("d1", UNALLOCATED, "Test", 1)])
        assert result.outcome is Outcome.REJECTED
        assert result.reason

    async def test_accepted_message_gets_a_receipt(self, gateway: Gateway) -> None:
        [result] = await gateway.submit([Message("d1", GOOD, "Test", 1)])
        [event] = await next_events(gateway, 1)
        assert isinstance(event, Receipt)
        assert (event.message_id, event.status) == (result.message_id, ReceiptStatus.DELIVERED)

    async def test_inbound_message_arrives(self, gateway: Gateway) -> None:
        # The provider is answered once the message is stored: injecting it ends after reading.
        injecting = asyncio.create_task(self.inject_inbound(gateway, GOOD, "STOP"))
        [event] = await next_events(gateway, 1)
        await asyncio.wait_for(injecting, 10)
        assert isinstance(event, Inbound)
        assert (event.sender, event.text) == (GOOD, "STOP")

    async def test_long_message_counts_its_segments(self, gateway: Gateway) -> None:
        text = "Alerte submersion. " * 12  # 228 characters: two segments
        [result] = await gateway.submit([Message("d1", GOOD, text, 2)])
        assert result.outcome is Outcome.ACCEPTED
