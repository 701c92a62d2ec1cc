"""The SMPP 3.4 client against SMSCs on loopback.

Most tests run against ``smpp34.Server``, an SMSC nobody here wrote: ``Sim`` below only decides
its answers (accept, ESME_RINVDSTADR for the unallocated number, ESME_RTHROTTLED, hold) and
pushes receipts and inbound messages through it. A TCP ``Relay`` in front of it can cut the
connection. What smpp34 cannot do (refuse a password, send enquire_link or a garbled PDU, never
answer) is done by ``RawSmsc``, a hand-driven peer: the test reads each PDU the client sends
(framed by hand, decoded by smpp34) and writes the answer.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import pytest
import smpp34
from structlog.testing import capture_logs

from gateways.base import Gateway, Inbound, Message, Outcome, Receipt, ReceiptStatus
from gateways.breaker import CircuitBreaker
from gateways.events import settle
from gateways.smpp import (
    SmppBindError,
    SmppGateway,
    bodies,
    codes,
    data_coding_for,
    pdu,
    split_text,
    tlv,
)
from tests.support.gateway_contract import GOOD, UNALLOCATED, GatewayContract, next_events

WAIT = 5.0  # seconds any single wait may take before the test fails


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- smpp34 as the SMSC --------------------------------------------------------------------------


@dataclass
class Submitted:
    destination_addr: str
    data_coding: int
    esm_class: int
    short_message: bytes
    tlvs: dict[int, bytes]


@dataclass
class Sim:
    """Decides smpp34's answers; ``mode``: ok, throttle, hold (answer nothing until released)."""

    server: smpp34.Server
    port: int
    mode: str = "ok"
    latency: float = 0.0  # the SMSC's time to answer a submit_sm
    receipt_form: str = "tlv"  # tlv or text
    submits: list[Submitted] = field(default_factory=list)
    esmes: asyncio.Queue[smpp34.Esme] = field(default_factory=asyncio.Queue)
    held: asyncio.Queue[smpp34.SubmitSmEvent] = field(default_factory=asyncio.Queue)
    unbound: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    in_flight: int = 0
    max_in_flight: int = 0
    esme: smpp34.Esme | None = None
    _ids: int = 0
    _tasks: set[asyncio.Future[Any]] = field(default_factory=set)

    async def serve(self) -> None:
        while True:
            event = await self.server.next()
            if isinstance(event, smpp34.Esme):
                self.esme = event
                self.esmes.put_nowait(event)
            elif isinstance(event, smpp34.Unbound):
                self.unbound.put_nowait(event.session_id)
            else:
                self.on_submit(event)

    def on_submit(self, event: smpp34.SubmitSmEvent) -> None:
        tlvs = {t.tag: t.value for t in event.tlvs}
        self.submits.append(
            Submitted(
                event.destination_addr,
                event.data_coding,
                event.esm_class,
                event.short_message,
                tlvs,
            )
        )
        if event.destination_addr == UNALLOCATED.removeprefix("+"):
            event.reject(codes.CommandStatus.ESME_RINVDSTADR)
        elif self.mode == "throttle":
            event.reject(codes.CommandStatus.ESME_RTHROTTLED)
        elif self.mode == "hold":
            self.held.put_nowait(event)
        else:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            loop = asyncio.get_running_loop()
            loop.call_later(self.latency, self.accept, event)

    def accept(self, event: smpp34.SubmitSmEvent) -> None:
        self.in_flight -= 1
        self._ids += 1
        message_id = f"SIM{self._ids:06d}"
        event.accept(message_id)
        if event.registered_delivery & 1 and self.esme is not None:
            self.push_receipt(event, message_id)

    def push_receipt(self, event: smpp34.SubmitSmEvent, message_id: str) -> None:
        assert self.esme is not None
        text = f"id:{message_id} sub:001 dlvrd:001 submit date:2601151000 "
        text += "done date:2601151000 stat:DELIVRD err:000 text:"
        tlvs = []
        if self.receipt_form == "tlv":
            tlvs = [
                smpp34.Tlv(tlv.Tag.RECEIPTED_MESSAGE_ID, message_id.encode() + b"\0"),
                smpp34.Tlv(tlv.Tag.MESSAGE_STATE, bytes([2])),
            ]
            text = "receipt"  # the TLVs carry it all
        self.spawn(
            self.esme.deliver_sm(
                event.source_addr,
                text.encode(),
                source_addr=event.destination_addr,
                source_addr_ton=1,
                esm_class=codes.ESM_DELIVERY_RECEIPT,
                tlvs=tlvs,
            )
        )

    def spawn(self, awaitable: Any) -> None:
        future = asyncio.ensure_future(awaitable)
        self._tasks.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: asyncio.Future[Any]) -> None:
        self._tasks.discard(future)
        if not future.cancelled():
            future.exception()  # a receipt to a session that has gone: not this test's concern


