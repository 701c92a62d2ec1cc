"""Codes sent by SMS and the tokens of a sign-up: made at random, stored as keyed hashes. Pure."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

CODE_DIGITS = 6


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_token() -> str:
    """The browser's handle on one sign-up (in a cookie); 256 bits."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def code_hash(code: str, salt: bytes) -> bytes:
    return hmac.new(salt, code.encode(), hashlib.sha256).digest()


def hashed_code(code: str) -> tuple[bytes, bytes]:
    """(salt, hash) to store for this code."""
    salt = secrets.token_bytes(16)
    return salt, code_hash(code, salt)


def normalise_code(raw: str) -> str:
    """What a person typed: spaces and dashes forgiven (``123 456``)."""
    return "".join(ch for ch in raw if not ch.isspace() and ch != "-")


class Verdict(enum.Enum):
    RIGHT = "right"
    WRONG = "wrong"  # counted; tries remain
    DEAD = "dead"  # too many wrong tries: ask a new code
    EXPIRED = "expired"  # too late: ask a new code


@dataclass(frozen=True, slots=True)
class CodeState:
    salt: bytes
    hashed: bytes
    expires_at: datetime
    wrong_tries: int


def check(state: CodeState, typed: str, *, now: datetime, max_tries: int) -> Verdict:
    """The verdict on a code typed; WRONG means one more wrong try is to be counted (and the
    last of them makes the code DEAD for the next try)."""
    if state.wrong_tries >= max_tries:
        return Verdict.DEAD
    if now >= state.expires_at:
        return Verdict.EXPIRED
    code = normalise_code(typed)
    right = hmac.compare_digest(code_hash(code, state.salt), state.hashed)
    return Verdict.RIGHT if right else Verdict.WRONG


def expiry(now: datetime, ttl_s: float) -> datetime:
    return now + timedelta(seconds=ttl_s)
