"""The simulated SMSC: an asyncio server speaking SMPP 3.4 through the project's own codec
(`gateways.smpp.pdu`), with the fault modes of `Faults`. Several binds (transceiver,
transmitter, receiver) at once; per bind it counts the submit_sm received and not yet answered
(the figure a client's window must bound); receipts go out on the receiver-capable binds of the
same system_id in turn, so a client must match receipts whatever bind they arrive on."""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field

from alertd.tools.smsc_sim.faults import Faults
from gateways.smpp.bodies import Bind, BindResp, MessageIdResp, ShortMessage
from gateways.smpp.codes import ESM_UDHI, CommandId, CommandStatus, PduError
from gateways.smpp.pdu import Pdu, decode, encode, generic_nack, respond, split_frames
from gateways.smpp.tlv import Tag, Tlv, find_tlv

FIRST_ID = 0x1A2B3C00  # ids whose hex form has letters: a base mix-up cannot pass unseen
_BIND_KINDS = {
    CommandId.BIND_TRANSCEIVER: "transceiver",
    CommandId.BIND_TRANSMITTER: "transmitter",
    CommandId.BIND_RECEIVER: "receiver",
}


def format_id(number: int, base: str) -> str:
    if base == "hex":
        return f"{number:x}"
    if base == "HEX":
        return f"{number:X}"
    return str(number)


@dataclass
class Submit:
    """One submit_sm as the SMSC saw it, and what it answered."""

    bind: int
    body: ShortMessage
    number: int  # the SMSC's own id, before formatting
    status: int | None = None  # None until answered
    part: int = 1  # the concatenation part number (UDH or SAR), 1 when not split


@dataclass(eq=False)
class Conn:
    index: int
    writer: asyncio.StreamWriter
    kind: str | None = None  # transceiver, transmitter or receiver, once bound
    system_id: str = ""
    outstanding: int = 0
    accepted_at: deque[float] = field(default_factory=deque)  # for the throttle, last second
    sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    waiting: dict[int, asyncio.Future[int]] = field(default_factory=dict)  # our deliver_sm
    unbind: Pdu | None = None  # the client's unbind, answered once what it sent is answered

    def send(self, pdu: Pdu) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode(pdu))

    @property
    def receives(self) -> bool:
        return self.kind in ("transceiver", "receiver")


