"""The HTTP provider adapters against servers on loopback: Twilio's dialect (gateways.fake_provider)
and OVHcloud's (a small server below that checks the documented request signature)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from structlog.testing import capture_logs

from gateways.base import Gateway, Inbound, Message, Outcome, Receipt, ReceiptStatus
from gateways.breaker import CircuitBreaker
from gateways.fake_provider import FakeProvider
from gateways.http_common import parse_retry_after, scrub
from gateways.http_ovh import OvhGateway, ovh_signature
from gateways.http_twilio import SIGNATURE_HEADER, TwilioGateway, twilio_signature
from tests.support.gateway_contract import GOOD, UNALLOCATED, GatewayContract, next_events

ACCOUNT = "AC" + "1" * 32
TOKEN = "twilio-test-token"
SENDER = "+33700000001"


@asynccontextmanager
async def served(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 with an ephemeral port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def messages(*numbers: str, text: str = "Alerte crue") -> list[Message]:
    return [Message(f"d{i}", n, text, 1) for i, n in enumerate(numbers)]


# -- Twilio ------------------------------------------------------------------------------------


@dataclass
class TwilioWorld:
    gateway: TwilioGateway
    provider: FakeProvider
    hooks: str  # base URL of the adapter's webhook app


@asynccontextmanager
async def twilio_world(
    tmp_path: Path, *, token: str = TOKEN, client_timeout: float = 5.0, threshold: int = 5
) -> AsyncIterator[TwilioWorld]:
    provider = FakeProvider(tmp_path / "sent.jsonl", ACCOUNT, TOKEN, fail_numbers=frozenset())
    async with served(provider.app()) as api:
        gateway = TwilioGateway(
            "twilio",
            account_sid=ACCOUNT,
            auth_token=token,
            from_number=SENDER,
            base_url=api,
            window=8,
            timeout=client_timeout,
            breaker=CircuitBreaker(threshold=threshold),
        )
        async with served(gateway.webhook_app()) as hooks:
            gateway.status_callback = f"{hooks}/status"
            await gateway.start()
            try:
                yield TwilioWorld(gateway, provider, hooks)
            finally:
                provider.set_mode("ok")
                await gateway.close()


async def post_signed(url: str, params: dict[str, str], signature: str | None = None) -> int:
    sig = signature if signature is not None else twilio_signature(TOKEN, url, params.items())
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=params, headers={SIGNATURE_HEADER: sig}) as response,
    ):
        return response.status


class TestTwilioContract(GatewayContract):
    @pytest.fixture
    async def gateway(self, tmp_path: Path) -> AsyncIterator[Gateway]:
        async with twilio_world(tmp_path) as world:
            yield world.gateway

    async def inject_inbound(self, gateway: Gateway, sender: str, text: str) -> None:
        assert isinstance(gateway, TwilioGateway) and gateway.status_callback
        url = gateway.status_callback.removesuffix("/status") + "/inbound"
        params = {
            "AccountSid": ACCOUNT,
            "MessageSid": "SM" + "9" * 32,
            "From": sender,
            "To": SENDER,
            "Body": text,
            "NumMedia": "0",
        }
        assert await post_signed(url, params) == 200


async def test_throttled_is_retried_after_what_twilio_says(tmp_path: Path) -> None:
    async with twilio_world(tmp_path) as world:
        world.provider.set_mode("throttle", retry_after=2)
        [result] = await world.gateway.submit(messages(GOOD))
        assert result.outcome is Outcome.RETRY
        assert result.retry_after == 2.0 and "20429" in (result.reason or "")
        assert world.gateway.health() == "closed"  # throttling is not an outage
        assert world.provider.accepted == []


async def test_server_errors_open_the_breaker_and_stop_the_requests(tmp_path: Path) -> None:
    async with twilio_world(tmp_path, threshold=3) as world:
        world.provider.set_mode("fail")
        with capture_logs() as logs:
            results = await world.gateway.submit(messages(GOOD, GOOD, GOOD))
        assert {r.outcome for r in results} == {Outcome.RETRY}
        assert all("20500" in (r.reason or "") for r in results)
        assert world.gateway.health() == "open"
        assert logs and GOOD not in repr(logs)  # faults are logged, numbers never
        seen = world.provider.requests
        [refused] = await world.gateway.submit(messages(GOOD))
        assert refused.outcome is Outcome.RETRY and "circuit open" in (refused.reason or "")
        assert world.provider.requests == seen  # the open breaker sent nothing


async def test_a_hanging_provider_costs_the_timeout_not_a_hang(tmp_path: Path) -> None:
    async with twilio_world(tmp_path, client_timeout=0.3) as world:
        world.provider.set_mode("hang")
        started = time.monotonic()
        [result] = await asyncio.wait_for(world.gateway.submit(messages(GOOD)), 5)
        assert time.monotonic() - started < 3
        assert result.outcome is Outcome.IN_DOUBT  # the request left: it may have been sent
        assert "no answer within 0.3 s" in (result.reason or "")


async def test_invalid_number_is_rejected_without_echoing_it(tmp_path: Path) -> None:
    async with twilio_world(tmp_path) as world:
        [result] = await world.gateway.submit(messages(UNALLOCATED))
        assert result.outcome is Outcome.REJECTED
        assert "21211" in (result.reason or "") and "699999999" not in (result.reason or "")
        assert world.gateway.health() == "closed"


async def test_wrong_credentials_are_the_gateways_fault(tmp_path: Path) -> None:
    async with twilio_world(tmp_path, token="wrong", threshold=1) as world:
        [result] = await world.gateway.submit(messages(GOOD))
        assert result.outcome is Outcome.RETRY and "credentials" in (result.reason or "")
        assert world.gateway.health() == "open"
        assert world.provider.accepted == []


async def test_bad_signature_is_refused_and_nothing_is_queued(tmp_path: Path) -> None:
    async with twilio_world(tmp_path) as world:
        forged = {"MessageSid": "SMforged", "MessageStatus": "delivered"}
        url = f"{world.hooks}/status"
        assert await post_signed(url, forged, signature="bm90IGEgc2lnbmF0dXJl") == 403
        assert (
            await post_signed(f"{world.hooks}/inbound", {"From": GOOD, "Body": "STOP"}, "") == 403
        )
        genuine = {"MessageSid": "SMgenuine", "MessageStatus": "delivered"}
        status, [event] = await asyncio.gather(
            post_signed(url, genuine), next_events(world.gateway, 1)
        )
        assert status == 204
        assert isinstance(event, Receipt) and event.message_id == "SMgenuine"


async def test_undelivered_receipt_carries_twilio_error(tmp_path: Path) -> None:
    async with twilio_world(tmp_path) as world:
        world.provider.fail_numbers = frozenset({GOOD})
        [result] = await world.gateway.submit(messages(GOOD))
        [event] = await next_events(world.gateway, 1)
        assert isinstance(event, Receipt) and event.message_id == result.message_id
        assert (event.status, event.error) == (ReceiptStatus.FAILED, "twilio 30003")


async def test_the_log_file_holds_exactly_the_accepted_messages(tmp_path: Path) -> None:
    async with twilio_world(tmp_path) as world:
        batch = messages("+33611111111", UNALLOCATED, "+33622222222", "+33633333333")
        results = await world.gateway.submit(batch)
        world.provider.set_mode("fail")
        await world.gateway.submit(messages("+33644444444"))
    lines = [json.loads(x) for x in (tmp_path / "sent.jsonl").read_text().splitlines()]
    accepted = {r.message_id for r in results if r.outcome is Outcome.ACCEPTED}
    assert len(lines) == 3 and {line["sid"] for line in lines} == accepted
    assert sorted(line["to"] for line in lines) == ["+33611111111", "+33622222222", "+33633333333"]
    assert {line["from"] for line in lines} == {SENDER}
    assert all(line["body"] == "Alerte crue" and line["time"] for line in lines)


async def test_a_handed_session_is_left_open(tmp_path: Path) -> None:
    provider = FakeProvider(tmp_path / "sent.jsonl", ACCOUNT, TOKEN)
    async with served(provider.app()) as api, aiohttp.ClientSession() as session:
        gateway = TwilioGateway(
            "t", account_sid=ACCOUNT, auth_token=TOKEN, from_number=SENDER, base_url=api,
            session=session,
        )  # fmt: skip
        await gateway.start()
        assert await gateway.check() == "account active"
        await gateway.close()
        assert not session.closed


async def test_control_endpoint_switches_the_mode(tmp_path: Path) -> None:
    provider = FakeProvider(tmp_path / "sent.jsonl", ACCOUNT, TOKEN)
    async with served(provider.app()) as api, aiohttp.ClientSession() as session:
        body = {"mode": "throttle", "retry_after": 3}
        async with session.post(f"{api}/control", json=body) as response:
            assert response.status == 200
        assert (provider.mode, provider.retry_after) == ("throttle", 3)
        async with session.post(f"{api}/control", json={"mode": "sideways"}) as response:
            assert response.status == 400


def test_twilio_signature_matches_twilios_documented_example() -> None:
    # The worked example of Twilio's request validation docs (auth token 12345), which its
    # helper libraries test against.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params.items()) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_repeated_parameters_are_signed_sorted_and_once() -> None:
    # As Twilio's helper libraries do: names sorted, each distinct value once, sorted.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    pairs = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    pairs.append(("Digits", "1234"))
    assert twilio_signature("12345", url, pairs) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_status_callbacks_map_to_receipts() -> None:
    gateway = TwilioGateway("t", account_sid=ACCOUNT, auth_token=TOKEN, from_number=SENDER)
    sent = gateway.receipt({"MessageSid": "SM1", "MessageStatus": "sent"})
    assert sent is not None and sent.status is ReceiptStatus.BUFFERED
    assert gateway.receipt({"MessageSid": "SM1", "MessageStatus": "queued"}) is None
    legacy = gateway.receipt({"SmsSid": "SM2", "SmsStatus": "delivered"})
    assert legacy is not None and legacy.status is ReceiptStatus.DELIVERED
    failed = gateway.receipt({"MessageSid": "SM3", "MessageStatus": "failed", "ErrorCode": "30008"})
    assert failed is not None and (failed.status, failed.error) == (
        ReceiptStatus.FAILED,
        "twilio 30008",
    )


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("7", 1.0) == 7.0
    assert parse_retry_after(None, 1.5) == 1.5
    assert parse_retry_after("soon", 2.0) == 2.0
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert parse_retry_after(date, 1.0, now=1445412480.0 - 30) == pytest.approx(30.0)


def test_scrub_removes_numbers_from_provider_text() -> None:
    text = "The 'To' number +33 6 99 99 99 99 is not a valid phone number."
    assert "99" not in scrub(text) and "not a valid" in scrub(text)


# -- OVHcloud ----------------------------------------------------------------------------------

AK, AS, CK = "app-key", "app-secret", "consumer-key"
SERVICE = "sms-ab12345-1"
OVH_SKEW = 1000  # the fake's clock runs ahead: the adapter must sync through /auth/time


class FakeOvh:
    """The documented subset of api.ovh.com/1.0 for SMS, with the signature checked."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.callback: str | None = None  # the service's callBack URL
        self.jobs: list[dict[str, Any]] = []
        self.incoming: dict[int, dict[str, Any]] = {}
        self.bad_signatures = 0
        self._ids = itertools.count(1000)
        self._tasks: set[asyncio.Task[None]] = set()

    def now(self) -> int:
        return int(time.time()) + OVH_SKEW

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/1.0/auth/time", self.auth_time)
        base = f"/1.0/sms/{SERVICE}"
        app.router.add_get(base, self.service)
        app.router.add_post(f"{base}/jobs", self.post_job)
        app.router.add_get(f"{base}/incoming", self.list_incoming)
        app.router.add_get(f"{base}/incoming/{{id}}", self.get_incoming)
        app.router.add_delete(f"{base}/incoming/{{id}}", self.delete_incoming)
        app.on_cleanup.append(self.cleanup)
        return app

    async def cleanup(self, _app: web.Application) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def signed(self, request: web.Request) -> str | None:
        body = await request.text()
        h = request.headers
        ts = int(h.get("X-Ovh-Timestamp", "0"))
        expected = ovh_signature(
            AS, CK, method=request.method, url=str(request.url), body=body, timestamp=ts
        )
        ok = (
            h.get("X-Ovh-Application") == AK
            and h.get("X-Ovh-Consumer") == CK
            and h.get("X-Ovh-Signature") == expected
            and abs(ts - self.now()) < 30
        )
        if not ok:
            self.bad_signatures += 1
            return None
        return body

    @staticmethod
    def error(status: int, code: str, message: str) -> web.Response:
        body = {"errorCode": code, "httpCode": f"{status}", "message": message}
        return web.json_response(body, status=status)

    async def auth_time(self, _request: web.Request) -> web.Response:
        return web.Response(text=str(self.now()), content_type="application/json")

    async def service(self, request: web.Request) -> web.Response:
        if await self.signed(request) is None:
            return self.error(400, "INVALID_SIGNATURE", "Invalid signature")
        return web.json_response({"status": "enable", "creditsLeft": 42.0})

    async def post_job(self, request: web.Request) -> web.Response:
        body = await self.signed(request)
        if body is None:
            return self.error(400, "INVALID_SIGNATURE", "Invalid signature")
        if self.mode == "throttle":
            response = self.error(429, "TOO_MANY_REQUESTS", "Too many requests")
            response.headers["Retry-After"] = "4"
            return response
        job = json.loads(body)
        self.jobs.append(job)
        valid = [r for r in job["receivers"] if r != UNALLOCATED]
        invalid = [r for r in job["receivers"] if r == UNALLOCATED]
        ids = [] if self.mode == "no ids" else [next(self._ids) for _ in valid]
        for sms_id in ids:
            self.report(sms_id)
        report = {
            "ids": ids,
            "invalidReceivers": invalid,
            "validReceivers": valid,
            "totalCreditsRemoved": len(valid),
        }
        return web.json_response(report)

    def report(self, sms_id: int) -> None:
        if not self.callback:
            return
        task = asyncio.get_running_loop().create_task(self._call_back(sms_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call_back(self, sms_id: int) -> None:
        assert self.callback
        url = f"{self.callback}&id={sms_id}&dlr=1"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 204

    async def list_incoming(self, request: web.Request) -> web.Response:
        if await self.signed(request) is None:
            return self.error(400, "INVALID_SIGNATURE", "Invalid signature")
        return web.json_response(sorted(self.incoming))

    async def get_incoming(self, request: web.Request) -> web.Response:
        if await self.signed(request) is None:
            return self.error(400, "INVALID_SIGNATURE", "Invalid signature")
        sms = self.incoming.get(int(request.match_info["id"]))
        if sms is None:
            return self.error(404, "NOT_FOUND", "not found")
        return web.json_response(sms)

    async def delete_incoming(self, request: web.Request) -> web.Response:
        if await self.signed(request) is None:
            return self.error(400, "INVALID_SIGNATURE", "Invalid signature")
        self.incoming.pop(int(request.match_info["id"]), None)
        return web.json_response(None)


@dataclass
class OvhWorld:
    gateway: OvhGateway
    ovh: FakeOvh
    hooks: str


@asynccontextmanager
async def ovh_world(
    *, secret: str = AS, threshold: int = 5, poll: float | None = 0.05
) -> AsyncIterator[OvhWorld]:
    ovh = FakeOvh()
    async with served(ovh.app()) as api:
        gateway = OvhGateway(
            "ovh",
            application_key=AK,
            application_secret=secret,
            consumer_key=CK,
            service_name=SERVICE,
            callback_token="s3cret",
            poll_interval=poll,
            base_url=api,
            timeout=5.0,
            breaker=CircuitBreaker(threshold=threshold),
        )
        async with served(gateway.webhook_app()) as hooks:
            ovh.callback = f"{hooks}/dlr?token=s3cret"
            await gateway.start()
            try:
                yield OvhWorld(gateway, ovh, hooks)
            finally:
                await gateway.close()


class TestOvhContract(GatewayContract):
    @pytest.fixture
    async def gateway(self) -> AsyncIterator[Gateway]:
        async with ovh_world() as world:
            self.ovh = world.ovh
            yield world.gateway

    async def inject_inbound(self, gateway: Gateway, sender: str, text: str) -> None:
        self.ovh.incoming[77] = {
            "id": 77,
            "creationDatetime": "2026-01-15T10:00:00+01:00",
            "sender": sender,
            "message": text,
            "tag": "",
            "credits": 0,
        }


async def test_ovh_signs_with_the_servers_clock_and_gets_ids() -> None:
    async with ovh_world() as world:
        assert world.gateway.time_delta == pytest.approx(OVH_SKEW, abs=2)
        results = await world.gateway.submit(messages("+33611111111", "+33622222222"))
        assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.ACCEPTED]
        assert [r.message_id for r in results] == ["1000", "1001"]
        assert world.ovh.bad_signatures == 0
        job = world.ovh.jobs[0]
        assert job["receivers"] == ["+33611111111"] and job["charset"] == "UTF-8"
        assert job["noStopClause"] is True and job["senderForResponse"] is True
        assert await world.gateway.check() == "service enable, 42.0 credits left"


async def test_ovh_invalid_receiver_is_rejected() -> None:
    async with ovh_world() as world:
        [bad, good] = await world.gateway.submit(messages(UNALLOCATED, GOOD))
        assert bad.outcome is Outcome.REJECTED and bad.reason == "ovh: invalid receiver"
        assert good.outcome is Outcome.ACCEPTED


async def test_ovh_throttled_is_retried_after_retry_after() -> None:
    async with ovh_world() as world:
        world.ovh.mode = "throttle"
        [result] = await world.gateway.submit(messages(GOOD))
        assert (result.outcome, result.retry_after) == (Outcome.RETRY, 4.0)
        assert world.gateway.health() == "closed"


async def test_ovh_bad_secret_is_the_gateways_fault() -> None:
    async with ovh_world(secret="not-the-secret", threshold=1) as world:
        [result] = await world.gateway.submit(messages(GOOD))
        assert result.outcome is Outcome.RETRY and "credentials" in (result.reason or "")
        assert world.gateway.health() == "open"


async def test_ovh_delivery_report_needs_the_token() -> None:
    async with ovh_world() as world, aiohttp.ClientSession() as session:
        async with session.get(f"{world.hooks}/dlr?id=5&dlr=1&token=guess") as response:
            assert response.status == 403
        reading = asyncio.create_task(next_events(world.gateway, 1))
        async with session.get(f"{world.hooks}/dlr?id=6&dlr=16&token=s3cret") as response:
            assert response.status == 204
        [event] = await reading
        assert isinstance(event, Receipt)
        assert (event.message_id, event.status) == ("6", ReceiptStatus.FAILED)


async def test_ovh_incoming_is_read_once_and_deleted() -> None:
    async with ovh_world(poll=None) as world:
        world.ovh.incoming[5] = {"id": 5, "sender": GOOD, "message": "ARRET"}
        polled, [event] = await asyncio.gather(
            world.gateway.poll_incoming(), next_events(world.gateway, 1)
        )
        assert polled == 1
        assert world.ovh.incoming == {}
        assert await world.gateway.poll_incoming() == 0
        assert isinstance(event, Inbound) and (event.sender, event.text) == (GOOD, "ARRET")


def test_ovh_signature_is_sha1_of_the_documented_concatenation() -> None:
    url = "https://eu.api.ovh.com/1.0/sms/sms-ab12345-1/jobs"
    body = '{"receivers":["+33612345678"],"message":"x"}'
    data = f"{AS}+{CK}+POST+{url}+{body}+1700000000"
    expected = "$1$" + hashlib.sha1(data.encode()).hexdigest()  # noqa: S324
    assert ovh_signature(AS, CK, method="post", url=url, body=body, timestamp=1700000000) == (
        expected
    )


# -- every webhook request is authenticated; what cannot be read is the sender's fault ---------

FORM = "application/x-www-form-urlencoded"
MALFORMED = [
    pytest.param(f"{FORM}; charset=utf-8", b"MessageSid=SM%FF%FE&MessageStatus=\xff", id="utf8"),
    pytest.param(f"{FORM}; charset=no-such-charset", b"MessageSid=SM1", id="charset"),
    pytest.param("multipart/form-data; boundary=xyz", b"--xyz\r\nbroken", id="multipart"),
    pytest.param("multipart/form-data", b"--xyz\r\n\r\n--xyz--", id="no-boundary"),
]


async def post_raw(url: str, content_type: str, body: bytes, **headers: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={"Content-Type": content_type, **headers}) as answer,
    ):
        return answer.status


