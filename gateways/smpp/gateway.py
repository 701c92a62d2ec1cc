"""The Gateway protocol over SMPP 3.4: messages in, submit_sm out through a `Session`, delivery
receipts and residents' messages (deliver_sm) out as events.

Submitting a message: wait for the circuit breaker, the rate limiter (in segments) and, for each
submit_sm, a window slot (the window bounds submit_sm awaiting their submit_sm_resp). A text that
fits one SMS goes in one submit_sm; a longer one is split (153 GSM-7 septets or 67 UCS-2 units a
part, never cutting an escape or a surrogate pair) and sent as parts with the concatenation UDH,
or whole in message_payload when ``use_payload`` is set.

Outcomes: ESME_ROK -> ACCEPTED (the first part's message_id); ESME_RTHROTTLED, ESME_RMSGQFUL ->
RETRY after a back-off that grows while the SMSC keeps throttling (the SMSC is up: not a breaker
failure); ESME_RSYSERR, a response timeout, a generic_nack, a lost connection -> RETRY, counted by
the breaker; any other status -> REJECTED with its name. A submit_sm that was written and then
got no submit_sm_resp in time, or whose connection was lost while it awaited it, is IN_DOUBT (the
SMSC may have taken it and sent it), also counted by the breaker; no link to write on is a RETRY.
Phone numbers are never logged.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import structlog

from gateways.base import Event, Limits, Message, Receipt, SubmitResult
from gateways.breaker import Answer, CircuitBreaker, fault
from gateways.events import EventQueue
from gateways.limits import Clock, Pacer, SystemClock
from gateways.smpp.bodies import MessageIdResp, ShortMessage
from gateways.smpp.codes import (
    CommandId,
    CommandStatus,
    Npi,
    PduError,
    Ton,
    is_temporary,
    status_name,
)
from gateways.smpp.pdu import Pdu
from gateways.smpp.receipts import inbound_of, receipt_of
from gateways.smpp.session import Lost, Session, SmppError
from gateways.smpp.text import concatenated, data_coding_for, encode_text, split_text, with_payload

log = structlog.get_logger("gateways.smpp")

THROTTLE_RETRY_AFTER = 1.0  # first back-off when throttled; doubles while it lasts
MAX_THROTTLE_RETRY_AFTER = 60.0


def address(number: str) -> tuple[str, int, int]:
    """(addr, ton, npi): E.164 as international digits, letters as alphanumeric, else unknown."""
    if number.startswith("+") and number[1:].isdigit():
        return number[1:], Ton.INTERNATIONAL, Npi.ISDN
    if number.isdigit():
        return number, Ton.UNKNOWN, Npi.ISDN
    return number, Ton.ALPHANUMERIC, Npi.UNKNOWN


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
        self.sender = sender
        self.use_payload = use_payload
        self.clock = clock or SystemClock()
        self.breaker = breaker or CircuitBreaker(clock=self.clock)
        self.session = Session(
            name,
            host=host,
            port=port,
            system_id=system_id,
            password=password,
            system_type=system_type,
            timeout=timeout,
            enquire_link_s=enquire_link_s,
            reconnect_min=reconnect_min,
            reconnect_max=reconnect_max,
            unbind_wait=unbind_wait,
            breaker=self.breaker,
            clock=self.clock,
            deliver=self._delivered,
        )
        self._pacer = Pacer(self.limits, self.clock)
        self._events = EventQueue()
        self._concat_ref = random.randrange(256)  # noqa: S311 - a label, not a secret
        self._throttled = 0  # throttled answers in a row, for the back-off

    def __repr__(self) -> str:
        s = self.session
        return f"SmppGateway({self.name!r}, {s.host}:{s.port}, system_id={s.system_id!r})"

    @property
    def closed(self) -> bool:
        return self.session.closed

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and bind; raises SmppError (SmppBindError when refused) saying why."""
        self._events.open()
        await self.session.open()

    async def close(self) -> None:
        """Unbind (waiting briefly for unbind_resp), close the socket, end the event stream."""
        if self.closed:
            return
        await self.session.close()
        self._events.close()

    async def check(self) -> str:
        """Bind if need be, then one enquire_link round trip."""
        return await self.session.check()

    # -- the protocol ----------------------------------------------------------------------------

    def health(self) -> str:
        return self.breaker.state

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        return list(await asyncio.gather(*(self._submit_one(m) for m in messages)))

    def events(self) -> AsyncIterator[Event]:
        return self._events.events()

    # -- what the SMSC delivers ------------------------------------------------------------------

    async def _delivered(self, sm: ShortMessage) -> int:
        """Hand over the receipt or inbound message a deliver_sm carries; the status to answer,
        once it is stored (ESME_ROK) or is not (an error: the SMSC delivers it again)."""
        now = datetime.now(UTC)
        try:
            receipt = receipt_of(sm)
            if receipt is None:
                return await self._deliver(inbound_of(self.name, sm, now))
        except PduError as error:
            log.warning("smpp_bad_deliver_sm", gateway=self.name, error=str(error))
            return error.status
        status = receipt.status
        if status is None:
            log.warning("smpp_unknown_receipt_state", gateway=self.name, stat=receipt.stat)
            return CommandStatus.ESME_ROK
        error_code = receipt.err if receipt.err not in (None, "", "0", "00", "000") else None
        return await self._deliver(Receipt(self.name, receipt.message_id, status, now, error_code))

    async def _deliver(self, event: Event) -> int:
        if await self._events.deliver(event):
            return CommandStatus.ESME_ROK
        # Not stored (closing, or the daemon could not): the SMSC keeps it and delivers it again.
        return CommandStatus.ESME_RSYSERR

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
        if (refused := self.breaker.refusal(self.name, message.ref)) is not None:
            return refused
        await self._pacer.wait(max(message.segments, len(bodies)))
        answer = await self._send(message.ref, bodies)
        return self.breaker.record(answer, gateway=self.name, ref=message.ref)

    async def _send(self, ref: str, bodies: list[ShortMessage]) -> Answer:
        first_id: str | None = None
        for number, body in enumerate(bodies, start=1):
            part = f" (part {number} of {len(bodies)})" if len(bodies) > 1 else ""
            try:
                link = await self.session.ready()
                async with self._pacer.slot():
                    if link.lost is not None:  # nothing written: simply not sent
                        return fault(ref, f"{self.name}: connection lost ({link.lost}){part}")
                    answer = await self.session.request(link, CommandId.SUBMIT_SM, body)
            except SmppError as error:
                return fault(ref, f"{error}{part}")
            except TimeoutError:
                timeout = self.session.timeout
                reason = f"{self.name}: no submit_sm_resp within {timeout:g} s, in doubt{part}"
                return Answer(SubmitResult.in_doubt(ref, reason), False)
            except Lost as error:
                reason = f"{self.name}: connection lost, in doubt ({error}){part}"
                return Answer(SubmitResult.in_doubt(ref, reason), False)
            outcome = self._outcome(ref, answer, part)
            if outcome is not None:
                return outcome
            if first_id is None:
                assert isinstance(answer.body, MessageIdResp)  # noqa: S101 - checked in _outcome
                first_id = answer.body.message_id
        self._throttled = 0
        assert first_id is not None  # noqa: S101 - bodies is never empty
        return Answer(SubmitResult.accepted(ref, first_id), True)

    def _outcome(self, ref: str, answer: Pdu, part: str) -> Answer | None:
        """None when the part was accepted, else the message's result."""
        status = answer.command_status
        if answer.command_id == CommandId.GENERIC_NACK:
            return fault(ref, f"{self.name}: generic_nack {status_name(status)}{part}")
        if status == CommandStatus.ESME_ROK:
            if not isinstance(answer.body, MessageIdResp) or not answer.body.message_id:
                return fault(ref, f"{self.name}: submit_sm_resp without a message_id{part}")
            return None
        reason = f"{self.name}: {status_name(status)}{part}"
        if status in (CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL):
            after = min(THROTTLE_RETRY_AFTER * 2**self._throttled, MAX_THROTTLE_RETRY_AFTER)
            self._throttled += 1
            return Answer(SubmitResult.retry(ref, reason, after), True)
        if is_temporary(status) or status == CommandStatus.ESME_RINVBNDSTS:
            return fault(ref, reason)
        return Answer(SubmitResult.rejected(ref, reason), True)
