"""Row checks, without a database."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from alertd.errors import InputError
from alertd.subscribers.csv_rows import RowRules, check_chunk, map_header, open_csv, sniff_delimiter

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RULES = RowRules(postcodes=frozenset({"59140", "59240"}), tenant_name="Dunkerque")


def _check(text: str, rules: RowRules = RULES):  # type: ignore[no-untyped-def]
    rows, index, _ = open_csv(io.StringIO(text))
    return check_chunk(rows, index, rules, NOW)


def test_good_row_becomes_a_subscriber() -> None:
    result = _check(
        "phone,postcode,address,lon,lat,language,topics,exercise\n"
        "06 12 34 56 78,59140,1 rue de la Digue,2.3431,51.0292,EN,dechets|crues,oui\n"
    )
    assert result.problems == []
    row = result.rows[0]
    assert (row.line, row.phone, row.postcode, row.lon, row.lat) == (
        2,
        "+33612345678",
        "59140",
        2.3431,
        51.0292,
    )
    assert (row.language, row.topics, row.exercise, row.status) == (
        "en",
        ["crues", "dechets"],
        True,
        None,
    )


def test_semicolon_file_with_french_headers_and_decimal_commas() -> None:
    result = _check("Téléphone;Code postal;Longitude;Latitude\n0612345678;59140;2,3431;51,0292\n")
    assert result.problems == []
    assert result.rows[0].lon == 2.3431


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("12345,59140,,", "not a valid number"),
        ("06 12 34 56 78,75001,,", "postcode 75001 is not in Dunkerque"),
        ("06 12 34 56 78,5914,,", "not in Dunkerque"),
        ("06 12 34 56 78,ABCDE,,", "is not a French postcode"),
        ("06 12 34 56 78,,,", "needs a postcode or coordinates"),
        ("06 12 34 56 78,59140,2.3,", "lon and lat go together"),
        ("06 12 34 56 78,59140,651000,7000000", "outside -180..180"),
        ("06 12 34 56 78,59140,51.03,2.34", "look swapped"),
        ("06 12 34 56 78,59140,east,51", "is not a number"),
        ("06 12 34 56 78,59140,nan,51", "is not a number"),
    ],
)
def test_bad_rows_name_line_and_reason(line: str, reason: str) -> None:
    result = _check(f"phone,postcode,lon,lat\n06 11 11 11 11,59140,,\n{line}\n")
    assert len(result.rows) == 1
    assert [p.line for p in result.problems] == [3]
    assert reason in result.problems[0].reason


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("language", "french", "two-letter code"),
        ("status", "gone", "not one of"),
        ("topics", "Déchets!", "lowercase"),
        ("consent_at", "yesterday", "is not a date"),
        ("consent_at", "2030-01-01", "in the future"),
        ("exercise", "perhaps", "yes or no"),
        ("consent_channel", "pigeon", "not one of"),
    ],
)
def test_bad_optional_values(column: str, value: str, reason: str) -> None:
    result = _check(f"phone,postcode,{column}\n06 12 34 56 78,59140,{value}\n")
    assert result.rows == []
    assert reason in result.problems[0].reason


def test_landline_kept_with_a_warning() -> None:
    result = _check("phone,postcode\n03 28 59 00 00,59140\n")
    assert result.rows[0].phone_kind == "landline"
    assert result.warnings[0].line == 2


def test_unclosed_quote_never_swallows_a_resident_quietly() -> None:
    text = (
        'phone,postcode,address\n06 12 34 56 78,59140,"1 rue de la Digue\n'
        '06 12 34 56 79,59140,2 rue du Canal\n06 12 34 56 80,59140,"3 quai"\nbad,59140,\n'
    )
    result = _check(text)
    assert result.rows == []
    assert [p.line for p in result.problems] == [2, 5]
    assert "unclosed quote" in result.problems[0].reason


def test_control_characters_in_an_address_become_spaces() -> None:
    result = _check("phone,postcode,address\n06 12 34 56 78,59140,1 rue\tde la\x0bDigue\n")
    assert result.rows[0].address == "1 rue de la Digue"


def test_blank_lines_are_not_rows() -> None:
    result = _check("phone,postcode\n\n06 12 34 56 78,59140\n,\n")
    assert len(result.rows) == 1
    assert result.problems == []


def test_non_utf8_bytes_are_reported_per_row() -> None:
    raw = (
        b"phone,postcode,address\n06 12 34 56 78,59140,1 rue de la Digue\n"
        + "06 12 34 56 79,59140,rue de l'Église\n".encode("latin-1")
    )
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="surrogateescape")
    rows, index, _ = open_csv(stream)
    result = check_chunk(rows, index, RULES, NOW)
    assert len(result.rows) == 1
    assert result.problems[0].line == 3
    assert "UTF-8" in result.problems[0].reason


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["name", "postcode"], "no phone column"),
        (["phone", "address"], "needs a postcode"),
        (["phone", "postcode", "lon"], "lon and lat columns go together"),
        (["phone", "tel", "postcode"], "given twice"),
    ],
)
def test_bad_headers_are_refused(header: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        map_header(header)


def test_unknown_columns_are_ignored_and_listed() -> None:
    _, ignored = map_header(["phone", "postcode", "nom", "email"])
    assert ignored == ["nom", "email"]


def test_empty_file_is_refused() -> None:
    with pytest.raises(InputError, match="empty"):
        open_csv(io.StringIO(""))


@pytest.mark.parametrize(
    ("line", "expected"), [("a,b;c;d", ";"), ("a,b", ","), ("a\tb", "\t"), ("phone", ",")]
)
def test_delimiter_sniffing(line: str, expected: str) -> None:
    assert sniff_delimiter(line) == expected


def test_copy_text_escapes_what_postgres_would_misread() -> None:
    from datetime import datetime as dt

    from alertd.store.copy_text import drop_lines, encode_rows

    payload = encode_rows([(1, "a\tb\\c\nd", None, True, 2.5, ["x", 'q"'], dt(2026, 1, 2, 3, 4))])
    assert payload == b'1\ta\\tb\\\\c\\nd\t\\N\tt\t2.5\t{"x","q\\\\""}\t2026-01-02T03:04:00\n'
    two = encode_rows([("a",), ("b",), ("c",)])
    assert drop_lines(two, {1}) == b"a\nc\n"
