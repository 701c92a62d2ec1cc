from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from alertd.errors import InputError
from alertd.phones import parse_phone


@pytest.mark.parametrize(
    "raw",
    [
        "06 12 34 56 78",
        "0612345678",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "+33 6 12 34 56 78",
        "+33612345678",
        "0033 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        " 06 12 34 56 78 ",
    ],
)
def test_french_forms_normalise_to_e164(raw: str) -> None:
    phone = parse_phone(raw)
    assert phone.e164 == "+33612345678"
    assert phone.kind == "mobile"
    assert phone.can_receive_sms


def test_landline_is_flagged_not_refused() -> None:
    phone = parse_phone("03 28 59 00 00")
    assert phone.e164 == "+33328590000"
    assert phone.kind == "landline"
    assert not phone.can_receive_sms


def test_foreign_mobile_is_accepted() -> None:
    # Dunkerque is 10 km from Belgium: cross-border workers subscribe with Belgian numbers.
    assert parse_phone("+32 470 12 34 56").e164 == "+32470123456"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("abc", "not a phone number"),
        ("12345", "not a valid number"),
        ("07 00 00 00 01", "not a valid number"),
        ("0800 123 456", "toll-free"),
        ("08 99 12 34 56", "premium-rate"),
        ("+999 123456789", "unknown country code"),
        ("0" * 41, "too long"),
    ],
)
def test_refused_numbers_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        parse_phone(raw)


@settings(max_examples=500, deadline=None)
@given(
    prefix=st.sampled_from(["0", "+33", "0033", "+33 ", "00 33 "]),
    digits=st.text(alphabet="0123456789", min_size=9, max_size=9),
    sep=st.sampled_from(["", " ", ".", "-"]),
)
def test_fast_path_agrees_with_libphonenumber(prefix: str, digits: str, sep: str) -> None:
    """The shortcut for common French shapes gives exactly what the full parser gives."""
    text = prefix + sep.join(digits[i : i + 2] for i in range(0, 9, 2))
    try:
        expected = phonenumbers.parse(text, "FR")
        kind = phonenumbers.number_type(expected)
    except phonenumbers.NumberParseException:
        with pytest.raises(InputError):
            parse_phone(text)
        return
    try:
        phone = parse_phone(text)
    except InputError:
        assert kind not in (
            PhoneNumberType.MOBILE,
            PhoneNumberType.FIXED_LINE,
            PhoneNumberType.FIXED_LINE_OR_MOBILE,
            PhoneNumberType.VOIP,
        )
        return
    assert phone.e164 == phonenumbers.format_number(expected, phonenumbers.PhoneNumberFormat.E164)


def test_national_form_outside_france_uses_the_region() -> None:
    assert parse_phone("0470 12 34 56", "BE").e164 == "+32470123456"
