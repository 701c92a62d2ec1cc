"""A fake SMS provider speaking Twilio's dialect, on loopback: the outside witness of tests.

It serves ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (basic auth checked) and
``GET /2010-04-01/Accounts/{AccountSid}.json``, answers as Twilio does (201 with the message
resource; errors as ``{"code", "message", "more_info", "status"}``), appends every message it
accepts to a log file as one JSON line ``{"sid", "to", "from", "body", "time"}`` (flushed at once:
after a kill -9 of alertd, the file says who got what, and how many times), and posts a signed
"delivered" status callback to the StatusCallback URL when one is given.

Faults, from the constructor or ``POST /control {"mode": ..., "retry_after": 2}``:
``ok``; ``fail`` (500, error 20500); ``throttle`` (429, error 20429, Retry-After); ``hang`` (no
answer until the mode changes or the server stops); ``slow`` (accepts and logs the message, sends
it, then answers only after ``delay`` seconds, or when the mode changes: a provider slower than
the client's timeout, whose messages go out all the same). It always rejects +33699999999 with error
21211, and gives an "undelivered" receipt (error 30003) to the numbers in ``fail_numbers``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
import structlog
from aiohttp import web

from gateways.http_twilio import API_VERSION, SIGNATURE_HEADER, basic_auth, twilio_signature

log = structlog.get_logger("gateways.fake_provider")

UNALLOCATED = "+33699999999"
MODES = ("ok", "fail", "throttle", "hang", "slow")


def _error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


class FakeProvider:
    def __init__(
        self,
        log_path: Path | str,
        account_sid: str,
        auth_token: str,
        *,
        mode: str = "ok",
        retry_after: float = 1.0,
        delay: float = 30.0,
        fail_numbers: frozenset[str] = frozenset(),
        receipts: bool = True,
    ) -> None:
        self.log_path = Path(log_path)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.fail_numbers = fail_numbers
        self.receipts = receipts
        self.accepted: list[dict[str, str]] = []  # what the log file holds, in memory
        self.requests = 0  # Messages.json requests seen, whatever the answer
        self._mode = "ok"
        self.retry_after = retry_after
        self.delay = delay  # seconds, in the slow mode
        self._released = asyncio.Event()
        self.set_mode(mode, retry_after)
        self._log: IO[str] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._counter = itertools.count(1)

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str, retry_after: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self._mode = mode
        if retry_after is not None:
            self.retry_after = retry_after
        if mode in ("hang", "slow"):
            self._released.clear()
        else:
            self._released.set()  # whoever hangs gets an answer now

    def app(self) -> web.Application:
        app = web.Application()
        app.cleanup_ctx.append(self._resources)
        app.on_shutdown.append(self._release)
        base = f"/{API_VERSION}/Accounts/{{sid}}"
        app.router.add_post(f"{base}/Messages.json", self._messages)
        app.router.add_get(base + ".json", self._account)
        app.router.add_post("/control", self._control)
        return app

    # -- resources -----------------------------------------------------------------------------

    async def _resources(self, _app: web.Application) -> AsyncIterator[None]:
        self._log = self._open_log()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        try:
            yield
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._session.close()
            self._log.close()

    def _open_log(self) -> IO[str]:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        return self.log_path.open("a", encoding="utf-8")

    async def _release(self, _app: web.Application) -> None:
        self._released.set()

    # -- handlers ------------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        expected = basic_auth(self.account_sid, self.auth_token)
        return secrets.compare_digest(request.headers.get("Authorization", ""), expected)

    async def _account(self, request: web.Request) -> web.Response:
        if not self._authorized(request) or request.match_info["sid"] != self.account_sid:
            return _error(401, 20003, "Authenticate")
        return web.json_response({"sid": self.account_sid, "status": "active"})

    async def _control(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            self.set_mode(str(body["mode"]), body.get("retry_after"))
            if "delay" in body:
                self.delay = float(body["delay"])
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"mode": self.mode, "retry_after": self.retry_after})

    async def _messages(self, request: web.Request) -> web.Response:
        self.requests += 1
        if not self._authorized(request) or request.match_info["sid"] != self.account_sid:
            return _error(401, 20003, "Authenticate")
        if self.mode == "hang":
            await self._released.wait()
            return _error(503, 20503, "Service unavailable")
        if self.mode == "fail":
            return _error(500, 20500, "Internal Server Error")
        if self.mode == "throttle":
            response = _error(429, 20429, "Too Many Requests")
            response.headers["Retry-After"] = f"{self.retry_after:g}"
            return response
        form = await request.post()
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        sender = str(form.get("From") or form.get("MessagingServiceSid") or "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if not sender:
            return _error(400, 21603, "A 'From' phone number is required.")
        if to == UNALLOCATED:
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        slow = self.mode == "slow"
        response = self._accept(to, sender, body, str(form.get("StatusCallback", "")))
        if slow:  # sent, but the answer comes late
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), self.delay)
        return response

    def _accept(self, to: str, sender: str, body: str, callback: str) -> web.Response:
        sid = f"SM{next(self._counter):06d}{secrets.token_hex(13)}"
        now = datetime.now(UTC)
        line = {"sid": sid, "to": to, "from": sender, "body": body, "time": now.isoformat()}
        self._record(line)
        if callback and self.receipts:
            failed = to in self.fail_numbers
            self._spawn(self._post_receipt(callback, sid, to, sender, failed))
        resource: dict[str, Any] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": sender,
            "body": body,
            "status": "queued",
            "direction": "outbound-api",
            "api_version": API_VERSION,
            "date_created": now.strftime("%a, %d %b %Y %H:%M:%S +0000"),
            "error_code": None,
            "error_message": None,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        return web.json_response(resource, status=201)

    def _record(self, line: dict[str, str]) -> None:
        if self._log is None:
            raise RuntimeError("the fake provider is not running")
        self._log.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._log.flush()
        self.accepted.append(line)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post_receipt(self, url: str, sid: str, to: str, sender: str, failed: bool) -> None:
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": sender,
            "MessageSid": sid,
            "MessageStatus": "undelivered" if failed else "delivered",
            "SmsSid": sid,
            "SmsStatus": "undelivered" if failed else "delivered",
            "To": to,
        }
        if failed:
            params["ErrorCode"] = "30003"
        signature = twilio_signature(self.auth_token, url, params.items())
        if self._session is None:
            return
        try:
            async with self._session.post(
                url, data=params, headers={SIGNATURE_HEADER: signature}
            ) as response:
                if response.status >= 300:
                    log.warning("fake_provider_callback_refused", sid=sid, status=response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("fake_provider_callback_failed", sid=sid, error=type(exc).__name__)


async def serve(
    provider: FakeProvider, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, int]:
    """Start ``provider`` on host:port (0: any free port); returns the runner and the port."""
    runner = web.AppRunner(provider.app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, int(runner.addresses[0][1])


async def run_fake_provider(
    host: str, port: int, log_path: Path | str, account_sid: str, auth_token: str
) -> None:
    """Serve a fake provider until cancelled (``alertd fake-provider --port … --log FILE``)."""
    provider = FakeProvider(log_path, account_sid, auth_token)
    runner, bound = await serve(provider, host, port)
    log.info("fake_provider_listening", host=host, port=bound, log=str(log_path))
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
