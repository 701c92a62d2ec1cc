"""An SMPP 3.4 session on asyncio: one ESME bound as a transceiver to an operator's SMSC.

One TCP connection (a ``Link``) carries everything: our requests (bind_transceiver, submit_sm,
enquire_link, unbind), matched to their responses by sequence number, and the SMSC's requests:
deliver_sm (delivery receipts and residents' messages) is handed to ``deliver`` and answered
once that says what to answer (ESME_ROK once stored, or an error so that the SMSC delivers it
again); enquire_link and unbind are answered at once by the reader task. Bytes are made and read
by `gateways.smpp.pdu` only. A lost connection fails every pending request with `Lost` ("in
doubt": the SMSC may have taken it) and the session reconnects with an exponential back-off.
Phone numbers are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from gateways.breaker import CircuitBreaker
from gateways.limits import Clock
from gateways.smpp.bodies import Bind, BindResp, MessageIdResp, ShortMessage
from gateways.smpp.codes import RESPONSE_BIT, CommandId, CommandStatus, PduError, status_name
from gateways.smpp.pdu import HEADER, Pdu, decode, encode, generic_nack, respond, split_frames

log = structlog.get_logger("gateways.smpp")

# A deliver_sm's body -> the command_status to answer, once it is known (stored, or not).
Deliver = Callable[[ShortMessage], Awaitable[int]]


class SmppError(ConnectionError):
    """The SMSC cannot be reached or bound; the message says why, for the person on call."""


class SmppBindError(SmppError):
    """The SMSC refused the bind (wrong system_id, password, system_type, or already bound)."""


class Lost(ConnectionError):
    """The connection went away while a request awaited its response."""


@dataclass(eq=False)
class Link:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    pending: dict[int, asyncio.Future[Pdu]] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    answering: set[asyncio.Task[None]] = field(default_factory=set)  # deliver_sm being stored
    smsc_id: str = ""
    lost: str | None = None  # why it ended, once it has

    def send(self, pdu: Pdu) -> None:
        if self.lost is None and not self.writer.is_closing():
            self.writer.write(encode(pdu))

    def fail_pending(self, reason: str) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_exception(Lost(reason))
        self.pending.clear()


class Session:
    """The bind, kept: connects on demand, answers the SMSC, reconnects after a loss."""

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        system_id: str,
        password: str,
        system_type: str,
        timeout: float,
        enquire_link_s: float,
        reconnect_min: float,
        reconnect_max: float,
        unbind_wait: float,
        breaker: CircuitBreaker,
        clock: Clock,
        deliver: Deliver,
    ) -> None:
        self.name = name
        self.host, self.port = host, port
        self.system_id, self.system_type = system_id, system_type
        self._password = password
        self.timeout = timeout
        self.enquire_link_s = enquire_link_s
        self.reconnect_min, self.reconnect_max = reconnect_min, reconnect_max
        self.unbind_wait = unbind_wait
        self.breaker = breaker  # a bind that fails counts against the gateway
        self.clock = clock
        self.deliver = deliver
        self._sequence = itertools.count(1)
        self._link: Link | None = None
        self._bound = asyncio.Event()
        self._connecting = asyncio.Lock()
        self._reconnect: asyncio.Task[None] | None = None
        self.closed = False

    # -- lifecycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and bind; raises SmppError (SmppBindError when refused) saying why."""
        self.closed = False
        await self._connect()

    async def close(self) -> None:
        """Unbind (waiting briefly for unbind_resp) and close the socket."""
        self.closed = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect
        link, self._link = self._link, None  # from now on, its end is no loss
        self._bound.clear()
        if link is not None:
            with contextlib.suppress(SmppError, PduError, TimeoutError, OSError):
                await self.request(link, CommandId.UNBIND, None, self.unbind_wait)
            await self._shut(link, "closed by alertd")

    async def check(self) -> str:
        """Bind if need be, then one enquire_link round trip."""
        link = await self.ready()
        started = time.monotonic()
        answer = await self.request(link, CommandId.ENQUIRE_LINK, None)
        if answer.command_status != CommandStatus.ESME_ROK:
            return f"enquire_link answered {status_name(answer.command_status)}"
        took = (time.monotonic() - started) * 1000
        return f"bound to {link.smsc_id or '?'} as {self.system_id}, enquire_link {took:.0f} ms"

    # -- connecting ------------------------------------------------------------------------------

    async def _connect(self) -> Link:
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

    async def _open(self) -> Link:
        where = f"{self.name}: SMSC {self.host}:{self.port}"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout
            )
        except (OSError, TimeoutError) as error:
            raise SmppError(f"{where} unreachable ({error or type(error).__name__})") from error
        link = Link(reader, writer)
        link.tasks.append(asyncio.create_task(self._read(link)))
        body = Bind(system_id=self.system_id, password=self._password, system_type=self.system_type)
        try:
            answer = await self.request(link, CommandId.BIND_TRANSCEIVER, body)
        except (TimeoutError, Lost) as error:
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

    async def ready(self) -> Link:
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

    def _lost(self, link: Link, reason: str) -> None:
        """The connection ended: pending requests are in doubt; reconnect unless closing."""
        if link.lost is not None:
            return
        link.lost = reason
        link.fail_pending(reason)
        link.writer.close()
        current = asyncio.current_task()
        for task in (*link.tasks, *link.answering):
            if task is not current:
                task.cancel()  # an unanswered deliver_sm: the SMSC delivers it again
        if self._link is link:
            self._link = None
            self._bound.clear()
            log.warning("smpp_connection_lost", gateway=self.name, reason=reason)
            if not self.closed:
                self._reconnect = asyncio.create_task(self._reconnect_loop())

    async def _shut(self, link: Link, reason: str) -> None:
        self._lost(link, reason)
        await asyncio.gather(*link.tasks, return_exceptions=True)
        with contextlib.suppress(OSError):
            await link.writer.wait_closed()

    # -- requests and the reader -----------------------------------------------------------------

    async def request(
        self, link: Link, command: CommandId, body: Bind | ShortMessage | None, within: float = 0
    ) -> Pdu:
        """Send a request and wait for its response (or generic_nack); raises TimeoutError or
        Lost."""
        if link.lost is not None:
            raise Lost(link.lost)
        sequence = next(self._sequence) % 0x7FFFFFFF or next(self._sequence)
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        link.pending[sequence] = future
        try:
            link.send(Pdu(command, sequence, body))
            return await asyncio.wait_for(future, within or self.timeout)
        finally:
            link.pending.pop(sequence, None)

    async def _read(self, link: Link) -> None:
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

    def _handle(self, link: Link, frame: bytes) -> None:
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
            task = asyncio.create_task(self._answer_deliver(link, pdu, pdu.body))
            link.answering.add(task)
            task.add_done_callback(link.answering.discard)
        elif pdu.command_id == CommandId.UNBIND:
            link.send(respond(pdu))
            self._lost(link, "unbound by the SMSC")
        else:
            link.send(generic_nack(pdu.sequence_number, CommandStatus.ESME_RINVCMDID))

    async def _answer_deliver(self, link: Link, pdu: Pdu, body: ShortMessage) -> None:
        """deliver_sm_resp once what it carries is stored (or refused): the reader goes on
        meanwhile, so receipts are stored and answered concurrently, as SMPP allows."""
        link.send(respond(pdu, MessageIdResp(), await self.deliver(body)))

    async def _keep_alive(self, link: Link) -> None:
        while link.lost is None:
            await self.clock.sleep(self.enquire_link_s)
            try:
                await self.request(link, CommandId.ENQUIRE_LINK, None)
            except TimeoutError:
                self._lost(link, "no answer to enquire_link")
                return
            except Lost:
                return
