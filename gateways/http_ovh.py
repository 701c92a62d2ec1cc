"""OVHcloud's SMS API (api.ovh.com 1.0), signed requests, delivery reports and incoming SMS.

Sending: ``POST {base}/1.0/sms/{serviceName}/jobs`` with a JSON body ``{"receivers": [...],
"message", "charset": "UTF-8", "noStopClause", "priority", "sender" | "senderForResponse"}``, one
job per message (OVH's own advice for messages sent as they come, and the only way to know which
id belongs to which recipient). The answer is a sending report ``{"ids", "invalidReceivers",
"validReceivers", "totalCreditsRemoved"}``: an invalid receiver is REJECTED, an id ACCEPTED.

Every call is signed: headers X-Ovh-Application (AK), X-Ovh-Consumer (CK), X-Ovh-Timestamp and
X-Ovh-Signature = "$1$" + hex(SHA1(AS + "+" + CK + "+" + METHOD + "+" + full URL + "+" + body +
"+" + timestamp)). The timestamp is OVH's: ``GET /1.0/auth/time`` at start gives the offset from
our clock (as OVH's own client libraries do).

Delivery reports: OVH calls the SMS service's callback URL (set once on the service, in the
control panel or ``PUT /sms/{serviceName}``) with query parameters ``id`` (the job's SMS id) and
``dlr`` (1 delivered, 2 or 16 failed; other values are intermediate and ignored). Those calls are
not signed: give the callback URL a secret ``token`` query parameter, which ``webhook_app``
checks on every request (without a ``callback_token`` every report is refused; the configuration
requires one). Reports are answered 204 only once stored. Incoming SMS are read by polling
``GET /sms/{serviceName}/incoming`` (then each id; DELETE only once it is stored, so that nothing
is lost, and nothing read twice but what a crash cut short).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from gateways.base import (
    GatewayError,
    Inbound,
    Message,
    Receipt,
    ReceiptStatus,
    SubmitResult,
)
from gateways.breaker import FAULT_RETRY_AFTER, Answer, CircuitBreaker, fault
from gateways.events import form_of
from gateways.http_common import (
    DEFAULT_TIMEOUT,
    THROTTLE_RETRY_AFTER,
    HttpGateway,
    parse_retry_after,
    scrub,
)
from gateways.limits import Clock

log = structlog.get_logger("gateways.ovh")

# errorCode values that are about our credentials or clock, whatever the HTTP status says.
AUTH_ERRORS = {
    "INVALID_KEY",
    "INVALID_CREDENTIAL",
    "INVALID_SIGNATURE",
    "NOT_CREDENTIAL",
    "NOT_GRANTED_CALL",
    "FORBIDDEN",
    "QUERY_TIME_OUT",
}
DLR_STATUSES = {"1": ReceiptStatus.DELIVERED, "2": ReceiptStatus.FAILED, "16": ReceiptStatus.FAILED}


def ovh_signature(
    secret: str, consumer_key: str, *, method: str, url: str, body: str, timestamp: int
) -> str:
    data = "+".join([secret, consumer_key, method.upper(), url, body, str(timestamp)])
    return "$1$" + hashlib.sha1(data.encode()).hexdigest()  # noqa: S324 - OVH's protocol


def same_number(a: str, b: str) -> bool:
    """OVH may echo a number as +33…, 0033… or 33…: compare the digits after the prefix."""

    def digits(n: str) -> str:
        d = "".join(c for c in n if c.isdigit())
        return d[2:] if d.startswith("00") else d

    return digits(a) == digits(b)


class OvhGateway(HttpGateway):
    kind = "ovh"

    def __init__(
        self,
        name: str,
        *,
        application_key: str,
        application_secret: str,
        consumer_key: str,
        service_name: str,
        sender: str | None = None,
        no_stop_clause: bool = True,  # alerts are not marketing: no "STOP" mention, any hour
        priority: str = "high",
        callback_token: str | None = None,
        poll_interval: float | None = None,  # seconds between reads of incoming SMS; None: never
        sync_time: bool = True,
        base_url: str = "https://eu.api.ovh.com",
        wall: Callable[[], float] = time.time,
        rate: float = 0.0,
        window: int = 10,
        timeout: float = DEFAULT_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            name,
            rate=rate,
            window=window,
            timeout=timeout,
            session=session,
            breaker=breaker,
            clock=clock,
        )
        self.application_key = application_key
        self.application_secret = application_secret
        self.consumer_key = consumer_key
        self.service_name = service_name
        self.sender = sender
        self.no_stop_clause = no_stop_clause
        self.priority = priority
        self.callback_token = callback_token
        self.poll_interval = poll_interval
        self.sync_time = sync_time
        self.base_url = base_url.rstrip("/")
        self.wall = wall
        self.time_delta = 0  # OVH's clock minus ours, in seconds
        self._poller: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        await super().start()
        if self.sync_time:
            await self._sync_time()
        if self.poll_interval and self._poller is None:
            self._poller = asyncio.get_running_loop().create_task(self._poll_loop())

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        await super().close()

    async def _sync_time(self) -> None:
        try:
            async with self.session.get(
                f"{self.base_url}/1.0/auth/time", timeout=self.request_timeout()
            ) as response:
                server = int(await response.text())
            self.time_delta = server - int(self.wall())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("ovh_time_sync_failed", gateway=self.name, error=type(exc).__name__)

    # -- signed calls --------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base_url}/1.0/sms/{self.service_name}{path}"

    def headers(self, method: str, url: str, body: str) -> dict[str, str]:
        timestamp = int(self.wall()) + self.time_delta
        signature = ovh_signature(
            self.application_secret,
            self.consumer_key,
            method=method,
            url=url,
            body=body,
            timestamp=timestamp,
        )
        return {
            "X-Ovh-Application": self.application_key,
            "X-Ovh-Consumer": self.consumer_key,
            "X-Ovh-Timestamp": str(timestamp),
            "X-Ovh-Signature": signature,
            "Content-Type": "application/json",
        }

    async def call(self, method: str, path: str, payload: object = None) -> tuple[int, Any, str]:
        """One signed call: (status, decoded JSON or None, Retry-After header or "")."""
        url = self.url(path)
        body = "" if payload is None else json.dumps(payload, separators=(",", ":"))
        async with self.session.request(
            method,
            url,
            data=body.encode() if body else None,
            headers=self.headers(method, url, body),
            timeout=self.request_timeout(),
        ) as response:
            try:
                decoded = await response.json(content_type=None)
            except ValueError:
                decoded = None
            return response.status, decoded, response.headers.get("Retry-After", "")

    async def check(self) -> str:
        """An authenticated no-op: read the SMS service."""
        status, body, _ = await self.call("GET", "")
        if status != 200 or not isinstance(body, dict):
            raise GatewayError(f"ovh answered {status} to the service check")
        return f"service {body.get('status', '?')}, {body.get('creditsLeft', '?')} credits left"

    # -- sending -------------------------------------------------------------------------------

    def job(self, message: Message) -> dict[str, object]:
        job: dict[str, object] = {
            "receivers": [message.to],
            "message": message.text,
            "charset": "UTF-8",
            "noStopClause": self.no_stop_clause,
            "priority": self.priority,
        }
        sender = message.sender or self.sender
        if sender:
            job["sender"] = sender
            job["senderForResponse"] = False
        else:
            job["senderForResponse"] = True  # a short number residents can answer (STOP)
        return job

    async def _send(self, message: Message) -> Answer:
        status, body, retry_after = await self.call("POST", "/jobs", self.job(message))
        return self._answer(message, status, body, retry_after)

    def _answer(self, message: Message, status: int, body: object, retry_after: str) -> Answer:
        ref = message.ref
        fields = body if isinstance(body, dict) else {}
        if status == 200:
            invalid = fields.get("invalidReceivers") or []
            if any(isinstance(n, str) and same_number(n, message.to) for n in invalid):
                return Answer(SubmitResult.rejected(ref, "ovh: invalid receiver"), True)
            ids = fields.get("ids") or []
            if not ids:
                # Accepted: a resend may be a second copy (see Twilio's); in doubt.
                reason = "ovh accepted the job but gave no SMS id"
                return Answer(SubmitResult.in_doubt(ref, reason), False)
            return Answer(SubmitResult.accepted(ref, str(ids[0])), True)
        code = str(fields.get("errorCode") or "")
        said = scrub(str(fields.get("message") or "")).strip() or f"HTTP {status}"
        if status == 429:
            wait = parse_retry_after(retry_after, THROTTLE_RETRY_AFTER)
            return Answer(SubmitResult.retry(ref, f"throttled (ovh: {said})", wait), True)
        if status in (401, 403) or code in AUTH_ERRORS:
            return fault(
                ref,
                f"ovh refused our credentials ({code or status}: {said}): check the "
                "application key, secret, consumer key and the clock",
            )
        if status == 400:
            return Answer(SubmitResult.rejected(ref, f"ovh refused the message: {said}"), True)
        wait = parse_retry_after(retry_after, FAULT_RETRY_AFTER)
        if status >= 500:
            return fault(ref, f"ovh server error ({said})", wait)
        return fault(ref, f"ovh refused the request ({status}: {said})", wait)

    # -- delivery reports ----------------------------------------------------------------------

    def webhook_app(self, public_url: str | None = None) -> web.Application:
        """GET or POST /dlr?id=…&dlr=…[&token=…]: OVH's delivery report callback. ``public_url``
        is not needed: OVH does not sign its callbacks (the token authenticates them)."""
        app = web.Application()
        app[GATEWAY_KEY] = self
        app.router.add_route("GET", "/dlr", _dlr_handler)
        app.router.add_route("POST", "/dlr", _dlr_handler)
        return app

    def receipt(self, params: dict[str, str]) -> Receipt | None:
        sms_id, state = params.get("id"), DLR_STATUSES.get(params.get("dlr", ""))
        if not sms_id or state is None:
            return None
        error = None if state is ReceiptStatus.DELIVERED else f"ovh dlr {params['dlr']}"
        return Receipt(self.name, sms_id, state, self.now(), error)

    # -- incoming SMS --------------------------------------------------------------------------

    async def poll_incoming(self) -> int:
        """Read, queue and delete the incoming SMS; returns how many were queued."""
        status, ids, _ = await self.call("GET", "/incoming")
        if status != 200 or not isinstance(ids, list):
            log.warning("ovh_incoming_list_failed", gateway=self.name, status=status)
            return 0
        queued = 0
        for sms_id in ids:
            status, sms, _ = await self.call("GET", f"/incoming/{sms_id}")
            if status != 200 or not isinstance(sms, dict) or not sms.get("sender"):
                continue
            inbound = Inbound(
                self.name,
                str(sms["sender"]),
                None,
                str(sms.get("message", "")),
                self.now(),
                str(sms_id),
            )
            if not await self.deliver(inbound):
                return queued  # not stored: left at OVH, read again at the next poll
            queued += 1
            await self.call("DELETE", f"/incoming/{sms_id}")  # only once it is stored
        return queued

    async def _poll_loop(self) -> None:
        interval = self.poll_interval or 10.0
        while not self.closed:
            try:
                await self.poll_incoming()
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("ovh_incoming_poll_failed", gateway=self.name, error=type(exc).__name__)
            await self.clock.sleep(interval)


GATEWAY_KEY: web.AppKey[OvhGateway] = web.AppKey("ovh_gateway")


async def _dlr_handler(request: web.Request) -> web.Response:
    """204 once the report is stored; 503 when it is not (OVH calls again). Every request is
    authenticated by the token: a gateway without one refuses them all (403)."""
    gateway = request.app[GATEWAY_KEY]
    params = dict(request.query)
    if request.method == "POST":
        params.update(await form_of(request))
    token = gateway.callback_token
    given = params.get("token", "")
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return web.Response(status=403, text="bad or missing token")
    if not params.get("id") or not params.get("dlr"):
        return web.Response(status=400, text="id and dlr are required")
    receipt = gateway.receipt(params)  # None: an intermediate state, nothing to keep
    if receipt is not None and not await gateway.deliver(receipt):
        return web.Response(status=503, text="not stored, try again")
    return web.Response(status=204)