@pytest.mark.parametrize(("content_type", "body"), MALFORMED)
async def test_malformed_twilio_webhooks_get_a_4xx_never_a_500(
    tmp_path: Path, content_type: str, body: bytes
) -> None:
    async with twilio_world(tmp_path) as world:
        for path in ("status", "inbound"):
            url = f"{world.hooks}/{path}"
            status = await post_raw(url, content_type, body, **{SIGNATURE_HEADER: "forged"})
            assert 400 <= status < 500, (path, status)


@pytest.mark.parametrize(("content_type", "body"), MALFORMED)
async def test_malformed_ovh_reports_get_a_4xx_never_a_500(content_type: str, body: bytes) -> None:
    async with ovh_world() as world:
        for token in ("s3cret", "guess"):
            status = await post_raw(f"{world.hooks}/dlr?token={token}", content_type, body)
            assert 400 <= status < 500, (token, status)


async def test_signed_webhooks_missing_their_fields_get_a_400_and_queue_nothing(
    tmp_path: Path,
) -> None:
    async with twilio_world(tmp_path) as world:
        status = f"{world.hooks}/status"
        assert await post_signed(status, {"MessageStatus": "delivered"}) == 400
        assert await post_signed(status, {"MessageSid": "SMnostatus"}) == 400
        assert await post_signed(f"{world.hooks}/inbound", {"Body": "STOP"}) == 400
        # An intermediate state is accepted and kept nowhere: nothing to store.
        assert await post_signed(status, {"MessageSid": "SMq", "MessageStatus": "queued"}) == 204
        genuine = {"MessageSid": "SMgenuine", "MessageStatus": "delivered"}
        answer, [event] = await asyncio.gather(
            post_signed(status, genuine), next_events(world.gateway, 1)
        )
        assert answer == 204  # and it is the first event: nothing before it was queued
        assert isinstance(event, Receipt) and event.message_id == "SMgenuine"


