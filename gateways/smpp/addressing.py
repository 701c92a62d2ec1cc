"""The addressing fields of a submit_sm: an address with its TON and NPI, the validity period
from an expiry."""

from __future__ import annotations

from datetime import UTC, datetime

from gateways.smpp.codes import Npi, Ton


def address(number: str) -> tuple[str, int, int]:
    """(addr, ton, npi): E.164 as international digits, letters as alphanumeric, else unknown."""
    if number.startswith("+") and number[1:].isdigit():
        return number[1:], Ton.INTERNATIONAL, Npi.ISDN
    if number.isdigit():
        return number, Ton.UNKNOWN, Npi.ISDN
    return number, Ton.ALPHANUMERIC, Npi.UNKNOWN


def validity(expires_at: datetime | None, now: datetime) -> str:
    """The absolute validity_period in UTC (YYMMDDhhmmss, tenths 0, offset 00, '+'); empty
    (the SMSC's default) with no expiry or one already past."""
    if expires_at is None or expires_at <= now:
        return ""
    return expires_at.astimezone(UTC).strftime("%y%m%d%H%M%S") + "000+"
