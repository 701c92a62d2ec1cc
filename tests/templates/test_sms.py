# ruff: noqa: RUF001, RUF003 - typographic quotes, dashes and apostrophes are what is tested
"""GSM-7 / UCS-2 detection, segment counts and the split, checked against a computation written
here from GSM 03.38 (3GPP TS 23.038) and the concatenation rules, not against templates.sms."""

from __future__ import annotations

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from templates import sms

# GSM 03.38 default alphabet, in code order: BASIC[i] is the character of septet i.
# 0x1B is the escape to the extension table.
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x00-0x0F
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"  # 0x10-0x1F
    " !\"#¤%&'()*+,-./"  # 0x20-0x2F
    "0123456789:;<=>?"  # 0x30-0x3F
    "¡ABCDEFGHIJKLMNO"  # 0x40-0x4F
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x50-0x5F
    "¿abcdefghijklmno"  # 0x60-0x6F
    "pqrstuvwxyzäöñüà"  # 0x70-0x7F
)
# Extension table: escape (0x1B) then this septet.
EXTENSION = {
    "\x0c": 0x0A,  # form feed (page break)
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
BASIC_SET = frozenset(BASIC)

GSM_SINGLE, GSM_PART = 160, 153
UCS_SINGLE, UCS_PART = 70, 67


def ref_is_gsm(text: str) -> bool:
    return all(c in BASIC_SET or c in EXTENSION for c in text)


def ref_costs(text: str) -> tuple[str, list[int]]:
    """Encoding and the cost of each character: septets, or UTF-16 code units."""
    if ref_is_gsm(text):
        return "GSM-7", [2 if c in EXTENSION else 1 for c in text]
    return "UCS-2", [len(c.encode("utf-16-le")) // 2 for c in text]


def ref_segments(text: str) -> int:
    encoding, costs = ref_costs(text)
    if not costs:
        return 0
    single, part = (GSM_SINGLE, GSM_PART) if encoding == "GSM-7" else (UCS_SINGLE, UCS_PART)
    if sum(costs) <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > part:  # an escape pair or a surrogate pair moves whole
            count, used = count + 1, 0
        used += cost
    return count


def fit(pattern: str, n: int) -> str:
    """The pattern repeated and cut to exactly n characters."""
    return (pattern * (n // len(pattern) + 1))[:n]


FR_GSM = "Crue: évacuez où la rivière déborde à "  # é è à ù are all in the default alphabet
FR_UCS = "Crête l’eau façon œuvre "  # ê ’ ç œ are not
WAVE = "\U0001f30a"  # 🌊, a surrogate pair in UTF-16

assert ref_is_gsm(FR_GSM)
assert not ref_is_gsm(FR_UCS)

# (id, text, encoding, units, segments): the expected figures are worked out by hand.
CASES = [
    ("empty", "", "GSM-7", 0, 0),
    ("one-char", "a", "GSM-7", 1, 1),
    ("ascii-160", "a" * 160, "GSM-7", 160, 1),
    ("ascii-161", "a" * 161, "GSM-7", 161, 2),
    ("ascii-306", "a" * 306, "GSM-7", 306, 2),
    ("ascii-307", "a" * 307, "GSM-7", 307, 3),
    ("fr-gsm-160", fit(FR_GSM, 160), "GSM-7", 160, 1),
    ("fr-gsm-161", fit(FR_GSM, 161), "GSM-7", 161, 2),
    ("fr-accents-only-160", fit("éèàù", 160), "GSM-7", 160, 1),
    ("fr-accents-only-161", fit("éèàù", 161), "GSM-7", 161, 2),
    ("fr-ucs2-70", fit(FR_UCS, 70), "UCS-2", 70, 1),
    ("fr-ucs2-71", fit(FR_UCS, 71), "UCS-2", 71, 2),
    ("fr-ucs2-134", fit(FR_UCS, 134), "UCS-2", 134, 2),
    ("fr-ucs2-135", fit(FR_UCS, 135), "UCS-2", 135, 3),
    ("one-e-circumflex-in-gsm-text-70", "a" * 69 + "ê", "UCS-2", 70, 1),
    ("one-c-cedilla-71", "ç" + "a" * 70, "UCS-2", 71, 2),
    ("one-apostrophe-71", "l’" + "a" * 69, "UCS-2", 71, 2),
    ("euro-158-plus-1", "a" * 158 + "€", "GSM-7", 160, 1),
    ("euro-159-plus-1", "a" * 159 + "€", "GSM-7", 161, 2),
    ("bracket-159-plus-1", "a" * 159 + "[", "GSM-7", 161, 2),
    ("formfeed-159-plus-1", "a" * 159 + "\x0c", "GSM-7", 161, 2),
    ("euro-ends-first-part", "a" * 151 + "€" + "a" * 10, "GSM-7", 163, 2),
    ("euro-at-septet-153", "a" * 152 + "€" + "a" * 10, "GSM-7", 164, 2),
    ("euro-at-153-fills-two", "a" * 152 + "€" + "a" * 151, "GSM-7", 305, 2),
    ("euro-at-153-needs-three", "a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
    ("bracket-at-153-needs-three", "a" * 152 + "[" + "a" * 152, "GSM-7", 306, 3),
    ("close-bracket-ends-first", "a" * 151 + "]" + "a" * 153, "GSM-7", 306, 2),
    ("euro-80", "€" * 80, "GSM-7", 160, 1),
    ("euro-81", "€" * 81, "GSM-7", 162, 2),
    ("euro-153", "€" * 153, "GSM-7", 306, 3),  # 76 a part: 306 septets, yet 3 parts
    ("greek-160", fit("ΔΦΓΛΩΠΨΣΘΞ", 160), "GSM-7", 160, 1),
    ("all-basic-128", BASIC, "GSM-7", 128, 1),
    ("all-extension", "".join(EXTENSION), "GSM-7", 20, 1),
    ("emoji-35", WAVE * 35, "UCS-2", 70, 1),
    ("emoji-35-plus-a", WAVE * 35 + "a", "UCS-2", 71, 2),
    ("emoji-36", WAVE * 36, "UCS-2", 72, 2),
    ("emoji-straddles-67", "a" * 66 + WAVE + "a" * 10, "UCS-2", 78, 2),
    ("emoji-straddle-fills-two", "a" * 66 + WAVE + "a" * 65, "UCS-2", 133, 2),
    ("emoji-straddle-needs-three", "a" * 66 + WAVE + "a" * 66, "UCS-2", 134, 3),
    ("euro-is-one-unit-in-ucs2", "ê" + "€" * 69, "UCS-2", 70, 1),
    ("cjk-70", "水" * 70, "UCS-2", 70, 1),
    ("cjk-71", "水" * 71, "UCS-2", 71, 2),
    ("backtick-forces-ucs2", "a" * 70 + "`", "UCS-2", 71, 2),
    ("gsm-1000", fit(FR_GSM, 1000), "GSM-7", 1000, 7),
    ("ucs2-1000", fit(FR_UCS, 1000), "UCS-2", 1000, 15),
    ("newline", "Alerte crue\nMontez à l'étage", "GSM-7", 28, 1),
    ("newline-160", "a" * 159 + "\n", "GSM-7", 160, 1),
    ("newlines-161", "\r\n" * 80 + "\n", "GSM-7", 161, 2),
]
IDS = [case[0] for case in CASES]


def test_basic_table_is_the_specification() -> None:
    assert len(BASIC) == 128
    assert len(BASIC_SET) == 128
    for code, char in enumerate(BASIC):
        assert char.encode("gsm03.38") == bytes([code]), (hex(code), char)
        if char != "\x1b":  # a lone escape decodes to nothing
            assert char.encode("gsm03.38").decode("gsm03.38") == char


def test_extension_table_is_the_specification() -> None:
    assert len(EXTENSION) == 10
    for char, code in EXTENSION.items():
        assert char.encode("gsm03.38") == bytes([0x1B, code]), char
        assert char not in BASIC_SET


def test_codec_knows_no_other_character() -> None:
    known = BASIC_SET | set(EXTENSION)
    for code in [*range(0x3000), 0x20AC, 0x1F30A]:
        char = chr(code)
        if 0xD800 <= code < 0xE000:
            continue
        try:
            char.encode("gsm03.38")
        except UnicodeEncodeError:
            assert char not in known, hex(code)
        else:
            assert char in known, hex(code)


@pytest.mark.parametrize(("name", "text", "encoding", "units", "count"), CASES, ids=IDS)
def test_reference_agrees_with_hand_figures(
    name: str, text: str, encoding: str, units: int, count: int
) -> None:
    ref_encoding, costs = ref_costs(text)
    assert (ref_encoding, sum(costs), ref_segments(text)) == (encoding, units, count)


@pytest.mark.parametrize(("name", "text", "encoding", "units", "count"), CASES, ids=IDS)
def test_analyse(name: str, text: str, encoding: str, units: int, count: int) -> None:
    info = sms.analyse(text)
    assert info.encoding == encoding
    assert info.units == units
    assert info.segments == count
    assert sms.segments(text) == count
    if encoding == "GSM-7":
        assert info.ucs2_chars == ()
        assert info.extension_chars == tuple(dict.fromkeys(c for c in text if c in EXTENSION))
    else:
        forced = tuple(dict.fromkeys(c for c in text if not ref_is_gsm(c)))
        assert info.ucs2_chars == forced
        assert info.ucs2_chars


def _part_units(part: str, encoding: str) -> int:
    if encoding == "GSM-7":
        return sum(2 if c in EXTENSION else 1 for c in part)
    return len(part.encode("utf-16-le")) // 2


@pytest.mark.parametrize(("name", "text", "encoding", "units", "count"), CASES, ids=IDS)
def test_split(name: str, text: str, encoding: str, units: int, count: int) -> None:
    parts = sms.split(text)
    assert "".join(parts) == text
    assert len(parts) == count
    assert all(parts)
    if count == 1:
        assert _part_units(parts[0], encoding) <= (160 if encoding == "GSM-7" else 70)
    limit = GSM_PART if encoding == "GSM-7" else UCS_PART
    for i, part in enumerate(parts if count > 1 else []):
        assert _part_units(part, encoding) <= limit
        if encoding == "GSM-7":
            # the part encodes on its own: no escape separated from its character
            assert len(part.encode("gsm03.38")) == _part_units(part, encoding)
        else:
            part.encode("utf-16-le")  # a lone surrogate would raise
        if i + 1 < len(parts):  # a part closes only when the next character does not fit
            assert _part_units(part + parts[i + 1][0], encoding) > limit


def test_split_moves_the_euro_at_septet_153() -> None:
    parts = sms.split("a" * 152 + "€" + "a" * 10)
    assert parts == ["a" * 152, "€" + "a" * 10]
    parts = sms.split("a" * 151 + "€" + "a" * 10)
    assert parts == ["a" * 151 + "€", "a" * 10]


def test_split_keeps_a_surrogate_pair_whole() -> None:
    parts = sms.split("a" * 66 + WAVE + "a" * 10)
    assert parts == ["a" * 66, WAVE + "a" * 10]
    assert [len(p.encode("utf-16-le")) // 2 for p in parts] == [66, 12]


def test_split_single_and_empty() -> None:
    assert sms.split("") == []
    assert sms.split("Bonjour\n") == ["Bonjour\n"]
    assert sms.split("a" * 160) == ["a" * 160]
    assert sms.split("a" * 161) == ["a" * 153, "a" * 8]
    assert sms.split("ê" * 71) == ["ê" * 67, "ê" * 4]


def test_analyse_lists_forcing_characters_once_in_order() -> None:
    info = sms.analyse("Crête: l’eau monte, façon crête, l’œil " + WAVE + " ê")
    assert info.encoding == "UCS-2"
    assert info.encoding == sms.UCS2
    assert info.ucs2_chars == ("ê", "’", "ç", "œ", WAVE)
    assert info.extension_chars == ()  # an UCS-2 message has no escapes


def test_analyse_lists_extension_characters_once_in_order() -> None:
    info = sms.analyse("Prix 5€ [zone A] | 3€ {x}")
    assert info.encoding == "GSM-7"
    assert info.encoding == sms.GSM7
    assert info.extension_chars == ("€", "[", "]", "|", "{", "}")
    assert info.ucs2_chars == ()
    assert info.units == len("Prix 5€ [zone A] | 3€ {x}") + 7


def test_analyse_counts_surrogate_pairs_as_two_units() -> None:
    info = sms.analyse("Alerte " + WAVE)
    assert (info.encoding, info.units, info.segments) == ("UCS-2", 9, 1)


BROAD = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-()/@£$¥_"
    "àâäçéèêëîïôöùûüÿœæÀÂÇÉÈÊËÎÏÔÙÛÜŸŒÆßñÑåÅøØ"
    "’‘“”«»‹›\u00a0\u202f–—…"
    "€[]{}^~|\\\x0c\n\r\t"
    "ΔΦΓΛΩΠΨΣΘΞ水火中文"
    "\U0001f30a\U0001f6a8\u26a0\ufe0f\U0001f525\U0001f600"
)
texts = st.text(
    alphabet=st.one_of(st.sampled_from(BROAD), st.characters(exclude_categories=("Cs",))),
    max_size=400,
)


@settings(deadline=None, max_examples=200)
@given(texts)
def test_segments_match_reference(text: str) -> None:
    info = sms.analyse(text)
    encoding, costs = ref_costs(text)
    assert (info.encoding, info.units, info.segments) == (encoding, sum(costs), ref_segments(text))


@settings(deadline=None, max_examples=200)
@given(texts)
def test_split_round_trips(text: str) -> None:
    parts = sms.split(text)
    assert "".join(parts) == text
    assert len(parts) == sms.segments(text)
    encoding = sms.analyse(text).encoding
    limit = (GSM_PART if encoding == "GSM-7" else UCS_PART) if len(parts) > 1 else 10**9
    for part in parts:
        assert _part_units(part, encoding) <= limit
