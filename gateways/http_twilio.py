"""Twilio's Programmable Messaging REST API (2010-04-01), and its webhooks.

Sending: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP basic auth
(AccountSid:AuthToken) and form fields To, From (or MessagingServiceSid), Body, StatusCallback.
201 carries the message resource, whose ``sid`` is the message id. Errors carry a JSON body
``{"code", "message", "more_info", "status"}``:

- recipient errors (21211 invalid To, 21610 unsubscribed, 21614 not a mobile, ...): REJECTED,
  with Twilio's code and a reason that never contains the number;
- 429 (error 20429: "never processed and always safe to retry"): RETRY after Retry-After;
- 5xx, 401/403 (credentials: the gateway's fault, not the recipient's), other 4xx (our request
  or account setup): RETRY, counted by the circuit breaker, so the dispatcher fails over.

Webhooks (``webhook_app``): the StatusCallback form (MessageSid, MessageStatus, ErrorCode) becomes
a Receipt, the incoming-message form (MessageSid, From, To, Body) an Inbound. Every request must
carry a valid ``X-Twilio-Signature``: base64(HMAC-SHA1(AuthToken, URL + the POST parameters sorted
by name, each name followed by its value)); anything else is refused with 403 and queues nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

import aiohttp
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

API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "X-Twilio-Signature"

# Errors that are about this recipient or this message: sending again through Twilio will fail
# again. Everything else that is a 4xx is about our account or our request: the gateway's fault.
RECIPIENT_ERRORS = {
    21211: "invalid 'To' phone number",
    21408: "sending to this region is not enabled on the account",
    21610: "recipient has unsubscribed (replied STOP)",
    21612: "'To' number cannot be reached from this sender",
    21614: "'To' number is not a mobile number",
    21602: "message body is required",
    21617: "message body is too long",
}

# MessageStatus of a status callback -> receipt status; statuses before the carrier has the
# message (accepted, scheduled, queued, sending) tell nothing the 201 did not: no receipt.
STATUSES = {
    "sent": ReceiptStatus.BUFFERED,  # the carrier has it, no delivery report yet
    "delivered": ReceiptStatus.DELIVERED,
    "read": ReceiptStatus.DELIVERED,
    "undelivered": ReceiptStatus.FAILED,
    "failed": ReceiptStatus.FAILED,
    "canceled": ReceiptStatus.FAILED,
}


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The X-Twilio-Signature Twilio computes for a POST of ``params`` to ``url``."""
    data = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def basic_auth(login: str, password: str) -> str:
    """An Authorization header value (RFC 7617), built by hand: aiohttp.BasicAuth is deprecated
    in recent aiohttp and its replacement absent from older ones."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def valid_signature(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    if not signature:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.encode())


class TwilioGateway(HttpGateway):
    kind = "twilio"

    def __init__(
        self,
        name: str,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        base_url: str = "https://api.twilio.com",
        rate: float = 0.0,
        window: int = 10,
        timeout: float = DEFAULT_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("twilio: give a from_number or a messaging_service_sid")
        super().__init__(
            name,
            rate=rate,
            window=window,
            timeout=timeout,
            session=session,
            breaker=breaker,
            clock=clock,
        )
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback  # the public URL of webhook_app()'s /status
        self.base_url = base_url.rstrip("/")
        self._auth = {"Authorization": basic_auth(account_sid, auth_token)}

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def form(self, message: Message) -> dict[str, str]:
        form = {"To": message.to, "Body": message.text}
        if message.sender:
            form["From"] = message.sender
        elif self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        elif self.from_number:
            form["From"] = self.from_number
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        return form

    async def check(self) -> str:
        """An authenticated no-op: fetch the account resource."""
        url = f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}.json"
        async with self.session.get(
            url, headers=self._auth, timeout=self.request_timeout()
        ) as response:
            if response.status != 200:
                raise GatewayError(f"twilio answered {response.status} to the account check")
            body = await response.json(content_type=None)
            status = body.get("status", "?") if isinstance(body, dict) else "?"
            return f"account {status}"

    async def _send(self, message: Message) -> Answer:
        async with self.session.post(
            self.messages_url,
            data=self.form(message),
            headers=self._auth,
            timeout=self.request_timeout(),
        ) as response:
            status = response.status
            retry_after = response.headers.get("Retry-After")
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
        return self._answer(message.ref, status, body, retry_after)

    def _answer(self, ref: str, status: int, body: object, retry_after: str | None) -> Answer:
        fields = body if isinstance(body, dict) else {}
        code = fields.get("code")
        said = scrub(str(fields.get("message") or "")).strip()
        detail = f"twilio {code}: {said}" if code else f"twilio HTTP {status}"
        if status in (200, 201):
            sid = fields.get("sid")
            if not isinstance(sid, str) or not sid:
                # It took the message: sending it again may be a second copy, and without a
                # sid no receipt will ever say. In doubt, not a plain retry.
                reason = "twilio accepted the message but gave no sid"
                return Answer(SubmitResult.in_doubt(ref, reason), False)
            return Answer(SubmitResult.accepted(ref, sid), True)
        if status == 429:
            wait = parse_retry_after(retry_after, THROTTLE_RETRY_AFTER)
            return Answer(SubmitResult.retry(ref, f"throttled ({detail})", wait), True)
        if status in (401, 403):
            return fault(
                ref,
                f"twilio refused our credentials ({detail}): check the account SID and "
                "auth token of this gateway",
            )
        if isinstance(code, int) and code in RECIPIENT_ERRORS:
            reason = f"twilio {code}: {RECIPIENT_ERRORS[code]}"
            return Answer(SubmitResult.rejected(ref, reason), True)
        wait = parse_retry_after(retry_after, FAULT_RETRY_AFTER)
        if status >= 500:
            return fault(ref, f"twilio server error ({detail})", wait)
        return fault(ref, f"twilio refused the request ({detail})", wait)

    # -- webhooks ----------------------------------------------------------------------------

    def webhook_app(self, public_url: str | None = None) -> web.Application:
        """POST /status (StatusCallback) and POST /inbound (the number's messaging webhook).

        ``public_url`` is this application's base URL as Twilio calls it (behind a proxy the
        URL the daemon sees differs, and the signature covers the URL); None: the request's.
        """
        app = web.Application()
        app[GATEWAY_KEY] = self
        app[PUBLIC_URL_KEY] = (public_url or "").rstrip("/")
        app.router.add_post("/status", _status_handler)
        app.router.add_post("/inbound", _inbound_handler)
        return app

    def receipt(self, form: dict[str, str]) -> Receipt | None:
        sid = form.get("MessageSid") or form.get("SmsSid")
        state = STATUSES.get(form.get("MessageStatus") or form.get("SmsStatus") or "")
        if not sid or state is None:
            return None
        code = form.get("ErrorCode")
        return Receipt(self.name, sid, state, self.now(), f"twilio {code}" if code else None)

    def inbound(self, form: dict[str, str]) -> Inbound | None:
        sender = form.get("From")
        if not sender:
            return None
        return Inbound(
            self.name,
            sender,
            form.get("To") or None,
            form.get("Body", ""),
            self.now(),
            form.get("MessageSid") or form.get("SmsSid") or None,
        )


GATEWAY_KEY: web.AppKey[TwilioGateway] = web.AppKey("twilio_gateway")
PUBLIC_URL_KEY = web.AppKey("twilio_public_url", str)


async def _signed_form(request: web.Request) -> dict[str, str]:
    """The POSTed form once its signature is checked: 400 when it cannot be read (it cannot be
    checked either), 403 when the signature is wrong or missing."""
    gateway = request.app[GATEWAY_KEY]
    pairs = await form_of(request)
    base = request.app[PUBLIC_URL_KEY]
    url = base + request.path_qs if base else str(request.url)
    if not valid_signature(gateway.auth_token, url, pairs, request.headers.get(SIGNATURE_HEADER)):
        raise web.HTTPForbidden(text="bad or missing X-Twilio-Signature")
    return dict(pairs)


async def _status_handler(request: web.Request) -> web.Response:
    """204 once the receipt is stored; 503 when it is not (Twilio calls again)."""
    gateway = request.app[GATEWAY_KEY]
    form = await _signed_form(request)
    if not (form.get("MessageSid") or form.get("SmsSid")):
        return web.Response(status=400, text="no MessageSid in the status callback")
    if not (form.get("MessageStatus") or form.get("SmsStatus")):
        return web.Response(status=400, text="no MessageStatus in the status callback")
    receipt = gateway.receipt(form)  # None: an intermediate state, nothing to keep
    if receipt is not None and not await gateway.deliver(receipt):
        return web.Response(status=503, text="not stored, try again")
    return web.Response(status=204)


async def _inbound_handler(request: web.Request) -> web.Response:
    """The empty TwiML answer once the message is stored; 503 when it is not."""
    gateway = request.app[GATEWAY_KEY]
    form = await _signed_form(request)
    inbound = gateway.inbound(form)
    if inbound is None:
        return web.Response(status=400, text="no From in the inbound message")
    if not await gateway.deliver(inbound):
        return web.Response(status=503, text="not stored, try again")
    # An empty TwiML response: no automatic reply (alertd answers STOP itself if it must).
    return web.Response(text="<Response/>", content_type="text/xml")
