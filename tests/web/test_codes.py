"""The pure parts of the sign-up: codes, CSRF tokens, the client's address behind a proxy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import make_mocked_request

from alertd.web import codes, csrf
from alertd.web.codes import CodeState, Verdict
from alertd.web.pages import client_ip

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _state(code: str, tries: int = 0, ttl_s: float = 600) -> CodeState:
    salt, hashed = codes.hashed_code(code)
    return CodeState(salt, hashed, NOW + timedelta(seconds=ttl_s), tries)


def test_a_code_is_six_digits_and_its_hash_is_salted() -> None:
    made = {codes.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in made)
    assert len(made) > 150
    assert codes.hashed_code("123456")[1] != codes.hashed_code("123456")[1]


@pytest.mark.parametrize(
    ("typed", "tries", "later_s", "verdict"),
    [
        ("123456", 0, 0, Verdict.RIGHT),
        ("123 456", 0, 0, Verdict.RIGHT),
        ("123-456", 4, 599, Verdict.RIGHT),
        ("654321", 0, 0, Verdict.WRONG),
        ("123456", 5, 0, Verdict.DEAD),
        ("123456", 0, 600, Verdict.EXPIRED),
    ],
)
def test_the_verdict_on_a_code(typed: str, tries: int, later_s: float, verdict: Verdict) -> None:
    state = _state("123456", tries)
    now = NOW + timedelta(seconds=later_s)
    assert codes.check(state, typed, now=now, max_tries=5) is verdict


def test_a_csrf_field_is_bound_to_its_nonce_and_the_key() -> None:
    key, nonce = b"k" * 32, csrf.new_nonce()
    field = csrf.field_for(key, nonce)
    assert csrf.valid(key, nonce, field)
    assert not csrf.valid(key, csrf.new_nonce(), field)
    assert not csrf.valid(b"x" * 32, nonce, field)
    assert not csrf.valid(key, None, field)
    assert not csrf.valid(key, nonce, "")


def _request(peer: str, forwarded: str | None) -> object:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    request = make_mocked_request("GET", "/", headers=headers)
    request._transport_peername = (peer, 4242)  # the peer a socket would give
    return request


def test_the_clients_address_is_believed_from_trusted_proxies_only() -> None:
    proxied = _request("10.0.0.1", "203.0.113.9, 10.0.0.1")
    assert client_ip(proxied, ("10.0.0.1",)) == "203.0.113.9"  # type: ignore[arg-type]
    assert client_ip(proxied, ()) == "10.0.0.1"  # type: ignore[arg-type]
    spoofed = _request("198.51.100.7", "203.0.113.9")
    assert client_ip(spoofed, ("10.0.0.1",)) == "198.51.100.7"  # type: ignore[arg-type]
    garbage = _request("10.0.0.1", "not-an-address")
    assert client_ip(garbage, ("10.0.0.1",)) == "10.0.0.1"  # type: ignore[arg-type]