@asynccontextmanager
async def sim() -> AsyncIterator[Sim]:
    port = free_port()
    server = smpp34.Server("127.0.0.1", port, system_id="SIMSC")
    await server.start()
    state = Sim(server, port)
    task = asyncio.create_task(state.serve())
    try:
        yield state
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await server.stop()


def make_gateway(port: int, **options: Any) -> SmppGateway:
    options.setdefault("timeout", 2.0)
    options.setdefault("reconnect_min", 0.05)
    return SmppGateway(
        "smsc", host="127.0.0.1", port=port, system_id="alertd", password="secret",
        system_type="ALERT", sender="MAIRIE", **options,
    )  # fmt: skip


@asynccontextmanager
async def bound(port: int, **options: Any) -> AsyncIterator[SmppGateway]:
    gateway = make_gateway(port, **options)
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.close()


class TestSmppContract(GatewayContract):
    @pytest.fixture
    async def gateway(self) -> AsyncIterator[Gateway]:
        async with sim() as smsc, bound(smsc.port) as gateway:
            self.smsc = smsc
            yield gateway

    async def inject_inbound(self, gateway: Gateway, sender: str, text: str) -> None:
        esme = await asyncio.wait_for(self.smsc.esmes.get(), WAIT)
        answer = await esme.deliver_sm(
            "33700000001", text.encode(), source_addr=sender.removeprefix("+"), source_addr_ton=1
        )
        assert answer.is_success


def msg(to: str = GOOD, text: str = "Alerte crue", ref: str = "d1", segments: int = 1) -> Message:
    return Message(ref, to, text, segments)


async def test_a_two_part_ucs2_message_goes_as_two_submits_with_the_udh() -> None:
    text = (
        "Crue de l\N{RIGHT SINGLE QUOTATION MARK}Aa : évacuez les rez-de-chaussée du quai, "
        "montez à l\N{RIGHT SINGLE QUOTATION MARK}étage. "
    ) * 2  # 140 characters
    assert data_coding_for(text) == codes.DataCoding.UCS2
    async with sim() as smsc, bound(smsc.port) as gateway:
        [result] = await gateway.submit([msg(text=text, segments=3)])
        assert result.outcome is Outcome.ACCEPTED
        parts = smsc.submits
        assert [p.data_coding for p in parts] == [8, 8, 8]  # 140 UCS-2 units: 67 + 67 + 6
        assert all(p.esm_class & codes.ESM_UDHI for p in parts)
        udhs = [p.short_message[:6] for p in parts]
        ref = udhs[0][3]
        assert udhs == [bytes((5, 0, 3, ref, 3, n)) for n in (1, 2, 3)]
        assert b"".join(p.short_message[6:] for p in parts).decode("utf-16-be") == text
        assert result.message_id == "SIM000001"  # the first part's


async def test_two_parts_exactly_and_gsm7_escapes_are_not_cut() -> None:
    text = "€" * 100  # 200 septets: the euro sign is an escape (1B 65)
    parts = split_text(text, codes.DataCoding.DEFAULT)
    assert [len(p) for p in parts] == [76, 24]  # 152 septets, then the rest; 153 would cut one
    async with sim() as smsc, bound(smsc.port) as gateway:
        two = "Fenêtres fermées. " * 5  # 90 UCS-2 units: two parts
        [result] = await gateway.submit([msg(text=two, segments=2)])
        assert result.outcome is Outcome.ACCEPTED
        assert [p.short_message[4:6] for p in smsc.submits] == [b"\x02\x01", b"\x02\x02"]
        assert [len(p.short_message) for p in smsc.submits] == [6 + 134, 6 + 46]


