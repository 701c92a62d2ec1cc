"""Phone numbers: parsed and normalised to E.164 with Google's libphonenumber (``phonenumbers``).

National French forms (06 12 34 56 78, 06.12.34.56.78, 0033 6…, +33 (0)6…) are accepted with the
configured default region. Landlines are recognised and flagged: they are kept, since a resident
gave them, but they cannot receive SMS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType

from alertd.errors import InputError

_KINDS = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "other",
    PhoneNumberType.UAN: "other",
}
# Numbers nobody lives behind: they can never be a resident's phone.
_REFUSED = {
    PhoneNumberType.TOLL_FREE: "a toll-free number",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.PAGER: "a pager number",
    PhoneNumberType.VOICEMAIL: "a voicemail number",
}
_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
MAX_INPUT_LENGTH = 40
# The shapes nearly every French list is written in: 06 12 34 56 78, +33 6 12 34 56 78, 0033 6….
# For these the national significant number is plain to see, so the text-parsing half of
# libphonenumber is skipped; the library still decides validity and type from its metadata.
_SEPARATORS = str.maketrans("", "", " .-\t")
_FR_NATIONAL = re.compile(r"0([1-9]\d{8})")  # "00…" is an international prefix
_FR_INTERNATIONAL = re.compile(r"(?:\+|00)33(\d{9})")


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str
    kind: str  # mobile, landline, voip, other

    @property
    def can_receive_sms(self) -> bool:
        return self.kind in ("mobile", "voip")


def parse_phone(raw: str, region: str = "FR") -> Phone:
    """Parse a phone number as a person wrote it; raise InputError saying why it is refused."""
    text = raw.strip()
    if not text:
        raise InputError("phone number is empty")
    if len(text) > MAX_INPUT_LENGTH:
        raise InputError(f"phone number is too long ({len(text)} characters)")
    number = _parse(text, region)
    number_type = phonenumbers.number_type(number)
    if number_type in _REFUSED:
        raise InputError(f"phone {text!r} is {_REFUSED[number_type]}, not a resident's phone")
    kind = _KINDS.get(number_type)
    if kind is None:
        raise InputError(f"phone {text!r} is not a valid number in any numbering plan")
    if number.italian_leading_zero:
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    else:
        # Same result as format_number, without its formatting machinery (this runs per CSV row).
        e164 = f"+{number.country_code}{number.national_number}"
    return Phone(e164=e164, kind=kind)


def _parse(text: str, region: str) -> PhoneNumber:
    compact = text.translate(_SEPARATORS)
    match = _FR_INTERNATIONAL.fullmatch(compact) or (
        _FR_NATIONAL.fullmatch(compact) if region == "FR" else None
    )
    if match:
        return PhoneNumber(country_code=33, national_number=int(match[1]))
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException as exc:
        reason = _PARSE_ERRORS.get(exc.error_type, "not a phone number")
        raise InputError(f"phone {text!r}: {reason}") from None


def normalise_sender(raw: str, region: str = "FR") -> str:
    """An inbound SMS's sender as E.164 when it is a phone number, as the gateways deliver it:
    national (0622334455), international without its plus (33611223344, SMPP's TON 1) or with
    spaces. Short codes and alphanumeric senders are kept as they came, stripped."""
    text = raw.strip()
    try:
        return parse_phone(text, region).e164
    except InputError:
        pass
    if text.isdigit() and not text.startswith("0"):
        try:
            return parse_phone(f"+{text}", region).e164
        except InputError:
            pass
    return text
