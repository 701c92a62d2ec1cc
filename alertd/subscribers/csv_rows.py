"""Subscriber CSV files: the columns, and the checks on each row (pure; no database).

A row either becomes a ``SubscriberRow`` ready for COPY or a ``RowProblem`` naming its line and
reason. Rows are checked in chunks so that large files can be spread over worker processes.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, NamedTuple
from zoneinfo import ZoneInfo

from alertd.errors import InputError
from alertd.phones import parse_phone
from alertd.store.copy_text import encode_rows

# Column name -> accepted spellings (French exports say téléphone, code_postal, …).
COLUMNS: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "telephone", "téléphone", "tel", "mobile", "portable", "msisdn"),
    "postcode": ("postcode", "code_postal", "cp", "postal_code", "zip"),
    "address": ("address", "adresse"),
    "lon": ("lon", "lng", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
    "language": ("language", "langue", "lang"),
    "topics": ("topics", "themes", "thèmes"),
    "status": ("status", "statut"),
    "consent_at": ("consent_at", "consentement", "date_consentement"),
    "consent_channel": ("consent_channel", "canal"),
    "exercise": ("exercise", "exercice"),
}
STATUSES = ("pending", "active", "stopped")
CHANNELS = ("web", "sms", "import", "counter", "api")
MAX_ADDRESS = 300
MAX_HEADER = 10_000  # characters: a real header is a few hundred
_POSTCODE_RE = re.compile(r"^(?:0[1-9]|[1-8]\d|9[0-8])\d{3}$")
_LANG_RE = re.compile(r"^[a-z]{2}$")
_TOPIC_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_LOCAL_TZ = ZoneInfo("Europe/Paris")
_TRUE = ("1", "true", "yes", "oui", "y", "o")
_FALSE = ("", "0", "false", "no", "non", "n")
# Metropolitan France, generously: used only to spot latitude and longitude given swapped.
_METRO_LON = (-5.5, 10.0)
_METRO_LAT = (41.0, 51.5)


class SubscriberRow(NamedTuple):
    """A checked row, in the column order of the COPY staging table (so it is its own record).

    A tuple rather than a dataclass: chunks of these cross process boundaries, and tuples pickle
    at half the cost."""

    line: int
    phone: str
    phone_kind: str
    language: str
    postcode: str | None
    address: str | None
    lon: float | None
    lat: float | None
    topics: list[str]
    status: str | None  # None: keep the stored status (active for a new subscriber)
    exercise: bool
    consent_at: datetime | None
    consent_channel: str | None


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RowRules:
    """What a row is checked against: the phone region and the tenant's postcodes."""

    region: str = "FR"
    postcodes: frozenset[str] = frozenset()
    tenant_name: str = ""


@dataclass(frozen=True, slots=True)
class CheckedChunk:
    rows: list[SubscriberRow]
    problems: list[RowProblem]
    warnings: list[RowProblem]


@dataclass(frozen=True, slots=True)
class CopyChunk:
    """A checked chunk as the importer needs it: rows ready for COPY, and their phones and lines
    for the file-wide duplicate check."""

    payload: bytes
    phones: list[str]
    lines: list[int]
    problems: list[RowProblem]
    warnings: list[RowProblem]