def test_surrogate_pairs_are_never_split() -> None:
    text = "a" + "🌊" * 40  # 81 UTF-16 units
    parts = split_text(text, codes.DataCoding.UCS2)
    assert "".join(parts) == text
    assert all(len(p.encode("utf-16-be")) <= 134 for p in parts)
    assert split_text("court", codes.DataCoding.DEFAULT) == ["court"]


async def test_message_payload_option_sends_one_submit() -> None:
    text = "Alerte submersion. " * 12
    async with sim() as smsc, bound(smsc.port, use_payload=True) as gateway:
        [result] = await gateway.submit([msg(text=text, segments=2)])
        assert result.outcome is Outcome.ACCEPTED
        [sent] = smsc.submits
        assert sent.short_message == b""
        assert sent.tlvs[tlv.Tag.MESSAGE_PAYLOAD].decode("gsm03.38") == text


async def test_throttled_is_retried_later_and_is_not_a_breaker_failure() -> None:
    options: dict[str, Any] = {"throttle_pause_s": 0.01, "throttle_retries": 2}
    breaker = CircuitBreaker(threshold=1)
    async with sim() as smsc, bound(smsc.port, breaker=breaker, **options) as gateway:
        smsc.mode = "throttle"
        first, second = await gateway.submit([msg(ref="a"), msg(ref="b")])
        for result in (first, second):
            assert result.outcome is Outcome.RETRY and "throttled 3 times" in (result.reason or "")
        # the bind's pause, not a back-off growing per message (issue 13)
        assert first.retry_after == second.retry_after == 0.01
        assert len(smsc.submits) == 6  # each sent 3 times: 2 more after a pause, then RETRY
        assert gateway.health() == "closed"
        smsc.mode = "ok"
        [ok] = await gateway.submit([msg()])
        assert ok.outcome is Outcome.ACCEPTED


async def test_unallocated_number_is_rejected_with_the_status_name() -> None:
    async with sim() as smsc, bound(smsc.port) as gateway:
        [result] = await gateway.submit([msg(to=UNALLOCATED)])
        assert result.outcome is Outcome.REJECTED
        assert result.reason == "smsc: ESME_RINVDSTADR (0x0000000b)"
        assert smsc.submits[0].destination_addr == "33699999999"


@pytest.mark.parametrize("window", [1, 8])
async def test_submits_in_flight_never_exceed_the_window(window: int) -> None:
    async with sim() as smsc, bound(smsc.port, window=window) as gateway:
        smsc.latency = 0.01
        batch = [msg(to=f"+336120000{i:02d}", ref=f"d{i}") for i in range(24)]
        results = await gateway.submit(batch)
        assert {r.outcome for r in results} == {Outcome.ACCEPTED}
        assert smsc.max_in_flight == window  # reached, never exceeded, as the SMSC saw it


async def test_receipt_in_text_form_is_read() -> None:
    async with sim() as smsc, bound(smsc.port) as gateway:
        smsc.receipt_form = "text"
        [result] = await gateway.submit([msg()])
        [event] = await next_events(gateway, 1)
        assert isinstance(event, Receipt)
        assert (event.message_id, event.status, event.error) == (
            result.message_id,
            ReceiptStatus.DELIVERED,
            None,
        )


async def test_check_binds_and_makes_an_enquire_link_round_trip() -> None:
    async with sim() as smsc:
        gateway = make_gateway(smsc.port)
        try:
            description = await gateway.check()  # not started: check binds
            assert description.startswith("bound to SIMSC as alertd (transceiver), enquire_link ")
        finally:
            await gateway.close()


