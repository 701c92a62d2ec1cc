"""One SMPP 3.4 bind on asyncio: a connection to the operator's SMSC, bound as a transceiver, a
transmitter or a receiver, kept up.

One TCP (or TLS) connection (a ``Link``) carries our requests (bind, submit_sm, enquire_link,
unbind), matched to their responses by sequence number, and the SMSC's: deliver_sm is handed to
``deliver`` and answered once that says what to answer (ESME_ROK once stored, or an error so
that the SMSC delivers it again); enquire_link and unbind are answered at once by the reader.

A request holds its place (the caller's window slot) until its response comes or the link is
reset: a response later than ``timeout`` resets the link (unbind, a short grace for the
responses still on their way, which are kept, then close); what is still unanswered then is
lost (`Lost`: in doubt, the SMSC may have taken it). A lost connection counts once against the
breaker, whatever was waiting on it. Reconnection: one attempt at a time, with a jittered
exponential back-off; callers waiting for the bind are told after that one attempt, never make
one each. Phone numbers are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import ssl
import time
from collections.abc import Awaitable, Callable

import structlog

from gateways.breaker import CircuitBreaker
from gateways.limits import Clock
from gateways.smpp.bodies import Bind, BindResp, MessageIdResp, ShortMessage
from gateways.smpp.codes import RESPONSE_BIT, CommandId, CommandStatus, PduError, status_name
from gateways.smpp.link import Endpoint, Link, Lost, ResponseTimeout, SmppBindError, SmppError
from gateways.smpp.pdu import HEADER, Pdu, decode, generic_nack, respond, split_frames

log = structlog.get_logger("gateways.smpp")

# A deliver_sm's body -> the command_status to answer, once it is known (stored, or not).
Deliver = Callable[[ShortMessage], Awaitable[int]]

BIND_COMMANDS = {
    "transceiver": CommandId.BIND_TRANSCEIVER,
    "transmitter": CommandId.BIND_TRANSMITTER,
    "receiver": CommandId.BIND_RECEIVER,
}


class Session:
    """One bind, kept: connects on demand, answers the SMSC, reconnects after a loss."""

    def __init__(
        self,
        name: str,
        endpoint: Endpoint,
        *,
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
        self.endpoint = endpoint
        self.host, self.port = endpoint.host, endpoint.port
        self.system_id = endpoint.system_id
        self.timeout = timeout
        self.enquire_link_s = enquire_link_s
        self.reconnect_min, self.reconnect_max = reconnect_min, reconnect_max
        self.unbind_wait = unbind_wait
        self.breaker = breaker  # a bind that fails, a connection lost: once each
        self.clock = clock
        self.deliver = deliver
        self.late_responses = 0  # answers that came after the timeout, during a reset
        self.bind_attempts = 0
        self._sequence = itertools.count(1)
        self._link: Link | None = None
        self._connecting = asyncio.Lock()
        self._attempt: asyncio.Future[None] | None = None  # the bind attempt under way
        self._reconnect: asyncio.Task[None] | None = None
        self._resets: set[asyncio.Task[None]] = set()
        self.last_error = "not bound yet"
        self.closed = False

    @property
    def bound(self) -> bool:
        return self._link is not None and self._link.usable

    # -- lifecycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and bind; raises SmppError (SmppBindError when refused) saying why."""
        self.closed = False
        await self._connect()

    def keep_trying(self) -> None:
        """Bind in the background (after a failed open), with the back-off."""
        if not self.closed and (self._reconnect is None or self._reconnect.done()):
            self._reconnect = asyncio.create_task(self._reconnect_loop(first_delay=True))

    async def close(self) -> None:
        """Unbind (waiting briefly for unbind_resp) and close the socket."""
        self.closed = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect
        resets = list(self._resets)
        for task in resets:
            task.cancel()
        await asyncio.gather(*resets, return_exceptions=True)
        link, self._link = self._link, None  # from now on, its end is no loss
        if link is not None:
            if link.usable:
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
        return (
            f"bound to {link.smsc_id or '?'} as {self.system_id} ({self.endpoint.bind}), "
            f"enquire_link {took:.0f} ms"
        )

    # -- connecting ------------------------------------------------------------------------------

    async def _connect(self) -> Link:
        async with self._connecting:
            if self._link is not None and self._link.usable:
                return self._link
            self.bind_attempts += 1
            try:
                link = await self._open()
            except SmppError as error:
                self.last_error = str(error)
                self.breaker.failure()
                log.warning("smpp_bind_failed", gateway=self.name, reason=str(error))
                self._attempted()
                raise
            self._link = link
            log.info("smpp_bound", gateway=self.name, smsc=link.smsc_id, bind=self.endpoint.bind)
            self._attempted()
            return link

    def _attempted(self) -> None:
        """Wake whoever waits for the current bind attempt, bound or not."""
        attempt, self._attempt = self._attempt, None
        if attempt is not None and not attempt.done():
            attempt.set_result(None)

    async def _open(self) -> Link:
        e = self.endpoint
        where = f"{self.name}: SMSC {e.host}:{e.port}"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    e.host, e.port, ssl=e.tls, server_hostname=e.host if e.tls else None
                ),
                self.timeout,
            )
        except ssl.SSLError as error:
            raise SmppError(f"{where}: TLS handshake failed ({error.reason or error})") from error
        except (OSError, TimeoutError) as error:
            raise SmppError(f"{where} unreachable ({error or type(error).__name__})") from error
        link = Link(reader, writer)
        link.tasks.append(asyncio.create_task(self._read(link)))
        body = Bind(system_id=e.system_id, password=e.password, system_type=e.system_type)
        try:
            answer = await self.request(link, BIND_COMMANDS[e.bind], body)
        except (TimeoutError, Lost) as error:
            await self._shut(link, "bind failed")
            raise SmppError(f"{where} did not answer the bind ({error or 'timeout'})") from None
        if not answer.command_id.is_response or answer.command_status:
            await self._shut(link, "bind refused")
            raise SmppBindError(
                f"{where} refused: {status_name(answer.command_status)} "
                f"(bind_{e.bind} as {e.system_id!r}: check system_id, password, system_type "
                "and how many binds the contract allows)"
            )
        if isinstance(answer.body, BindResp):
            link.smsc_id = answer.body.system_id
        if link.lost is not None:  # unbound or closed in the same read as the bind_resp
            await self._shut(link, link.lost)
            raise SmppError(f"{where} ended the connection right after the bind ({link.lost})")
        if self.enquire_link_s > 0:
            link.tasks.append(asyncio.create_task(self._keep_alive(link)))
        return link

    async def ready(self) -> Link:
        """The bound link; otherwise waits for the bind attempt under way (starting one if
        none is), and raises SmppError when it fails: one attempt however many callers wait."""
        if self._link is not None and self._link.usable:
            return self._link
        if self.closed:
            raise SmppError(f"{self.name}: closed")
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.create_task(self._reconnect_loop(first_delay=False))
        if self._attempt is None:
            self._attempt = asyncio.get_running_loop().create_future()
        attempt = self._attempt
        try:
            await asyncio.wait_for(asyncio.shield(attempt), self.timeout)
        except TimeoutError:
            raise SmppError(f"{self.name}: not bound, reconnecting ({self.last_error})") from None
        if self._link is None or not self._link.usable:
            raise SmppError(f"{self.name}: not bound, reconnecting ({self.last_error})")
        return self._link

    async def _reconnect_loop(self, *, first_delay: bool) -> None:
        delay = self.reconnect_min
        if first_delay:
            await self.clock.sleep(self._jitter(delay))
        while not self.closed:
            try:
                await self._connect()
            except SmppError:
                delay = min(delay * 2, self.reconnect_max)
                await self.clock.sleep(self._jitter(delay))
            else:
                return

    @staticmethod
    def _jitter(delay: float) -> float:
        """Between half and all of it: binds lost together do not come back together."""
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - spreading, not a secret

    def _lost(self, link: Link, reason: str) -> None:
        """The connection ended: what awaited an answer is in doubt; the breaker counts one
        failure; reconnect unless closing."""
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
            self.last_error = reason
            log.warning("smpp_connection_lost", gateway=self.name, reason=reason)
            if not self.closed:
                self.breaker.failure()
                if self._reconnect is None or self._reconnect.done():
                    self._reconnect = asyncio.create_task(self._reconnect_loop(first_delay=True))

    async def _shut(self, link: Link, reason: str) -> None:
        self._lost(link, reason)
        await asyncio.gather(*link.tasks, return_exceptions=True)
        with contextlib.suppress(OSError):
            await link.writer.wait_closed()

    def reset_current(self, reason: str) -> None:
        if self._link is not None:
            self.reset(self._link, reason)

    def reset(self, link: Link, reason: str) -> None:
        """Stop using the link, unbind, keep the answers that still come for a short grace,
        then close it: what is still unanswered is in doubt."""
        if link.resetting is not None or link.lost is not None:
            return
        link.resetting = reason
        log.warning("smpp_link_reset", gateway=self.name, reason=reason)
        task = asyncio.create_task(self._reset(link, reason))
        self._resets.add(task)
        task.add_done_callback(self._resets.discard)

    async def _reset(self, link: Link, reason: str) -> None:
        with contextlib.suppress(Lost, TimeoutError, PduError, OSError):
            await self.request(link, CommandId.UNBIND, None, self.unbind_wait, reset=True)
        await self._shut(link, reason)

    # -- requests and the reader -----------------------------------------------------------------

    async def request(
        self,
        link: Link,
        command: CommandId,
        body: Bind | ShortMessage | None,
        within: float = 0,
        *,
        reset: bool = False,
    ) -> Pdu:
        """Send a request and wait for its response (or generic_nack). No response within the
        timeout: TimeoutError for a bind or an unbind; for anything else the link is reset and
        the request keeps its place until the response comes in the grace (returned, counted
        late) or the link closes (`ResponseTimeout`)."""
        if link.lost is not None or (link.resetting is not None and not reset):
            raise Lost(link.lost or link.resetting or "")
        sequence = next(self._sequence) % 0x7FFFFFFF or next(self._sequence)
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        link.pending[sequence] = future
        limit = within or self.timeout
        try:
            link.send(Pdu(command, sequence, body))
            try:
                return await asyncio.wait_for(asyncio.shield(future), limit)
            except TimeoutError:
                if command in BIND_COMMANDS.values() or command == CommandId.UNBIND:
                    raise
            name = command.name.lower()
            self.reset(link, f"no {name}_resp within {limit:g} s")
            try:
                answer = await future
            except Lost:
                raise ResponseTimeout(f"no {name}_resp within {limit:g} s, link reset") from None
            self.late_responses += 1
            log.info("smpp_late_response", gateway=self.name, command=name)
            return answer
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
        while link.usable:
            await self.clock.sleep(self.enquire_link_s)
            try:
                await self.request(link, CommandId.ENQUIRE_LINK, None)
            except Lost:
                return
