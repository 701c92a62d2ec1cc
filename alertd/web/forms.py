"""What a resident typed in the forms, checked: values, or the key of the words that say what to
fix, per field. Pure."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from alertd.errors import InputError
from alertd.phones import parse_phone
from alertd.web.texts import LANGUAGES

_POSTCODE = re.compile(r"[0-9]{5}")
_CODE = re.compile(r"[0-9]{6}")
MAX_STREET = 200
MAX_NUMBER = 12


@dataclass
class Checked:
    """Values kept and errors found (field name -> text key, with its values)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, tuple[str, dict[str, object]]] = field(default_factory=dict)

    def fail(self, name: str, key: str, **values: object) -> None:
        self.errors.setdefault(name, (key, values))


def check_phone(form: Mapping[str, str], out: Checked, region: str) -> str | None:
    raw = form.get("phone", "").strip()
    out.values["phone"] = raw
    try:
        phone = parse_phone(raw, region)
    except InputError:
        out.fail("phone", "err_phone")
        return None
    if not phone.can_receive_sms:
        out.fail("phone", "err_phone_not_mobile")
        return None
    return phone.e164


def check_postcode(form: Mapping[str, str], out: Checked) -> str | None:
    raw = "".join(form.get("postcode", "").split())
    out.values["postcode"] = raw
    if not _POSTCODE.fullmatch(raw):
        out.fail("postcode", "err_postcode")
        return None
    return raw


def check_language(form: Mapping[str, str], out: Checked, default: str) -> str:
    raw = form.get("language", default)
    language = raw if raw in LANGUAGES else default
    out.values["language"] = language
    return language


def check_address(form: Mapping[str, str], out: Checked) -> tuple[str | None, str | None]:
    """(street, number), each None when left empty."""
    street = " ".join(form.get("street", "").split())
    number = " ".join(form.get("number", "").split())
    out.values["street"], out.values["number"] = street, number
    if len(street) > MAX_STREET:
        out.fail("street", "err_street")
    if len(number) > MAX_NUMBER:
        out.fail("number", "err_street")
    return (street or None), (number or None)


def check_topics(form_topics: Collection[str], offered: Collection[str]) -> frozenset[str]:
    """The topics ticked among those offered (anything else sent is not a choice the page gave)."""
    return frozenset(t for t in form_topics if t in offered)


def check_code(form: Mapping[str, str], out: Checked) -> str | None:
    raw = "".join(ch for ch in form.get("code", "") if not ch.isspace() and ch != "-")
    if not _CODE.fullmatch(raw):
        out.fail("code", "err_code")
        return None
    return raw


def address_line(street: str | None, number: str | None) -> str | None:
    if street is None:
        return None
    return f"{number} {street}" if number else street