@dataclass
class Relay:
    """A TCP relay to the SMSC that can cut every connection through it."""

    target: int
    port: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def cut(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_dropped_connection_puts_in_flight_in_doubt_then_reconnects() -> None:
    async with sim() as smsc:
        relay = Relay(smsc.port)
        await relay.start()
        try:
            async with bound(relay.port, window=8) as gateway:
                await asyncio.wait_for(smsc.esmes.get(), WAIT)
                smsc.mode = "hold"
                batch = [msg(to=f"+3361200000{i}", ref=f"d{i}") for i in range(3)]
                with capture_logs() as logs:
                    sending = asyncio.create_task(gateway.submit(batch))
                    # kept, not dropped: smpp34 answers a dropped event with ESME_RSYSERR
                    held = [await asyncio.wait_for(smsc.held.get(), WAIT) for _ in batch]
                    relay.cut()
                    results = await asyncio.wait_for(sending, WAIT)
                assert [r.outcome for r in results] == [Outcome.IN_DOUBT] * 3
                assert len(held) == 3
                assert all("connection lost, in doubt" in (r.reason or "") for r in results), (
                    results
                )
                assert "3361200000" not in repr(logs)  # numbers are never logged
                smsc.mode = "ok"
                [after] = await gateway.submit([msg(ref="next")])
                assert after.outcome is Outcome.ACCEPTED
                assert smsc.esmes.qsize() == 1  # bound again
        finally:
            await relay.stop()


# -- a hand-driven SMSC --------------------------------------------------------------------------


@dataclass
class Peer:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def read(self) -> smpp34.RawPdu | smpp34.SubmitSm | smpp34.DeliverSm:
        header = await asyncio.wait_for(self.reader.readexactly(4), WAIT)
        (length,) = struct.unpack(">I", header)
        rest = await asyncio.wait_for(self.reader.readexactly(length - 4), WAIT)
        return smpp34.decode(header + rest)

    def send(self, what: pdu.Pdu | bytes) -> None:
        self.writer.write(what if isinstance(what, bytes) else pdu.encode(what))

    def answer(
        self, request: smpp34.RawPdu | smpp34.SubmitSm | smpp34.DeliverSm, command: int, **kw: Any
    ) -> None:
        self.send(pdu.Pdu(codes.CommandId(command), request.sequence_number, **kw))

    async def answer_everything(self) -> None:
        """Answer each request with its bare response, until the client hangs up."""
        with suppress(asyncio.IncompleteReadError):
            while True:
                request = await self.reader.readexactly(16)
                length, command, _status, sequence = struct.unpack(">IIII", request)
                await self.reader.readexactly(length - 16)
                self.send(struct.pack(">IIII", 16, command | 0x80000000, 0, sequence))

    async def bind(self) -> None:
        request = await self.read()
        assert request.command_id == codes.CommandId.BIND_TRANSCEIVER
        self.answer(
            request, codes.CommandId.BIND_TRANSCEIVER_RESP, body=bodies.BindResp(system_id="RAW")
        )


@asynccontextmanager
async def raw_smsc() -> AsyncIterator[tuple[int, asyncio.Queue[Peer]]]:
    peers: asyncio.Queue[Peer] = asyncio.Queue()
    writers: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        peers.put_nowait(Peer(reader, writer))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], peers
    finally:
        for writer in writers:
            writer.transport.abort()
        server.close()
        await server.wait_closed()


async def test_wrong_password_is_a_clear_error_and_a_breaker_failure() -> None:
    async with raw_smsc() as (port, peers):
        gateway = make_gateway(port, breaker=CircuitBreaker(threshold=1))
        starting = asyncio.create_task(gateway.start())
        peer = await asyncio.wait_for(peers.get(), WAIT)
        request = await peer.read()
        assert isinstance(request, smpp34.RawPdu)
        assert request.command_id == codes.CommandId.BIND_TRANSCEIVER
        assert request.body.startswith(b"alertd\0secret\0ALERT\0\x34")
        status = codes.CommandStatus.ESME_RINVPASWD
        peer.answer(request, codes.CommandId.BIND_TRANSCEIVER_RESP, command_status=status)
        refused = r"refused: ESME_RINVPASWD .*bind_transceiver as 'alertd'"
        with pytest.raises(SmppBindError, match=refused):
            await asyncio.wait_for(starting, WAIT)
        assert gateway.health() == "open"
        await gateway.close()