async def test_an_ovh_gateway_without_a_token_refuses_every_report() -> None:
    """Fail closed: a report nobody can authenticate never re-queues a delivery."""
    async with ovh_world() as world, aiohttp.ClientSession() as session:
        world.gateway.callback_token = None
        for query in ("id=6&dlr=16", "id=6&dlr=16&token=", "id=6&dlr=16&token=s3cret"):
            async with session.get(f"{world.hooks}/dlr?{query}") as response:
                assert response.status == 403, query
        world.gateway.callback_token = "s3cret"
        async with session.get(f"{world.hooks}/dlr?dlr=1&token=s3cret") as response:
            assert response.status == 400  # authenticated, but which message?
        reading = asyncio.create_task(next_events(world.gateway, 1))
        async with session.get(f"{world.hooks}/dlr?id=7&dlr=1&token=s3cret") as response:
            assert response.status == 204
        [event] = await reading
        assert isinstance(event, Receipt) and event.message_id == "7"  # the first one queued


async def test_an_acceptance_without_a_message_id_is_in_doubt() -> None:
    # The provider took the message but gave no id: sending it again may be a second copy, and
    # no receipt will ever say which. In doubt (counted, per-severity policy), not a plain retry.
    async def twilio_without_sid(request: web.Request) -> web.Response:
        return web.json_response({"status": "queued"}, status=201)

    app = web.Application()
    app.router.add_post(f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json", twilio_without_sid)
    async with served(app) as api:
        gateway = TwilioGateway(
            "twilio", account_sid=ACCOUNT, auth_token=TOKEN, from_number=SENDER, base_url=api
        )
        await gateway.start()
        try:
            [result] = await gateway.submit(messages(GOOD))
        finally:
            await gateway.close()
    assert result.outcome is Outcome.IN_DOUBT
    assert result.reason == "twilio accepted the message but gave no sid"


async def test_an_ovh_job_accepted_without_an_id_is_in_doubt() -> None:
    async with ovh_world() as world:
        world.ovh.mode = "no ids"
        [result] = await world.gateway.submit(messages(GOOD))
    assert result.outcome is Outcome.IN_DOUBT
    assert result.reason == "ovh accepted the job but gave no SMS id"
