"""CSRF protection for the pages' forms: a signed double submit.

The browser gets a random nonce in a cookie (HttpOnly, SameSite=Strict); every form carries
HMAC(key, nonce) in a hidden field. A POST is taken only when the field matches the cookie's
nonce: another site can neither read the cookie nor compute the field without the key, and a
cookie planted from a sibling domain fails without the key too. Pure.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE = "alertd_csrf"
FIELD = "csrf"


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def field_for(key: bytes, nonce: str) -> str:
    return hmac.new(key, b"csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def valid(key: bytes, nonce: str | None, field: str | None) -> bool:
    if not nonce or not field:
        return False
    return hmac.compare_digest(field_for(key, nonce), field)