async def test_smsc_enquire_link_is_answered_and_garbage_gets_generic_nack() -> None:
    async with raw_smsc() as (port, peers):
        gateway = make_gateway(port)
        starting = asyncio.create_task(gateway.start())
        peer = await asyncio.wait_for(peers.get(), WAIT)
        await peer.bind()
        await asyncio.wait_for(starting, WAIT)
        peer.send(pdu.Pdu(codes.CommandId.ENQUIRE_LINK, 77))
        answer = await peer.read()
        assert (answer.command_id, answer.sequence_number) == (0x80000015, 77)
        peer.send(struct.pack(">IIII", 16, 0x00000077, 0, 78))  # an unknown command
        nack = await peer.read()
        assert isinstance(nack, smpp34.RawPdu)
        assert (nack.command_id, nack.command_status, nack.sequence_number) == (0x80000000, 3, 78)
        inbound = bodies.ShortMessage(
            destination_addr="33700000001", source_addr="33612345678", source_addr_ton=1,
            data_coding=8, short_message="Arrêt".encode("utf-16-be"),
        )  # fmt: skip
        reading = asyncio.create_task(next_events(gateway, 1))  # stores it, as the daemon does
        peer.send(pdu.Pdu(codes.CommandId.DELIVER_SM, 80, inbound))
        answer = await peer.read()
        assert isinstance(answer, smpp34.RawPdu)
        assert (answer.command_id, answer.command_status) == (0x80000005, 0)
        [event] = await reading
        assert isinstance(event, Inbound) and (event.sender, event.text) == (GOOD, "Arrêt")
        closing = asyncio.create_task(gateway.close())
        unbind = await peer.read()
        peer.answer(unbind, codes.CommandId.UNBIND_RESP)
        await asyncio.wait_for(closing, WAIT)


async def test_timeout_and_generic_nack_come_back_retry() -> None:
    async with raw_smsc() as (port, peers):
        gateway = make_gateway(
            port, timeout=0.3, unbind_wait=0.1, breaker=CircuitBreaker(threshold=2)
        )
        starting = asyncio.create_task(gateway.start())
        peer = await asyncio.wait_for(peers.get(), WAIT)
        await peer.bind()
        await asyncio.wait_for(starting, WAIT)
        sending = asyncio.create_task(gateway.submit([msg(ref="nacked")]))
        submit = await peer.read()
        assert isinstance(submit, smpp34.SubmitSm) and submit.destination_addr == "33612345678"
        assert (submit.dest_addr_ton, submit.source_addr, submit.source_addr_ton) == (
            1,
            "MAIRIE",
            5,
        )
        peer.send(pdu.generic_nack(submit.sequence_number, codes.CommandStatus.ESME_RINVCMDLEN))
        [nacked] = await asyncio.wait_for(sending, WAIT)
        assert nacked.outcome is Outcome.RETRY and "generic_nack" in (nacked.reason or "")
        sending = asyncio.create_task(gateway.submit([msg(ref="unanswered")]))
        await peer.read()  # and never answered
        [late] = await asyncio.wait_for(sending, WAIT)
        assert late.outcome is Outcome.IN_DOUBT and "no submit_sm_resp within 0.3 s" in (
            late.reason or ""
        )
        assert gateway.health() == "open"  # two faults in a row
        closing = asyncio.create_task(gateway.close())
        unbind = await peer.read()
        assert unbind.command_id == codes.CommandId.UNBIND
        await asyncio.wait_for(closing, WAIT)  # no unbind_resp: it waits briefly, then closes


