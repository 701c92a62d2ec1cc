"""Issue 13, cases 3, 4, 5 (the gateway's side) and 6: responses with TLVs or without an id, the
window slot held until the answer or the reset, late answers kept; throttling pauses the bind;
every part of a long message tracked; the status table. Against the project's SMSC simulator."""

from __future__ import annotations

import asyncio

import pytest

from gateways.base import Outcome
from gateways.breaker import CircuitBreaker
from gateways.smpp import codes, tlv
from gateways.smpp.codes import CommandStatus as S
from tests.gateways.test_smpp_sim import WAIT, msg, running, started

LONG = "Crue de l'Aa : évacuez les rez-de-chaussée du quai, montez à l'étage. " * 5  # 3 parts


async def test_tlvs_in_submit_sm_resp_are_accepted() -> None:
    async with running(resp_tlvs=True) as (smsc, port), started(port) as g:
        [result] = await g.submit([msg()])
        assert result.outcome is Outcome.ACCEPTED and result.message_id
        assert len(smsc.submits) == 1  # no generic_nack, no resend


async def test_rok_with_an_empty_id_is_accepted_and_counted() -> None:
    breaker = CircuitBreaker(threshold=1)
    async with running(empty_id=True) as (smsc, port), started(port, breaker=breaker) as g:
        [result] = await g.submit([msg()])
        assert (result.outcome, result.message_id) == (Outcome.ACCEPTED, None)
        assert g.counters["accepted_without_id"] == 1
        assert g.health() == "closed" and len(smsc.submits) == 1


async def test_a_timeout_keeps_the_slot_until_the_reset_and_the_window_holds() -> None:
    options = {"window": 2, "timeout": 0.1, "unbind_wait": 0.05}
    async with running(hold=True) as (smsc, port), started(port, **options) as g:
        results = await asyncio.wait_for(g.submit([msg(i) for i in range(6)]), WAIT)
        # every link saw at most its window outstanding (it saw twice the window before)
        assert smsc.stats["outstanding_max_per_bind"] == 2
        assert {r.outcome for r in results} == {Outcome.IN_DOUBT}
        assert all("link reset" in (r.reason or "") for r in results)
        assert g.counters["link_resets"] >= 1


async def test_a_late_answer_that_comes_before_the_reset_ends_is_recorded() -> None:
    # the SMSC answers after 0.25 s; the client gives up at 0.1 s and resets the link, but the
    # SMSC answers what it had before its unbind_resp: the message is accepted, not in doubt
    options = {"timeout": 0.1, "unbind_wait": 1.0}
    async with running(latency=0.25) as (smsc, port), started(port, **options) as g:
        [result] = await asyncio.wait_for(g.submit([msg()]), WAIT)
        assert result.outcome is Outcome.ACCEPTED and result.message_id
        assert g.late_responses == 1
        [again] = await g.submit([msg(1)])  # on a new link
        assert again.outcome is Outcome.ACCEPTED
        assert smsc.stats["binds_total"] == 2


async def test_throttling_pauses_the_bind_and_resumes_in_order() -> None:
    # an SMSC taking 20 messages a second; 30 messages at once, no rate configured
    options = {"window": 5, "throttle_pause_s": 0.3}
    async with running(throttle_per_s=20) as (smsc, port), started(port, **options) as g:
        results = await asyncio.wait_for(g.submit([msg(i) for i in range(30)]), WAIT)
        assert {r.outcome for r in results} == {Outcome.ACCEPTED}  # none given up
        # one pause per burst, not a back-off per message: few throttled answers (was 540/10)
        assert smsc.stats["throttled"] <= 10, smsc.stats
        accepted = [s.body.destination_addr for s in smsc.submits if s.status == 0]
        assert accepted == sorted(accepted)  # resumed in order, the throttled first
        assert g.pool.binds[0].gate.pauses >= 1


@pytest.mark.parametrize(
    ("status", "outcome", "breaker_state"),
    [
        (S.ESME_RX_T_APPN, Outcome.RETRY, "closed"),  # temporary by the specification
        (S.ESME_RSUBMITFAIL, Outcome.RETRY, "closed"),
        (S.ESME_RINVDSTADR, Outcome.REJECTED, "closed"),
        (S.ESME_RINVSRCADR, Outcome.RETRY, "open"),  # configuration: open, fail over
        (S.ESME_RINVSRCTON, Outcome.RETRY, "open"),
        (0x0400, Outcome.RETRY, "closed"),  # a vendor code: retried, not final
    ],
)
async def test_status_table(status: int, outcome: Outcome, breaker_state: str) -> None:
    faults = {"status_by_destination": {"33612000000": status}}
    async with running(**faults) as (_smsc, port), started(port) as g:
        [result] = await g.submit([msg()])
        assert result.outcome is outcome
        assert g.health() == breaker_state


async def test_status_overrides_per_gateway() -> None:
    faults = {"status_by_destination": {"33612000000": 0x0400}}
    overrides = {0x0400: "permanent"}
    async with running(**faults) as (_smsc, port), started(port, status_overrides=overrides) as g:
        [result] = await g.submit([msg()])
        assert result.outcome is Outcome.REJECTED and "0x00000400" in (result.reason or "")


async def test_every_part_id_is_kept() -> None:
    async with running() as (smsc, port), started(port) as g:
        [result] = await g.submit([msg(text=LONG, segments=3)])
        assert result.outcome is Outcome.ACCEPTED
        assert len(result.part_ids) == 3 and result.part_ids[0] == result.message_id
        assert list(result.part_ids) == [str(s.number) for s in smsc.submits]


async def test_a_later_part_throttled_goes_again_with_the_same_reference() -> None:
    faults = {"part_status_once": {2: S.ESME_RTHROTTLED}}
    async with running(**faults) as (smsc, port), started(port, throttle_pause_s=0.01) as g:
        [result] = await g.submit([msg(text=LONG, segments=3)])
        assert result.outcome is Outcome.ACCEPTED and len(result.part_ids) == 3
        udhs = [s.body.short_message[:6] for s in smsc.submits]
        assert len(udhs) == 4 and len({u[3] for u in udhs}) == 1  # one reference: no orphans
        assert [u[5] for u in udhs] == [1, 2, 2, 3]


async def test_a_later_part_failing_for_now_is_in_doubt_and_counted() -> None:
    faults = {"part_status_once": {2: S.ESME_RSYSERR}}
    async with running(**faults) as (_smsc, port), started(port) as g:
        [result] = await g.submit([msg(text=LONG, segments=3)])
        assert result.outcome is Outcome.IN_DOUBT  # part 1 is on its way: not a plain RETRY
        assert "part 2 of 3" in (result.reason or "")
        assert g.counters["partial_resends"] == 1


async def test_sar_parts_carry_the_sar_tlvs_and_no_udh() -> None:
    async with running() as (smsc, port), started(port, long_messages="sar") as g:
        [result] = await g.submit([msg(text=LONG, segments=3)])
        assert result.outcome is Outcome.ACCEPTED
        refs = set()
        for number, sent in enumerate(smsc.submits, start=1):
            assert not sent.body.esm_class & codes.ESM_UDHI
            tlvs = {t.tag: t.value for t in sent.body.tlvs}
            assert tlvs[tlv.Tag.SAR_SEGMENT_SEQNUM] == bytes([number])
            assert tlvs[tlv.Tag.SAR_TOTAL_SEGMENTS] == b"\x03"
            refs.add(tlvs[tlv.Tag.SAR_MSG_REF_NUM])
        assert len(refs) == 1
