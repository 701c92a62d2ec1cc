# ruff: noqa: RUF001 - typographic quotes, dashes and apostrophes are what is tested
"""Transliteration to GSM-7: French typography and letters replaced, the rest dropped and said."""

from __future__ import annotations

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from templates import sms
from templates.translit import Transliteration, transliterate

WAVE = "\U0001f30a"
SIREN = "\U0001f6a8"


def is_gsm(char: str) -> bool:
    try:
        char.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize(
    ("original", "plain"),
    [
        ("ê", "e"),
        ("â", "a"),
        ("î", "i"),
        ("ô", "o"),
        ("û", "u"),
        ("ë", "e"),
        ("ï", "i"),
        ("ç", "c"),
        ("œ", "oe"),
        ("Œ", "OE"),
        ("Ê", "E"),
        ("\u2019", "'"),
        ("\u2018", "'"),
        ("«", '"'),
        ("»", '"'),
        ("\u201c", '"'),
        ("\u201d", '"'),
        ("\u00a0", " "),
        ("\u202f", " "),
        ("\u2013", "-"),
        ("\u2014", "-"),
        ("\u2026", ".."),
    ],
)
def test_single_replacements(original: str, plain: str) -> None:
    result = transliterate(f"x{original}y")
    assert result.text == f"x{plain}y"
    assert result.replaced == ((original, plain),)
    assert result.dropped == ()
    assert result.faithful


def test_french_sentence() -> None:
    text = "Crête\u00a0: l’eau monte ; «\u00a0évacuez\u00a0» — façon œuvre, fête"
    result = transliterate(text)
    assert result.text == 'Crete : l\'eau monte ; " évacuez " - facon oeuvre, fete'
    assert result.replaced == (
        ("ê", "e"),
        ("\u00a0", " "),
        ("\u2019", "'"),
        ("«", '"'),
        ("»", '"'),
        ("\u2014", "-"),
        ("ç", "c"),
        ("œ", "oe"),
    )
    assert result.faithful
    assert sms.analyse(result.text).encoding == "GSM-7"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Alerte crue: évacuez où à è ù, prix 5€ [zone] {x} ~|^\\",
        "ΔΦΓΛΩ Ç É Ñ ß Å ø\nligne\r\n",
    ],
)
def test_gsm_text_unchanged(text: str) -> None:
    result = transliterate(text)
    assert result == Transliteration(text, (), ())
    assert result.faithful


def test_emoji_dropped_and_reported() -> None:
    result = transliterate(f"{SIREN} Alerte {WAVE} crue {WAVE}")
    assert result.text == " Alerte  crue "
    assert result.dropped == (SIREN, WAVE)
    assert not result.faithful
    assert result.replaced == ()


def test_other_scripts_dropped_and_reported() -> None:
    result = transliterate("Zone 水 ê")
    assert result.text == "Zone  e"
    assert result.dropped == ("水",)
    assert result.replaced == (("ê", "e"),)
    assert not result.faithful


def test_replacements_listed_once_each() -> None:
    result = transliterate("ê ê ê ’ ’ ê")
    assert result.text == "e e e ' ' e"
    assert result.replaced == (("ê", "e"), ("\u2019", "'"))


def test_transliteration_saves_segments_on_french_text() -> None:
    text = ("Crête l’eau façon œuvre " * 5)[:100]
    assert sms.segments(text) == 2
    assert sms.segments(transliterate(text).text) == 1


BROAD = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-()/@£$¥_"
    "àâäçéèêëîïôöùûüÿœæÀÂÇÉÈÊËÎÏÔÙÛÜŸŒÆßñÑåÅøØ"
    "’‘“”«»‹›\u00a0\u202f–—…°•·→×"
    "€[]{}^~|\\\x0c\n\r\t"
    "ΔΦΓΛΩΠΨΣΘΞ水火中文한국어"
    "\U0001f30a\U0001f6a8\u26a0\ufe0f\U0001f525\U0001f600\u200d"
)
texts = st.text(
    alphabet=st.one_of(st.sampled_from(BROAD), st.characters(exclude_categories=("Cs",))),
    max_size=400,
)


@settings(deadline=None, max_examples=200)
@given(texts)
def test_result_is_gsm7_and_never_longer(text: str) -> None:
    result = transliterate(text)
    assert all(is_gsm(c) for c in result.text)
    result.text.encode("gsm03.38")
    assert sms.analyse(result.text).encoding == "GSM-7"
    assert sms.segments(result.text) <= sms.segments(text)
    assert result.faithful == (not result.dropped)
    assert not set(result.dropped) & set(result.text)
    assert len(set(result.dropped)) == len(result.dropped)
    originals = [o for o, _ in result.replaced]
    assert len(set(originals)) == len(originals)
    assert all(o in text and not is_gsm(o) for o in originals)
