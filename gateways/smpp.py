"""An SMPP 3.4 client (ESME) on asyncio, bound as a transceiver to an operator's SMSC.

One TCP connection (a ``_Link``) carries everything: our requests (bind_transceiver, submit_sm,
enquire_link, unbind), matched to their responses by sequence number, and the SMSC's requests
(deliver_sm: delivery receipts and residents' messages; enquire_link; unbind), answered at once by
the reader task. Bytes are made and read by `gateways.smpp_pdu` only.

Submitting a message: wait for the circuit breaker, the rate limiter (in segments) and, for each
submit_sm, a window slot (the window bounds submit_sm awaiting their submit_sm_resp). A text that
fits one SMS goes in one submit_sm; a longer one is split here (153 GSM-7 septets or 67 UCS-2
units a part, never cutting an escape or a surrogate pair) and sent as parts with the
concatenation UDH, or whole in message_payload when ``use_payload`` is set.

Outcomes: ESME_ROK -> ACCEPTED (the first part's message_id); ESME_RTHROTTLED, ESME_RMSGQFUL ->
RETRY after a back-off that grows while the SMSC keeps throttling (the SMSC is up: not a breaker
failure); ESME_RSYSERR, a response timeout, a generic_nack, a lost connection -> RETRY, counted by
the breaker; any other status -> REJECTED with its name. A lost connection resolves every pending
submit as RETRY ("in doubt": the SMSC may have taken it) and the client reconnects with an
exponential back-off. Phone numbers are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import structlog

from gateways.base import Event, Inbound, Limits, Message, Receipt, SubmitResult
from gateways.breaker import CircuitBreaker
from gateways.limits import Clock, RateLimiter, SystemClock, Window
from gateways.smpp_pdu import (
    ESM_UDHI,
    GSM7_PART_SEPTETS,
    HEADER,
    RESPONSE_BIT,
    Bind,
    BindResp,
    CommandId,
    CommandStatus,
    DataCoding,
    MessageIdResp,
    Npi,
    Pdu,
    PduError,
    ShortMessage,
    Tag,
    Ton,
    concatenated,
    decode,
    decode_text,
    encode,
    encode_text,
    find_tlv,
    generic_nack,
    is_temporary,
    receipt_of,
    respond,
    split_frames,
    status_name,
    with_payload,
)

log = structlog.get_logger("gateways.smpp")

GSM7_SINGLE = 160  # septets in a message that is not split
UCS2_SINGLE = 70  # UTF-16 units in a message that is not split
UCS2_PART_UNITS = 67  # UTF-16 units a concatenated part holds
THROTTLE_RETRY_AFTER = 1.0  # first back-off when throttled; doubles while it lasts
MAX_THROTTLE_RETRY_AFTER = 60.0
FAULT_RETRY_AFTER = 5.0  # after a timeout, a lost connection, a system error


class SmppError(ConnectionError):
    """The SMSC cannot be reached or bound; the message says why, for the person on call."""


class SmppBindError(SmppError):
    """The SMSC refused the bind (wrong system_id, password, system_type, or already bound)."""


class _Lost(ConnectionError):
    """The connection went away while a request awaited its response."""


# -- text ----------------------------------------------------------------------------------------


def data_coding_for(text: str) -> DataCoding:
    """GSM-7 when every character has a septet (basic or extension table), else UCS-2."""
    try:
        encode_text(text, DataCoding.DEFAULT)
    except PduError:
        return DataCoding.UCS2
    return DataCoding.DEFAULT


def _units(char: str, coding: int) -> int:
    if coding == DataCoding.DEFAULT:
        return len(encode_text(char, coding))  # 2 for an extension character (0x1B escape)
    return len(char.encode("utf-16-be")) // 2  # 2 for a character beyond the BMP


def split_text(text: str, coding: int) -> list[str]:
    """The text as one SMS, or as parts of at most 153 septets / 67 UCS-2 units; a character is
    never cut, so neither an escape sequence nor a surrogate pair is."""
    gsm = coding == DataCoding.DEFAULT
    single, part = (GSM7_SINGLE, GSM7_PART_SEPTETS) if gsm else (UCS2_SINGLE, UCS2_PART_UNITS)
    sizes = [_units(c, coding) for c in text]
    if sum(sizes) <= single:
        return [text]
    parts: list[str] = []
    start = used = 0
    for i, size in enumerate(sizes):
        if used + size > part:
            parts.append(text[start:i])
            start, used = i, 0
        used += size
    parts.append(text[start:])
    return parts


def address(number: str) -> tuple[str, int, int]:
    """(addr, ton, npi): E.164 as international digits, letters as alphanumeric, else unknown."""
    if number.startswith("+") and number[1:].isdigit():
        return number[1:], Ton.INTERNATIONAL, Npi.ISDN
    if number.isdigit():
        return number, Ton.UNKNOWN, Npi.ISDN
    return number, Ton.ALPHANUMERIC, Npi.UNKNOWN


# -- one connection ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Link:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    pending: dict[int, asyncio.Future[Pdu]] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    smsc_id: str = ""
    lost: str | None = None  # why it ended, once it has

    def send(self, pdu: Pdu) -> None:
        if self.lost is None and not self.writer.is_closing():
            self.writer.write(encode(pdu))

    def fail_pending(self, reason: str) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_exception(_Lost(reason))
        self.pending.clear()


@dataclass(frozen=True, slots=True)
class _Answer:
    result: SubmitResult
    healthy: bool  # False: the SMSC's fault, the breaker counts it


class SmppGateway:
    """The Gateway protocol over one SMPP 3.4 transceiver session."""

    kind = "smpp"

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int = 2775,
        system_id: str,
        password: str,
        system_type: str = "",
        sender: str | None = None,
        rate: float = 0.0,
        window: int = 10,
        timeout: float = 10.0,
        enquire_link_s: float = 30.0,
        use_payload: bool = False,
        reconnect_min: float = 1.0,
        reconnect_max: float = 60.0,
        unbind_wait: float = 1.0,
        breaker: CircuitBreaker | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.limits = Limits(rate=rate, window=window)
        self.host, self.port = host, port
        self.system_id, self.system_type = system_id, system_type
        self._password = password
        self.sender = sender
        self.timeout = timeout
        self.enquire_link_s = enquire_link_s
        self.use_payload = use_payload
        self.reconnect_min, self.reconnect_max = reconnect_min, reconnect_max
        self.unbind_wait = unbind_wait
        self.clock = clock or SystemClock()
        self.breaker = breaker or CircuitBreaker(clock=self.clock)
        self._rate = RateLimiter(rate, clock=self.clock)
        self._window = Window(window)
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._sequence = itertools.count(1)
        self._concat_ref = random.randrange(256)  # noqa: S311 - a label, not a secret
        self._throttled = 0  # throttled answers in a row, for the back-off
        self._link: _Link | None = None
        self._bound = asyncio.Event()
        self._connecting = asyncio.Lock()
        self._reconnect: asyncio.Task[None] | None = None
        self.closed = False

    def __repr__(self) -> str:
        return f"SmppGateway({self.name!r}, {self.host}:{self.port}, system_id={self.system_id!r})"

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and bind; raises SmppError (SmppBindError when refused) saying why."""
        self.closed = False
        await self._connect()

    async def close(self) -> None:
        """Unbind (waiting briefly for unbind_resp), close the socket, end the event stream."""
        if self.closed:
            return
        self.closed = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect
        link, self._link = self._link, None  # from now on, its end is no loss
        self._bound.clear()
        if link is not None:
            with contextlib.suppress(SmppError, PduError, TimeoutError, OSError):
                await self._request(link, CommandId.UNBIND, None, self.unbind_wait)
            await self._shut(link, "closed by alertd")
        await self._events.put(None)

    async def check(self) -> str:
        """Bind if need be, then one enquire_link round trip."""
        link = await self._ready()
        started = time.monotonic()
        answer = await self._request(link, CommandId.ENQUIRE_LINK, None)
        if answer.command_status != CommandStatus.ESME_ROK:
            return f"enquire_link answered {status_name(answer.command_status)}"
        took = (time.monotonic() - started) * 1000
        return f"bound to {link.smsc_id or '?'} as {self.system_id}, enquire_link {took:.0f} ms"

    # -- the protocol ----------------------------------------------------------------------------

    def health(self) -> str:
        return self.breaker.state

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        return list(await asyncio.gather(*(self._submit_one(m) for m in messages)))

    async def events(self) -> AsyncIterator[Event]:
        while True:
            event = await self._events.get()
            if event is None:
                self._events.put_nowait(None)  # every later reader ends too
                return
            yield event

    # -- connecting ------------------------------------------------------------------------------

    async def _connect(self) -> _Link:
        async with self._connecting:
            if self._link is not None:
                return self._link
            try:
                link = await self._open()
            except SmppError as error:
                self.breaker.failure()
                log.warning("smpp_bind_failed", gateway=self.name, reason=str(error))
                raise
            self._link = link
            self._bound.set()
            log.info("smpp_bound", gateway=self.name, smsc=link.smsc_id)
            return link

    async def _open(self) -> _Link:
        where = f"{self.name}: SMSC {self.host}:{self.port}"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout
            )
        except (OSError, TimeoutError) as error:
            raise SmppError(f"{where} unreachable ({error or type(error).__name__})") from error
        link = _Link(reader, writer)
        link.tasks.append(asyncio.create_task(self._read(link)))
        body = Bind(system_id=self.system_id, password=self._password, system_type=self.system_type)
        try:
            answer = await self._request(link, CommandId.BIND_TRANSCEIVER, body)
        except (TimeoutError, _Lost) as error:
            await self._shut(link, "bind failed")
            raise SmppError(f"{where} did not answer the bind ({error or 'timeout'})") from None
        if answer.command_id != CommandId.BIND_TRANSCEIVER_RESP or answer.command_status:
            await self._shut(link, "bind refused")
            raise SmppBindError(
                f"{where} refused the bind as {self.system_id!r}: "
                f"{status_name(answer.command_status)}"
            )
        if isinstance(answer.body, BindResp):
            link.smsc_id = answer.body.system_id
        if self.enquire_link_s > 0:
            link.tasks.append(asyncio.create_task(self._keep_alive(link)))
        return link

    async def _ready(self) -> _Link:
        """The bound link; binds now, or waits (up to the timeout) for the reconnection."""
        if self._link is not None:
            return self._link
        if self._reconnect is None or self._reconnect.done():
            return await self._connect()
        try:
            await asyncio.wait_for(self._bound.wait(), self.timeout)
        except TimeoutError:
            raise SmppError(f"{self.name}: not bound, reconnecting") from None
        if self._link is None:
            raise SmppError(f"{self.name}: not bound, reconnecting")
        return self._link

    async def _reconnect_loop(self) -> None:
        delay = self.reconnect_min
        while not self.closed:
            await self.clock.sleep(delay)
            try:
                await self._connect()
            except SmppError:
                delay = min(delay * 2, self.reconnect_max)
            else:
                return

    def _lost(self, link: _Link, reason: str) -> None:
        """The connection ended: pending requests are in doubt; reconnect unless closing."""
        if link.lost is not None:
            return
        link.lost = reason
        link.fail_pending(reason)
        link.writer.close()
        current = asyncio.current_task()
        for task in link.tasks:
            if task is not current:
                task.cancel()
        if self._link is link:
            self._link = None
            self._bound.clear()
            log.warning("smpp_connection_lost", gateway=self.name, reason=reason)
            if not self.closed:
                self._reconnect = asyncio.create_task(self._reconnect_loop())

    async def _shut(self, link: _Link, reason: str) -> None:
        self._lost(link, reason)
        await asyncio.gather(*link.tasks, return_exceptions=True)
        with contextlib.suppress(OSError):
            await link.writer.wait_closed()

    # -- requests and the reader -----------------------------------------------------------------

    async def _request(
        self, link: _Link, command: CommandId, body: Bind | ShortMessage | None, within: float = 0
    ) -> Pdu:
        """Send a request and wait for its response (or generic_nack); raises TimeoutError or
        _Lost."""
        if link.lost is not None:
            raise _Lost(link.lost)
        sequence = next(self._sequence) % 0x7FFFFFFF or next(self._sequence)
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        link.pending[sequence] = future
        try:
            link.send(Pdu(command, sequence, body))
            return await asyncio.wait_for(future, within or self.timeout)
        finally:
            link.pending.pop(sequence, None)

    async def _read(self, link: _Link) -> None:
        buffer = bytearray()
        reason = "closed by the SMSC"
        try:
            while data := await link.reader.read(65536):
                buffer += data
                frames, buffer = split_frames(buffer)
                for frame in frames:
                    self._handle(link, frame)
        except PduError as error:  # a command_length out of bounds: the stream is lost
            link.send(generic_nack(0, error.status))
            reason = f"unreadable stream ({error})"
        except OSError as error:
            reason = f"connection error ({error or type(error).__name__})"
        finally:
            self._lost(link, reason)

    def _handle(self, link: _Link, frame: bytes) -> None:
        try:
            pdu = decode(frame)
        except PduError as error:
            _length, command, _status, sequence = HEADER.unpack_from(frame)
            log.warning(
                "smpp_bad_pdu", gateway=self.name, command=f"0x{command:08x}", error=str(error)
            )
            future = link.pending.get(sequence) if command & RESPONSE_BIT else None
            if future is not None and not future.done():
                future.set_result(generic_nack(sequence, error.status))
            link.send(generic_nack(sequence, error.status))
            return
        if pdu.command_id.is_response:
            future = link.pending.get(pdu.sequence_number)
            if future is not None and not future.done():
                future.set_result(pdu)
            return
        if pdu.command_id == CommandId.ENQUIRE_LINK:
            link.send(respond(pdu))
        elif pdu.command_id == CommandId.DELIVER_SM and isinstance(pdu.body, ShortMessage):
            link.send(respond(pdu, MessageIdResp(), self._delivered(pdu.body)))
        elif pdu.command_id == CommandId.UNBIND:
            link.send(respond(pdu))
            self._lost(link, "unbound by the SMSC")
        else:
            link.send(generic_nack(pdu.sequence_number, CommandStatus.ESME_RINVCMDID))

    def _delivered(self, sm: ShortMessage) -> int:
        """Queue the receipt or inbound message a deliver_sm carries; the status to answer."""
        now = datetime.now(UTC)
        try:
            receipt = receipt_of(sm)
            if receipt is None:
                self._events.put_nowait(self._inbound(sm, now))
                return CommandStatus.ESME_ROK
        except PduError as error:
            log.warning("smpp_bad_deliver_sm", gateway=self.name, error=str(error))
            return error.status
        status = receipt.status
        if status is None:
            log.warning("smpp_unknown_receipt_state", gateway=self.name, stat=receipt.stat)
            return CommandStatus.ESME_ROK
        error_code = receipt.err if receipt.err not in (None, "", "0", "00", "000") else None
        self._events.put_nowait(Receipt(self.name, receipt.message_id, status, now, error_code))
        return CommandStatus.ESME_ROK

    def _inbound(self, sm: ShortMessage, now: datetime) -> Inbound:
        raw = sm.short_message or find_tlv(sm.tlvs, Tag.MESSAGE_PAYLOAD) or b""
        if sm.esm_class & ESM_UDHI and raw:
            raw = raw[1 + raw[0] :]  # the UDH's own length octet, then the UDH
        text = decode_text(raw, sm.data_coding)
        sender = sm.source_addr
        if sm.source_addr_ton == Ton.INTERNATIONAL and sender.isdigit():
            sender = "+" + sender
        return Inbound(self.name, sender, sm.destination_addr or None, text, now)

    async def _keep_alive(self, link: _Link) -> None:
        while link.lost is None:
            await self.clock.sleep(self.enquire_link_s)
            try:
                await self._request(link, CommandId.ENQUIRE_LINK, None)
            except TimeoutError:
                self._lost(link, "no answer to enquire_link")
                return
            except _Lost:
                return

    # -- one message -----------------------------------------------------------------------------

    def _bodies(self, message: Message) -> list[ShortMessage]:
        coding = data_coding_for(message.text)
        source, source_ton, source_npi = address(message.sender or self.sender or "")
        dest, dest_ton, dest_npi = address(message.to)
        base = ShortMessage(
            destination_addr=dest,
            dest_addr_ton=dest_ton,
            dest_addr_npi=dest_npi,
            source_addr=source,
            source_addr_ton=source_ton if source else Ton.UNKNOWN,
            source_addr_npi=source_npi if source else Npi.UNKNOWN,
            registered_delivery=1,  # a receipt on delivery or failure
            data_coding=coding,
        )
        parts = split_text(message.text, coding)
        if self.use_payload and len(parts) > 1:
            return [with_payload(base, message.text)]
        if len(parts) == 1:
            return [replace(base, short_message=encode_text(parts[0], coding))]
        self._concat_ref = (self._concat_ref + 1) % 256
        return concatenated(base, parts, self._concat_ref)

    async def _submit_one(self, message: Message) -> SubmitResult:
        if self.closed:
            return SubmitResult.retry(message.ref, f"gateway {self.name} is closed", 1.0)
        try:
            bodies = self._bodies(message)
        except PduError as error:
            return SubmitResult.rejected(message.ref, f"{self.name}: {error}")
        if not self.breaker.allow():
            return SubmitResult.retry(
                message.ref, f"gateway {self.name}: circuit open", self.breaker.cooldown
            )
        await self._rate.acquire(max(message.segments, len(bodies)))
        answer = await self._send(message.ref, bodies)
        self.breaker.record(
            answer.healthy, gateway=self.name, ref=message.ref, reason=answer.result.reason
        )
        return answer.result

    async def _send(self, ref: str, bodies: list[ShortMessage]) -> _Answer:
        first_id: str | None = None
        for number, body in enumerate(bodies, start=1):
            part = f" (part {number} of {len(bodies)})" if len(bodies) > 1 else ""
            try:
                link = await self._ready()
                async with self._window.slot():
                    answer = await self._request(link, CommandId.SUBMIT_SM, body)
            except SmppError as error:
                return _fault(ref, f"{error}{part}")
            except TimeoutError:
                return _fault(
                    ref, f"{self.name}: no submit_sm_resp within {self.timeout:g} s{part}"
                )
            except _Lost as error:
                return _fault(ref, f"{self.name}: connection lost, in doubt ({error}){part}")
            outcome = self._outcome(ref, answer, part)
            if outcome is not None:
                return outcome
            if first_id is None:
                assert isinstance(answer.body, MessageIdResp)  # noqa: S101 - checked in _outcome
                first_id = answer.body.message_id
        self._throttled = 0
        assert first_id is not None  # noqa: S101 - bodies is never empty
        return _Answer(SubmitResult.accepted(ref, first_id), True)

    def _outcome(self, ref: str, answer: Pdu, part: str) -> _Answer | None:
        """None when the part was accepted, else the message's result."""
        status = answer.command_status
        if answer.command_id == CommandId.GENERIC_NACK:
            return _fault(ref, f"{self.name}: generic_nack {status_name(status)}{part}")
        if status == CommandStatus.ESME_ROK:
            if not isinstance(answer.body, MessageIdResp) or not answer.body.message_id:
                return _fault(ref, f"{self.name}: submit_sm_resp without a message_id{part}")
            return None
        reason = f"{self.name}: {status_name(status)}{part}"
        if status in (CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL):
            after = min(THROTTLE_RETRY_AFTER * 2**self._throttled, MAX_THROTTLE_RETRY_AFTER)
            self._throttled += 1
            return _Answer(SubmitResult.retry(ref, reason, after), True)
        if is_temporary(status) or status == CommandStatus.ESME_RINVBNDSTS:
            return _fault(ref, reason)
        return _Answer(SubmitResult.rejected(ref, reason), True)


def _fault(ref: str, reason: str) -> _Answer:
    return _Answer(SubmitResult.retry(ref, reason, FAULT_RETRY_AFTER), False)
