"""Issue 13, case 2 (and 3 of the report): message ids in two bases, receipts known by
esm_class, by content (esm_class 0), by TLVs, in any data coding; a receipt that cannot be read
is stored and acknowledged, never refused for ever. Against the project's SMSC simulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateways.base import Inbound, Outcome, Receipt, ReceiptStatus
from gateways.smpp import bodies, ids
from tests.gateways.test_smpp_sim import msg, running, started, until
from tests.support.gateway_contract import next_events

CASES = [
    # SMSC: (submit_sm_resp, receipt text, receipted_message_id TLV), receipt form; our format
    (("hex", "dec", "dec"), "text", "auto"),
    (("dec", "hex", "dec"), "text", "auto"),
    (("HEX", "dec", "dec"), "text", "auto"),
    (("dec", "dec", "hex"), "tlv", "auto"),
    (("hex", "dec", "dec"), "text", "hex/dec"),
    (("dec", "HEX", "dec"), "text", "dec/hex"),
    (("hex", "hex", "hex"), "both", "hex"),
]


@pytest.mark.parametrize(("bases", "form", "fmt"), CASES)
async def test_receipts_match_whatever_base_the_smsc_writes_ids_in(
    bases: tuple[str, str, str], form: str, fmt: str
) -> None:
    resp, text, tlv = bases
    faults: dict[str, Any] = {"resp_id_base": resp, "receipt_id_base": text, "tlv_id_base": tlv}
    async with (
        running(receipts=True, receipt_form=form, **faults) as (_smsc, port),
        started(port, receipt_id_format=fmt) as g,
    ):
        results = await g.submit([msg(i) for i in range(7)])
        assert {r.outcome for r in results} == {Outcome.ACCEPTED}
        events = await next_events(g, 7)
        for event in events:
            assert isinstance(event, Receipt) and event.status is ReceiptStatus.DELIVERED
        submitted = {r.message_id for r in results}
        if fmt == "auto":  # the outbox takes the first form that names a message
            matched = {next(f for f in (e.message_id, *e.alternatives) if f in submitted)
                       for e in events if isinstance(e, Receipt)}  # fmt: skip
        else:  # explicit: one canonical form on both sides
            matched = {e.message_id for e in events if isinstance(e, Receipt)}
        assert matched == submitted  # 7 of 7 (it was 0 of 7)


def test_ids_forgive_case_and_leading_zeros() -> None:
    assert ids.submitted("00A1B2", "auto") == "a1b2"
    assert ids.received("a1b2", "auto")[0] == "a1b2"
    assert "a1b2" in ids.received("41394", "auto")  # 0xa1b2 in decimal
    assert ids.received("SIM-7", "auto") == ("SIM-7",)
    assert ids.submitted("1a2b3c00", "hex/dec") == ids.received("439041024", "hex/dec")[0]
    assert ids.received("Ab", "as_is") == ("Ab",)


@pytest.mark.parametrize(
    ("esm_class", "coding", "form"),
    [(0, 0x00, "text"), (0x04, 0x08, "text"), (0, 0x08, "text"), (0, 0x00, "tlv")],
)
async def test_receipts_are_known_by_content_tlvs_and_in_ucs2(
    esm_class: int, coding: int, form: str
) -> None:
    faults = {"receipt_esm_class": esm_class, "receipt_coding": coding, "receipt_form": form}
    async with running(receipts=True, **faults) as (smsc, port), started(port) as g:
        [result] = await g.submit([msg()])
        [event] = await next_events(g, 1)
        assert isinstance(event, Receipt), event  # not a resident's reply
        assert event.message_id == result.message_id
        await until(lambda: smsc.stats["receipts_acked"] == 1, "acknowledged")


async def test_an_unreadable_receipt_is_stored_as_inbound_and_acknowledged() -> None:
    async with running() as (smsc, port), started(port) as g:
        conn = smsc.conns[0]
        bad = bodies.ShortMessage(
            destination_addr="MAIRIE", source_addr="33612345678", source_addr_ton=1,
            esm_class=0x04, short_message=b"receipt: nonsense",
        )  # fmt: skip
        delivering = asyncio.create_task(smsc.deliver(conn, bad))
        [event] = await next_events(g, 1)
        assert isinstance(event, Inbound) and event.text == "receipt: nonsense"
        assert await delivering == 0  # ESME_ROK: not ESME_RSYSERR, redelivered for ever


async def test_a_resident_writing_id_and_stat_is_still_a_resident() -> None:
    async with running() as (smsc, port), started(port) as g:
        reply = bodies.ShortMessage(
            destination_addr="MAIRIE", source_addr="33612345678", source_addr_ton=1,
            short_message=b"id:moi stat:content",
        )  # fmt: skip
        delivering = asyncio.create_task(smsc.deliver(smsc.conns[0], reply))
        [event] = await next_events(g, 1)
        assert isinstance(event, Inbound)
        assert await delivering == 0
