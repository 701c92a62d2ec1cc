"""The Gateway protocol over SMPP 3.4: messages in, submit_sm out through a `Pool` of binds,
delivery receipts and residents' messages (deliver_sm, on any bind) out as events.

A message goes to the bind that is up with the fewest messages on it; there it waits for the
bind's throttle pause (`Gate`), its rate (in segments) and, for each submit_sm, a slot in its
window, held until the submit_sm_resp or until the link is reset. A text that fits one SMS goes
in one submit_sm; a longer one is split (153 GSM-7 septets or 67 UCS-2 units a part, never
cutting an escape or a surrogate pair) and sent as parts with a concatenation UDH or the SAR
TLVs, or whole in message_payload (``long_messages``). Every part's id is kept.

Outcomes, by `statuses.classify` (SMPP 3.4, overridable per gateway): ok -> the next part, then
ACCEPTED (an empty id is accepted too: no receipt will name it; counted); throttled -> the bind
pauses and the same part goes again after the pause, in order (RETRY after ``throttle_retries``
answers); temporary -> RETRY, a breaker failure; permanent -> REJECTED; configuration -> RETRY
and the breaker opens (failover). Not written on a link (none up, lost before the write) ->
RETRY; written, then no answer (timeout, lost link) -> IN_DOUBT; a later part failing for now
after an earlier one was accepted -> IN_DOUBT (the message goes whole again: counted). A lost
connection is one breaker failure, counted by the session, not one per message.
Phone numbers are never logged.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import structlog

from gateways.base import Event, Limits, Message, Outcome, Receipt, Share, SubmitResult
from gateways.breaker import Answer, CircuitBreaker
from gateways.events import EventQueue
from gateways.limits import Clock, Pacer, SystemClock
from gateways.smpp import ids, statuses
from gateways.smpp.addressing import address, validity
from gateways.smpp.bodies import MessageIdResp, ShortMessage
from gateways.smpp.codes import CommandId, CommandStatus, Npi, PduError, Ton, status_name
from gateways.smpp.gate import Gate
from gateways.smpp.link import Endpoint, Lost, ResponseTimeout, SmppError
from gateways.smpp.pdu import Pdu
from gateways.smpp.pool import Bind, Pool
from gateways.smpp.receipts import inbound_of, receipt_of
from gateways.smpp.session import Session
from gateways.smpp.text import (
    concatenated,
    data_coding_for,
    encode_text,
    sar_parts,
    split_text,
    with_payload,
)

log = structlog.get_logger("gateways.smpp")

BIND_MODES = ("transceiver", "transmitter+receiver")
LONG_MESSAGES = ("udh", "sar", "payload")
__all__ = ["BIND_MODES", "LONG_MESSAGES", "SmppGateway", "address", "validity"]


class SmppGateway:
    """The Gateway protocol over a pool of SMPP 3.4 binds. ``rate`` and ``window`` are per
    bind, as operators sell them; ``limits`` is the gateway's whole (N times)."""

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
        binds: int = 1,
        bind: str = "transceiver",
        tls: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        enquire_link_s: float = 30.0,
        use_payload: bool = False,
        long_messages: str = "udh",
        receipt_id_format: str = "auto",
        status_overrides: Mapping[int, str] | None = None,
        throttle_pause_s: float = 1.0,
        throttle_retries: int = 5,
        source_ton: int | None = None,
        source_npi: int | None = None,
        dest_ton: int | None = None,
        dest_npi: int | None = None,
        default_charset: str = "gsm7",
        urgent_priority: int = 1,
        reconnect_min: float = 1.0,
        reconnect_max: float = 60.0,
        unbind_wait: float = 1.0,
        breaker: CircuitBreaker | None = None,
        clock: Clock | None = None,
        wallclock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if bind not in BIND_MODES:
            raise ValueError(f"bind must be one of {', '.join(BIND_MODES)}, not {bind!r}")
        if long_messages not in LONG_MESSAGES:
            raise ValueError(f"long_messages must be one of {', '.join(LONG_MESSAGES)}")
        if receipt_id_format not in ids.FORMATS:
            raise ValueError(f"receipt_id_format must be one of {', '.join(ids.FORMATS)}")
        self.name = name
        self.limits = Limits(rate=rate * binds, window=window * binds)
        self.binds = binds  # the account's: shared by the daemons (see share)
        self.sender = sender
        self.long_messages = "payload" if use_payload else long_messages
        self.receipt_id_format = receipt_id_format
        self.status_overrides = dict(status_overrides or {})
        self.throttle_pause_s, self.throttle_retries = throttle_pause_s, throttle_retries
        self.source_ton, self.source_npi = source_ton, source_npi
        self.dest_ton, self.dest_npi = dest_ton, dest_npi
        self.charset = default_charset
        self.urgent_priority = urgent_priority
        self.clock = clock or SystemClock()
        self.wallclock = wallclock
        self.breaker = breaker or CircuitBreaker(clock=self.clock)
        self.counters = dict.fromkeys(
            ("accepted_without_id", "throttled", "partial_resends", "link_resets"), 0
        )

        def session(kind: str) -> Session:
            endpoint = Endpoint(host, port, system_id, password, system_type, kind, tls)
            return Session(
                name, endpoint, timeout=timeout, enquire_link_s=enquire_link_s,
                reconnect_min=reconnect_min, reconnect_max=reconnect_max,
                unbind_wait=unbind_wait, breaker=self.breaker, clock=self.clock,
                deliver=self._delivered,
            )  # fmt: skip

        pair = bind == "transmitter+receiver"
        self.pool = Pool(
            [
                Bind(
                    index,
                    session("transmitter" if pair else "transceiver"),
                    session("receiver") if pair else None,
                    Pacer(Limits(rate, window), self.clock),
                    Gate(self.clock),
                )
                for index in range(binds)
            ]
        )
        self._events = EventQueue()
        self._concat_ref = random.randrange(0x10000)  # noqa: S311 - a label, not a secret
        self.closed = True

    def __repr__(self) -> str:
        s = self.pool.binds[0].sender
        return f"SmppGateway({self.name!r}, {s.host}:{s.port}, system_id={s.system_id!r})"

    @property
    def session(self) -> Session:
        """The first bind's sending session (what a one-bind gateway has)."""
        return self.pool.binds[0].sender

    @property
    def late_responses(self) -> int:
        return sum(s.late_responses for s in self.pool.sessions())

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind every session; raises SmppError (SmppBindError when refused) when none of the
        binds that send could bind; the others keep trying in the background."""
        self._events.open()
        self.closed = False
        try:
            await self.pool.start()
        except BaseException:
            self.closed = True
            raise

    async def close(self) -> None:
        """Unbind (waiting briefly for unbind_resp), close the sockets, end the event stream."""
        self.closed = True
        await self.pool.close()
        self._events.close()

    async def check(self) -> str:
        """Bind if need be, then one enquire_link round trip per sending bind."""
        self.closed = False
        found = [await b.sender.check() for b in self.pool.binds]
        return found[0] if len(found) == 1 else f"{len(found)} binds: " + "; ".join(found)

    # -- the protocol ----------------------------------------------------------------------------

    def health(self) -> str:
        return self.breaker.state

    async def share(self, share: Share) -> None:
        """Hold ``share.binds`` of the account's binds (each at its contracted rate); none when
        the share is held."""
        await self.pool.resize(0 if share.held else share.binds, drain=share.drain)

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        return list(await asyncio.gather(*(self._submit_one(m) for m in messages)))

    def events(self) -> AsyncIterator[Event]:
        return self._events.events()

    # -- what the SMSC delivers ------------------------------------------------------------------

    async def _delivered(self, sm: ShortMessage) -> int:
        """Hand over the receipt or inbound message a deliver_sm carries; the status to answer,
        once it is stored (ESME_ROK) or is not (an error: the SMSC delivers it again). A
        receipt that cannot be read is stored as an inbound message, never refused for ever."""
        now = datetime.now(UTC)
        try:
            receipt = receipt_of(sm, self.charset)
        except PduError as error:
            log.warning("smpp_unreadable_receipt", gateway=self.name, error=str(error))
            receipt = None
        if receipt is None:
            return await self._deliver(inbound_of(self.name, sm, now, self.charset))
        status = receipt.status
        if status is None:
            log.warning("smpp_unknown_receipt_state", gateway=self.name, stat=receipt.stat)
            return CommandStatus.ESME_ROK
        error_code = receipt.err if receipt.err not in (None, "", "0", "00", "000") else None
        forms = ids.received(receipt.message_id, self.receipt_id_format)
        event = Receipt(self.name, forms[0], status, now, error_code, alternatives=forms[1:])
        return await self._deliver(event)

    async def _deliver(self, event: Event) -> int:
        if await self._events.deliver(event):
            return CommandStatus.ESME_ROK
        # Not stored (closing, or the daemon could not): the SMSC keeps it and delivers it again.
        return CommandStatus.ESME_RSYSERR

    # -- one message -----------------------------------------------------------------------------

    def _bodies(self, message: Message) -> list[ShortMessage]:
        coding = data_coding_for(message.text, self.charset)
        source, source_ton, source_npi = address(message.sender or self.sender or "")
        dest, dest_ton, dest_npi = address(message.to)
        base = ShortMessage(
            destination_addr=dest,
            dest_addr_ton=dest_ton if self.dest_ton is None else self.dest_ton,
            dest_addr_npi=dest_npi if self.dest_npi is None else self.dest_npi,
            source_addr=source,
            source_addr_ton=self._or(self.source_ton, source_ton if source else Ton.UNKNOWN),
            source_addr_npi=self._or(self.source_npi, source_npi if source else Npi.UNKNOWN),
            registered_delivery=1,  # a receipt on delivery or failure
            priority_flag=self.urgent_priority if message.urgent else 0,
            validity_period=validity(message.expires_at, self.wallclock()),
            data_coding=coding,
        )
        parts = split_text(message.text, coding)
        if len(parts) == 1:
            return [replace(base, short_message=encode_text(parts[0], coding, self.charset))]
        if self.long_messages == "payload":
            return [with_payload(base, message.text, self.charset)]
        self._concat_ref = (self._concat_ref + 1) % 0x10000
        if self.long_messages == "sar":
            return sar_parts(base, parts, self._concat_ref, self.charset)
        return concatenated(base, parts, self._concat_ref % 256, self.charset)

    @staticmethod
    def _or(configured: int | None, derived: int) -> int:
        return derived if configured is None else configured

    async def _submit_one(self, message: Message) -> SubmitResult:
        if self.closed:
            return SubmitResult.retry(message.ref, f"gateway {self.name} is closed", 1.0)
        try:
            bodies = self._bodies(message)
        except PduError as error:
            return SubmitResult.rejected(message.ref, f"{self.name}: {error}")
        if (refused := self.breaker.refusal(self.name, message.ref)) is not None:
            return refused
        while True:
            await self.pool.some_held()
            bind = self.pool.pick()
            bind.load += 1
            try:
                answer = await self._send(bind, message, bodies)
            finally:
                bind.load -= 1
            if answer is not None:  # None: the bind was given up before anything went
                return self.breaker.record(answer, gateway=self.name, ref=message.ref)

    async def _send(
        self, bind: Bind, message: Message, bodies: list[ShortMessage]
    ) -> Answer | None:
        ref, ticket = message.ref, bind.gate.ticket()
        found: list[str] = []
        await bind.gate.enter(ticket)
        await bind.pacer.wait(max(message.segments, len(bodies)))
        if not bind.held:  # given up (another daemon's now) while this waited: pick again
            bind.gate.answered(ticket)
            return None
        for number, body in enumerate(bodies, start=1):
            part = f" (part {number} of {len(bodies)})" if len(bodies) > 1 else ""
            throttled = 0
            while True:
                await bind.gate.enter(ticket)  # a throttled part goes again first, in order
                answer = await self._exchange(bind, ticket, ref, body, part)
                if answer is None:
                    continue  # the bind was paused meanwhile: back in the queue
                verdict = self._outcome(bind, ref, answer, part)
                if verdict == "throttled":
                    throttled += 1
                    if throttled <= self.throttle_retries:
                        continue
                    reason = f"{self.name}: throttled {throttled} times{part}"
                    retry = SubmitResult.retry(ref, reason, self.throttle_pause_s)
                    bind.gate.answered(ticket)
                    return self._partial(Answer(retry, True), found, part)
                bind.gate.answered(ticket)
                if isinstance(verdict, Answer):
                    return self._partial(verdict, found, part)
                found.append(self._message_id(answer))
                break
        return self._accepted(ref, found)

    def _message_id(self, answer: Pdu | Answer) -> str:
        body = answer.body if isinstance(answer, Pdu) else None
        message_id = body.message_id if isinstance(body, MessageIdResp) else ""
        return ids.submitted(message_id, self.receipt_id_format)

    def _accepted(self, ref: str, found: list[str]) -> Answer:
        given = [i for i in found if i]
        if len(given) < len(found):
            self.counters["accepted_without_id"] += 1
            log.info("smpp_accepted_without_id", gateway=self.name, ref=ref)
        parts = tuple(found) if len(found) > 1 and len(given) == len(found) else ()
        first = given[0] if given else None
        return Answer(SubmitResult(ref, Outcome.ACCEPTED, message_id=first, part_ids=parts), True)

    def _partial(self, answer: Answer, found: list[str], part: str) -> Answer:
        """A part that did not go after earlier ones went: not a plain RETRY (those parts are
        on their way to the phone), in doubt; the message goes whole again, counted."""
        result = answer.result
        if not found or result.outcome not in (Outcome.RETRY, Outcome.IN_DOUBT):
            return answer
        self.counters["partial_resends"] += 1
        log.warning("smpp_partial_message", gateway=self.name, ref=result.ref, accepted=len(found))
        reason = f"{result.reason}: {len(found)} earlier part(s) accepted, in doubt"
        in_doubt = SubmitResult.in_doubt(result.ref, reason, result.retry_after or 0.0)
        return Answer(in_doubt, answer.healthy)

    async def _exchange(
        self, bind: Bind, ticket: int, ref: str, body: ShortMessage, part: str
    ) -> Pdu | Answer | None:
        """One submit_sm on the bind, holding a window slot until its answer or the reset of
        its link; an Answer when there was none; None when the bind was paused meanwhile."""
        async with bind.pacer.slot():
            if not bind.gate.may_send(ticket):
                return None
            try:
                link = await bind.sender.ready()
            except SmppError as error:  # nothing written: simply not sent
                return Answer(SubmitResult.retry(ref, f"{error}{part}", 1.0), None)
            try:
                return await bind.sender.request(link, CommandId.SUBMIT_SM, body)
            except ResponseTimeout as error:
                self.counters["link_resets"] += 1
                reason = f"{self.name}: {error}, in doubt{part}"
                return Answer(SubmitResult.in_doubt(ref, reason), None)
            except Lost as error:
                reason = f"{self.name}: connection lost, in doubt ({error}){part}"
                return Answer(SubmitResult.in_doubt(ref, reason), None)

    def _outcome(
        self, bind: Bind, ref: str, answer: Pdu | Answer, part: str
    ) -> Answer | str | None:
        """None when the part was accepted, "throttled" (the bind is paused), else the
        message's result."""
        if isinstance(answer, Answer):
            return answer
        status = answer.command_status
        if answer.command_id == CommandId.GENERIC_NACK:
            reason = f"{self.name}: generic_nack {status_name(status)}{part}"
            return Answer(SubmitResult.retry(ref, reason, 5.0), False)
        klass = statuses.classify(status, self.status_overrides)
        if klass == statuses.OK:
            return None
        reason = f"{self.name}: {status_name(status)}{part}"
        if klass == statuses.THROTTLED:
            self.counters["throttled"] += 1
            bind.gate.pause(self.throttle_pause_s)
            return "throttled"
        if klass == statuses.PERMANENT:
            return Answer(SubmitResult.rejected(ref, reason), True)
        if klass == statuses.CONFIGURATION:
            self.breaker.open_now()
            log.error("smpp_configuration_error", gateway=self.name, status=status_name(status))
            reason = f"{reason}: configuration error, check this gateway's settings"
            return Answer(SubmitResult.retry(ref, reason, self.breaker.cooldown), None)
        if status == CommandStatus.ESME_RINVBNDSTS:  # the SMSC thinks we are not bound
            bind.sender.reset_current(reason)
        return Answer(SubmitResult.retry(ref, reason, 5.0), False)