def sniff_delimiter(header_line: str) -> str:
    """French spreadsheets export with ';', others with ','; tabs happen too."""
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def map_header(header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Column name -> index; and the columns that will be ignored. Raise if phone is missing."""
    spellings = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}
    index: dict[str, int] = {}
    ignored = []
    for i, raw in enumerate(header):
        key = raw.strip().lower().replace(" ", "_").replace("-", "_")
        name = spellings.get(key)
        if name is None:
            ignored.append(raw.strip())
        elif name in index:
            raise InputError(f"column {raw.strip()!r} given twice (as {name})")
        else:
            index[name] = i
    if "phone" not in index:
        raise InputError("the header has no phone column; expected columns: " + ", ".join(COLUMNS))
    if "postcode" not in index and "lon" not in index:
        raise InputError("the header needs a postcode column, or lon and lat columns")
    if ("lon" in index) != ("lat" in index):
        raise InputError("lon and lat columns go together: the header has only one of them")
    return index, ignored


def open_csv(stream: IO[str]) -> tuple[Iterator[tuple[int, list[str]]], dict[str, int], list[str]]:
    """Rows numbered by their line in the file, the column index, and ignored columns."""
    header_line = stream.readline(MAX_HEADER + 1)
    if not header_line.strip():
        raise InputError("the file is empty: expected a header line such as 'phone,postcode'")
    if len(header_line) > MAX_HEADER:
        raise InputError(
            f"the first line is longer than {MAX_HEADER} characters: it is not a header line "
            "such as 'phone,postcode' (is this a CSV file?)"
        )
    try:
        header = next(csv.reader([header_line], delimiter=sniff_delimiter(header_line)))
    except csv.Error as exc:
        raise InputError(f"line 1: the header is not CSV ({exc})") from None
    index, ignored = map_header(header)
    reader = csv.reader(stream, delimiter=sniff_delimiter(header_line))

    def numbered() -> Iterator[tuple[int, list[str]]]:
        start = 2
        try:
            for row in reader:
                yield start, row
                start = reader.line_num + 2  # line_num counts from the line after the header
        except csv.Error as exc:
            raise InputError(f"line {start}: the CSV is malformed ({exc})") from None

    return numbered(), index, ignored


def check_chunk(
    rows: Iterable[tuple[int, list[str]]], index: dict[str, int], rules: RowRules, now: datetime
) -> CheckedChunk:
    """Check rows; runs in worker processes for large files, so it takes and returns plain data."""
    good: list[SubscriberRow] = []
    problems: list[RowProblem] = []
    warnings: list[RowProblem] = []
    for line, fields in rows:
        if not any(f.strip() for f in fields):
            continue  # blank lines are not rows
        if any("\n" in f or "\r" in f for f in fields):
            # Legal CSV, but in a subscriber list it is nearly always an unclosed quote that has
            # swallowed the next lines, residents included: refuse rather than lose them quietly.
            problems.append(
                RowProblem(
                    line,
                    "a field spans several lines (an unclosed quote?): "
                    "this row and the lines it swallowed are skipped",
                )
            )
            continue
        try:
            row = check_row(line, fields, index, rules, now)
        except InputError as exc:
            problems.append(RowProblem(line, exc.message))
            continue
        if row.phone_kind == "landline":
            warnings.append(
                RowProblem(line, "landline number kept but flagged: it cannot receive SMS")
            )
        good.append(row)
    return CheckedChunk(good, problems, warnings)


def check_chunk_for_copy(
    rows: Iterable[tuple[int, list[str]]], index: dict[str, int], rules: RowRules, now: datetime
) -> CopyChunk:
    checked = check_chunk(rows, index, rules, now)
    return CopyChunk(
        payload=encode_rows(checked.rows),
        phones=[r.phone for r in checked.rows],
        lines=[r.line for r in checked.rows],
        problems=checked.problems,
        warnings=checked.warnings,
    )


def _get(fields: list[str], index: dict[str, int], name: str) -> str:
    i = index.get(name)
    if i is None or i >= len(fields):
        return ""
    return fields[i].strip()


def _check_utf8(fields: list[str], index: dict[str, int]) -> None:
    """Bytes that were not UTF-8 arrive as lone surrogates: name the column that has them."""
    try:
        "".join(fields).encode("utf-8")  # one pass for the common, clean row
    except UnicodeEncodeError:
        for name, i in index.items():
            if i < len(fields) and not fields[i].isascii():
                try:
                    fields[i].encode("utf-8")
                except UnicodeEncodeError:
                    raise InputError(
                        f"{name} is not valid UTF-8: save the file as 'CSV UTF-8'"
                    ) from None


def check_row(
    line: int, fields: list[str], index: dict[str, int], rules: RowRules, now: datetime
) -> SubscriberRow:
    _check_utf8(fields, index)
    phone = parse_phone(_get(fields, index, "phone"), rules.region)
    postcode = _postcode(_get(fields, index, "postcode"), rules)
    lon, lat = _coordinates(_get(fields, index, "lon"), _get(fields, index, "lat"))
    if postcode is None and lon is None:
        raise InputError("needs a postcode or coordinates (lon, lat)")
    address = _get(fields, index, "address") or None
    if address is not None and not address.isprintable():
        # Line breaks and control characters from spreadsheets become single spaces.
        address = " ".join("".join(c if c.isprintable() else " " for c in address).split())
    if address is not None and len(address) > MAX_ADDRESS:
        raise InputError(f"address longer than {MAX_ADDRESS} characters")
    return SubscriberRow(
        line=line,
        phone=phone.e164,
        phone_kind=phone.kind,
        language=_language(_get(fields, index, "language")),
        postcode=postcode,
        address=address,
        lon=lon,
        lat=lat,
        topics=_topics(_get(fields, index, "topics")),
        status=_choice("status", _get(fields, index, "status"), STATUSES),
        exercise=_flag(_get(fields, index, "exercise")),
        consent_at=_consent_at(_get(fields, index, "consent_at"), now),
        consent_channel=_choice(
            "consent_channel", _get(fields, index, "consent_channel"), CHANNELS
        ),
    )


def _postcode(raw: str, rules: RowRules) -> str | None:
    if not raw:
        return None
    code = raw.replace(" ", "")
    if len(code) == 4 and code.isdigit():
        code = "0" + code  # spreadsheets drop the leading zero of 01000-09999
    if not _POSTCODE_RE.match(code):
        raise InputError(f"postcode {raw!r} is not a French postcode (five digits)")
    if rules.postcodes and code not in rules.postcodes:
        known = ", ".join(sorted(rules.postcodes))
        raise InputError(f"postcode {code} is not in {rules.tenant_name} ({known})")
    return code


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise InputError(f"{name} {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{name} {raw!r} is not a number")
    return value


def _coordinates(raw_lon: str, raw_lat: str) -> tuple[float | None, float | None]:
    if not raw_lon and not raw_lat:
        return None, None
    if not raw_lon or not raw_lat:
        raise InputError("lon and lat go together: only one is given")
    lon, lat = _number("lon", raw_lon), _number("lat", raw_lat)
    if not -180 <= lon <= 180:
        raise InputError(f"lon {lon} is outside -180..180 (is it Lambert-93? give WGS84 degrees)")
    if not -90 <= lat <= 90:
        raise InputError(f"lat {lat} is outside -90..90 (is it Lambert-93? give WGS84 degrees)")
    in_metro = _METRO_LON[0] <= lon <= _METRO_LON[1] and _METRO_LAT[0] <= lat <= _METRO_LAT[1]
    swapped = _METRO_LON[0] <= lat <= _METRO_LON[1] and _METRO_LAT[0] <= lon <= _METRO_LAT[1]
    if swapped and not in_metro:
        raise InputError(f"lon {lon} and lat {lat} look swapped (lon is east-west, about 2.3 here)")
    return lon, lat


def _language(raw: str) -> str:
    if not raw:
        return "fr"
    code = raw.strip().lower().replace("_", "-").split("-")[0]
    if not _LANG_RE.match(code):
        raise InputError(f"language {raw!r} is not a two-letter code such as fr or en")
    return code


def _topics(raw: str) -> list[str]:
    topics = sorted({t.strip().lower() for t in raw.split("|") if t.strip()})
    for topic in topics:
        if not _TOPIC_RE.match(topic):
            raise InputError(f"topic {topic!r}: use lowercase letters, digits, - and _ (max 32)")
    return topics


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str | None:
    if not raw:
        return None
    value = raw.lower()
    if value not in choices:
        raise InputError(f"{name} {raw!r} is not one of {', '.join(choices)}")
    return value


def _flag(raw: str) -> bool:
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InputError(f"exercise {raw!r} is not yes or no")


def _consent_at(raw: str, now: datetime) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(
            f"consent_at {raw!r} is not a date (use 2024-03-01 or 2024-03-01T10:00)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_LOCAL_TZ)  # a date without zone was written in France
    if value > now + timedelta(days=1):
        raise InputError(f"consent_at {raw} is in the future")
    return value