async def test_close_sends_unbind_and_waits_for_unbind_resp() -> None:
    async with raw_smsc() as (port, peers):
        gateway = make_gateway(port)
        starting = asyncio.create_task(gateway.start())
        peer = await asyncio.wait_for(peers.get(), WAIT)
        await peer.bind()
        await asyncio.wait_for(starting, WAIT)
        closing = asyncio.create_task(gateway.close())
        unbind = await peer.read()
        assert unbind.command_id == codes.CommandId.UNBIND
        assert not closing.done()
        peer.answer(unbind, codes.CommandId.UNBIND_RESP)
        await asyncio.wait_for(closing, WAIT)
        assert await asyncio.wait_for(peer.reader.read(), WAIT) == b""  # socket closed
        [result] = await gateway.submit([msg()])
        assert result.outcome is Outcome.RETRY


async def test_close_unbinds_from_smpp34() -> None:
    async with sim() as smsc:
        gateway = make_gateway(smsc.port)
        await gateway.start()
        esme = await asyncio.wait_for(smsc.esmes.get(), WAIT)
        await gateway.close()
        assert await asyncio.wait_for(smsc.unbound.get(), WAIT) == esme.session_id


async def test_keep_alive_sends_enquire_link_and_reconnects_when_unanswered() -> None:
    async with raw_smsc() as (port, peers):
        gateway = make_gateway(port, timeout=0.3, enquire_link_s=0.05, unbind_wait=0.1)
        starting = asyncio.create_task(gateway.start())
        first = await asyncio.wait_for(peers.get(), WAIT)
        await first.bind()
        await asyncio.wait_for(starting, WAIT)
        ping = await first.read()
        assert ping.command_id == codes.CommandId.ENQUIRE_LINK
        first.answer(ping, codes.CommandId.ENQUIRE_LINK_RESP)
        assert (await first.read()).command_id == codes.CommandId.ENQUIRE_LINK  # left unanswered
        assert (await first.read()).command_id == codes.CommandId.UNBIND  # the link is reset
        assert await asyncio.wait_for(first.reader.read(), WAIT) == b""  # the client hung up
        second = await asyncio.wait_for(peers.get(), WAIT)  # and came back
        await second.bind()
        responder = asyncio.create_task(second.answer_everything())
        assert (await gateway.check()).startswith("bound to RAW as alertd (transceiver), enquire_")
        await gateway.close()
        responder.cancel()
        await asyncio.gather(responder, return_exceptions=True)


async def test_deliver_sm_is_answered_once_stored_and_with_an_error_when_not() -> None:
    """The SMSC is told it was received only once the daemon has stored it; when it could not,
    an error status makes the SMSC deliver it again."""
    async with raw_smsc() as (port, peers):
        gateway = make_gateway(port)
        starting = asyncio.create_task(gateway.start())
        peer = await asyncio.wait_for(peers.get(), WAIT)
        await peer.bind()
        await asyncio.wait_for(starting, WAIT)
        stop = bodies.ShortMessage(
            destination_addr="33700000001", source_addr="33612345678", source_addr_ton=1,
            short_message=b"STOP",
        )  # fmt: skip
        stream = gateway.events()
        peer.send(pdu.Pdu(codes.CommandId.DELIVER_SM, 90, stop))
        first = await asyncio.wait_for(anext(stream), WAIT)
        settle(first, False)  # the daemon could not store it
        answer = await peer.read()
        assert isinstance(answer, smpp34.RawPdu)
        assert (answer.command_id, answer.sequence_number) == (0x80000005, 90)
        assert answer.command_status == codes.CommandStatus.ESME_RSYSERR
        peer.send(pdu.Pdu(codes.CommandId.DELIVER_SM, 91, stop))  # the SMSC delivers it again
        again = await asyncio.wait_for(anext(stream), WAIT)
        assert isinstance(again, Inbound) and again.text == "STOP"
        settle(again, True)
        answer = await peer.read()
        assert isinstance(answer, smpp34.RawPdu)
        assert (answer.sequence_number, answer.command_status) == (91, 0)
        closing = asyncio.create_task(gateway.close())
        unbind = await peer.read()
        peer.answer(unbind, codes.CommandId.UNBIND_RESP)
        await asyncio.wait_for(closing, WAIT)