class Smsc:
    def __init__(self, faults: Faults | None = None, *, keep_submits: bool = True) -> None:
        self.faults = faults or Faults()
        self.keep_submits = keep_submits
        self.submits: list[Submit] = []
        self.stats: dict[str, int] = dict.fromkeys(
            ("submit_sm", "accepted", "throttled", "rejected", "binds", "binds_max",
             "binds_total", "binds_refused", "outstanding_max_per_bind", "receipts_sent",
             "receipts_acked", "receipts_refused", "unbinds"),
            0,
        )  # fmt: skip
        self.bound = asyncio.Queue[Conn]()  # each bind as it succeeds, for tests to wait on
        self.conns: list[Conn] = []
        self._ids = itertools.count(FIRST_ID)
        self._held: list[tuple[Conn, Pdu, Submit]] = []
        self._receivers = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> int:
        self._server = await asyncio.start_server(self._serve, host, port, ssl=tls)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in self.conns:
            conn.writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def cut(self) -> None:
        """Drop every connection at once (a TCP drop)."""
        for conn in self.conns:
            conn.writer.transport.abort()

    def release(self) -> None:
        """Answer the submit_sm held while ``faults.hold`` was set (clear it first)."""
        held, self._held = self._held, []
        for conn, request, submit in held:
            self._answer(conn, request, submit)

    # -- the connection --------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn(len(self.conns), writer)
        self.conns.append(conn)
        buffer = bytearray()
        try:
            while data := await reader.read(65536):
                buffer += data
                frames, buffer = split_frames(buffer)
                for frame in frames:
                    self._handle(conn, frame)
        except (PduError, OSError):
            pass
        finally:
            self._gone(conn)

    def _gone(self, conn: Conn) -> None:
        if conn.kind is not None:
            self.stats["binds"] -= 1
            conn.kind = None
        for future in conn.waiting.values():
            if not future.done():
                future.set_result(-1)
        conn.writer.close()

    def _handle(self, conn: Conn, frame: bytes) -> None:
        try:
            pdu = decode(frame)
        except PduError as error:
            conn.send(generic_nack(error.sequence_number or 0, error.status))
            return
        command = pdu.command_id
        if command in _BIND_KINDS:
            self._bind(conn, pdu)
        elif command == CommandId.SUBMIT_SM:
            self._submit(conn, pdu)
        elif command == CommandId.DELIVER_SM_RESP:
            future = conn.waiting.pop(pdu.sequence_number, None)
            if future is not None and not future.done():
                future.set_result(pdu.command_status)
        elif command == CommandId.ENQUIRE_LINK:
            conn.send(respond(pdu))
        elif command == CommandId.UNBIND:
            self.stats["unbinds"] += 1
            conn.unbind = pdu
            if not conn.outstanding or self.faults.hold:
                self._unbound(conn)
        elif not command.is_response:
            conn.send(generic_nack(pdu.sequence_number, CommandStatus.ESME_RINVCMDID))

    def _bind(self, conn: Conn, pdu: Pdu) -> None:
        assert isinstance(pdu.body, Bind)  # noqa: S101 - the codec reads a bind's body so
        faults, status = self.faults, CommandStatus.ESME_ROK
        if conn.kind is not None:
            status = CommandStatus.ESME_RALYBND
        elif faults.password is not None and pdu.body.password != faults.password:
            status = CommandStatus.ESME_RINVPASWD
        elif faults.max_binds and self.stats["binds"] >= faults.max_binds:
            status = CommandStatus.ESME_RBINDFAIL
        body = BindResp(system_id="ALERTDSIM") if status == CommandStatus.ESME_ROK else None
        answer = encode(respond(pdu, body, status))
        if status != CommandStatus.ESME_ROK:
            self.stats["binds_refused"] += 1
            conn.writer.write(answer)
            return
        conn.kind, conn.system_id = _BIND_KINDS[pdu.command_id], pdu.body.system_id
        self.stats["binds"] += 1
        self.stats["binds_total"] += 1
        self.stats["binds_max"] = max(self.stats["binds_max"], self.stats["binds"])
        if faults.unbind_after_bind:  # in the same write, so in the same read at the client
            answer += encode(Pdu(CommandId.UNBIND, next(conn.sequence)))
        conn.writer.write(answer)
        if faults.close_after_bind or faults.unbind_after_bind:
            conn.writer.close()
            return
        self.bound.put_nowait(conn)

    def _unbound(self, conn: Conn) -> None:
        """Answer the unbind (after the submit_sm received before it) and hang up."""
        if conn.unbind is not None:
            conn.send(respond(conn.unbind))
            conn.unbind = None
        conn.writer.close()

    # -- submit_sm -------------------------------------------------------------------------------

    def _submit(self, conn: Conn, pdu: Pdu) -> None:
        if conn.kind not in ("transceiver", "transmitter"):
            conn.send(respond(pdu, None, CommandStatus.ESME_RINVBNDSTS))
            return
        assert isinstance(pdu.body, ShortMessage)  # noqa: S101 - the codec reads it so
        self.stats["submit_sm"] += 1
        conn.outstanding += 1
        peak = self.stats["outstanding_max_per_bind"]
        self.stats["outstanding_max_per_bind"] = max(peak, conn.outstanding)
        submit = Submit(conn.index, pdu.body, next(self._ids), part=_part_number(pdu.body))
        if self.keep_submits:
            self.submits.append(submit)
        if self.faults.hold:
            self._held.append((conn, pdu, submit))
        elif self.faults.latency:  # an SMSC across a network answers after a round trip
            loop = asyncio.get_running_loop()
            loop.call_later(self.faults.latency, self._answer, conn, pdu, submit)
        else:
            self._answer(conn, pdu, submit)

    def _status(self, conn: Conn, body: ShortMessage, part: int) -> int:
        faults = self.faults
        status = faults.part_status_once.pop(part, None)
        if status is not None:
            return status
        status = faults.status_by_destination.get(body.destination_addr)
        if status is not None:
            return status
        if faults.throttle_per_s:
            now, recent = time.monotonic(), conn.accepted_at
            while recent and now - recent[0] >= 1.0:
                recent.popleft()
            if len(recent) >= faults.throttle_per_s:
                return faults.throttle_status
            recent.append(now)
        return CommandStatus.ESME_ROK

    def _answer(self, conn: Conn, request: Pdu, submit: Submit) -> None:
        if conn.kind is None:  # the connection went: nothing to answer on
            return
        conn.outstanding -= 1
        assert isinstance(request.body, ShortMessage)  # noqa: S101 - a submit_sm
        submit.status = status = self._status(conn, request.body, submit.part)
        if status != CommandStatus.ESME_ROK:
            throttle = (CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL)
            self.stats["throttled" if status in throttle else "rejected"] += 1
            conn.send(respond(request, None, status))
        else:
            self._accept(conn, request, submit)
        if conn.unbind is not None and not conn.outstanding:
            self._unbound(conn)

    def _accept(self, conn: Conn, request: Pdu, submit: Submit) -> None:
        assert isinstance(request.body, ShortMessage)  # noqa: S101 - a submit_sm
        self.stats["accepted"] += 1
        faults = self.faults
        message_id = "" if faults.empty_id else format_id(submit.number, faults.resp_id_base)
        tlvs = (Tlv.u8(Tag.MESSAGE_STATE, 6), Tlv(0x1403, b"OK\0")) if faults.resp_tlvs else ()
        conn.send(respond(request, MessageIdResp(message_id=message_id, tlvs=tlvs)))
        if faults.receipts and request.body.registered_delivery & 1 and not faults.empty_id:
            self._spawn(self._receipt(conn.system_id, submit))

    # -- receipts --------------------------------------------------------------------------------

    def _receiver(self, system_id: str) -> Conn | None:
        live = [c for c in self.conns if c.receives and c.system_id == system_id]
        return live[next(self._receivers) % len(live)] if live else None

    async def _receipt(self, system_id: str, submit: Submit) -> None:
        faults = self.faults
        if faults.receipt_delay:
            await asyncio.sleep(faults.receipt_delay)
        conn = self._receiver(system_id)
        if conn is None:
            return
        status = await self.deliver(conn, receipt_body(submit, faults))
        self.stats["receipts_sent"] += 1
        self.stats["receipts_acked" if status == 0 else "receipts_refused"] += 1

    async def deliver(self, conn: Conn, body: ShortMessage) -> int:
        """Send a deliver_sm on ``conn``; the deliver_sm_resp's status (-1: connection lost)."""
        sequence = next(conn.sequence)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        conn.waiting[sequence] = future
        conn.send(Pdu(CommandId.DELIVER_SM, sequence, body))
        return await future

    def _spawn(self, coroutine: Coroutine[None, None, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _part_number(body: ShortMessage) -> int:
    if body.esm_class & ESM_UDHI and len(body.short_message) >= 6:
        return body.short_message[5]
    seq = find_tlv(body.tlvs, Tag.SAR_SEGMENT_SEQNUM)
    return seq[0] if seq else 1


def receipt_body(submit: Submit, faults: Faults) -> ShortMessage:
    """The deliver_sm of a delivery receipt for ``submit``, as ``faults`` says to write it."""
    stat, err = (
        ("UNDELIV", "001") if submit.part in faults.undelivered_parts else ("DELIVRD", "000")
    )
    text = (
        ""
        if faults.receipt_form == "tlv"
        else f"id:{format_id(submit.number, faults.receipt_id_base)} "
    )
    text += (
        f"sub:001 dlvrd:001 submit date:2612010800 done date:2612010800 stat:{stat} err:{err} text:"
    )
    tlvs: tuple[Tlv, ...] = ()
    if faults.receipt_form in ("tlv", "both"):
        state = 2 if stat == "DELIVRD" else 5
        tlv_id = format_id(submit.number, faults.tlv_id_base)
        tlvs = (Tlv.cstring(Tag.RECEIPTED_MESSAGE_ID, tlv_id), Tlv.u8(Tag.MESSAGE_STATE, state))
    coded = text.encode("utf-16-be" if faults.receipt_coding == 0x08 else "ascii")
    sent = submit.body
    return ShortMessage(
        source_addr=sent.destination_addr,
        source_addr_ton=sent.dest_addr_ton,
        source_addr_npi=sent.dest_addr_npi,
        destination_addr=sent.source_addr,
        dest_addr_ton=sent.source_addr_ton,
        dest_addr_npi=sent.source_addr_npi,
        esm_class=faults.receipt_esm_class,
        data_coding=faults.receipt_coding,
        short_message=coded,
        tlvs=tlvs,
    )
