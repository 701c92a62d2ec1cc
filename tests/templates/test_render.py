# ruff: noqa: RUF001 - typographic quotes, dashes and apostrophes are what is tested
"""Template parsing and rendering: bad files and bad parameters refused by name, values cleaned."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from templates import sms
from templates.catalog import FALLBACK_LANGUAGE, Catalog
from templates.render import Rendered, Template, TemplateError, parse_template
from templates.translit import Transliteration

HEADER = "event: flood\nseverity: life_safety\nmax_segments: 2\nlengths: zone=10\n"


def make(body: str, header: str = HEADER, name: str = "flood", lang: str = "fr") -> Template:
    return parse_template(name, lang, f"{header}---\n{body}\n")


def test_parse_header() -> None:
    template = parse_template(
        "flood",
        "fr",
        "# a comment\nevent: crue\nseverity: life_safety\nmax_segments: 3\n"
        "transliterate: no\nlengths: zone=10, commune = 30\ndescription: Crue\n\n"
        "---\n\nALERTE {commune}, {zone}\n\n",
    )
    assert template.event == "crue"
    assert template.severity == "life_safety"
    assert template.max_segments == 3
    assert template.transliterate is False
    assert dict(template.lengths) == {"zone": 10, "commune": 30}
    assert template.description == "Crue"
    assert template.body == "ALERTE {commune}, {zone}"
    assert template.params == ("commune", "zone")
    assert (template.name, template.lang) == ("flood", "fr")


def test_header_defaults() -> None:
    template = parse_template("waste_disrupted", "en", "description: x\n---\nNo pickup")
    assert template.event == "waste_disrupted"
    assert template.severity == "information"
    assert template.max_segments == 2
    assert template.transliterate is True
    assert dict(template.lengths) == {}
    assert template.params == ()


def test_render_fills_placeholders() -> None:
    template = make("ALERTE CRUE {commune}, {zone}: montez à l'étage. {commune}")
    rendered = template.render({"commune": "Dunkerque", "zone": "Malo"})
    assert isinstance(rendered, Rendered)
    assert rendered.text == "ALERTE CRUE Dunkerque, Malo: montez à l'étage. Dunkerque"
    assert rendered.info == sms.analyse(rendered.text)
    assert rendered.info.encoding == "GSM-7"
    assert rendered.template is template


def test_escaped_braces_are_literal() -> None:
    rendered = make("Zone {{A}} {zone}").render({"zone": "B"})
    assert rendered.text == "Zone {A} B"


def test_missing_parameter_named() -> None:
    template = make("{commune}: {zone}")
    with pytest.raises(TemplateError, match="missing") as caught:
        template.render({"commune": "Dunkerque"})
    assert "zone" in str(caught.value)
    assert "fr/flood" in str(caught.value)


def test_unknown_parameter_named() -> None:
    template = make("{commune}")
    with pytest.raises(TemplateError, match="unknown") as caught:
        template.render({"commune": "Dunkerque", "hauteur": "2 m"})
    assert "hauteur" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "Malo\nSTOP",
        "Malo\r\nSTOP",
        "Malo\tSTOP",
        "Malo\x00STOP",
        "Malo\x1bSTOP",
        "Malo\u00a0STOP",
        "Malo\u2028STOP",
        "Malo\x0cSTOP",
        "  Malo \n\n\t STOP  ",
    ],
)
def test_value_cleaned_to_single_spaces(value: str) -> None:
    rendered = make("Zone {zone}\nMontez").render({"zone": value})
    assert rendered.text == "Zone Malo STOP\nMontez"
    assert rendered.text.count("\n") == 1  # the only line break is the template's own


@settings(deadline=None, max_examples=200)
@given(st.text(min_size=1, max_size=60))
def test_any_value_stays_on_its_line(value: str) -> None:
    template = make("A {zone} B", header="lengths: zone=60\n")
    try:
        rendered = template.render({"zone": value})
    except TemplateError:
        return  # empty once cleaned, or longer than 60 after normalisation
    inserted = rendered.text.removeprefix("A ").removesuffix(" B")
    assert inserted
    assert inserted == inserted.strip()
    assert "  " not in inserted
    assert not any(unicodedata.category(c)[0] in "CZ" and c != " " for c in inserted)


def test_value_over_its_bound() -> None:
    template = make("{zone}")
    template.render({"zone": "a" * 10})
    with pytest.raises(TemplateError) as caught:
        template.render({"zone": "a" * 11})
    message = str(caught.value)
    assert "zone" in message
    assert "11" in message
    assert "10" in message


def test_value_over_default_bound() -> None:
    template = make("{commune}")
    template.render({"commune": "a" * 60})
    with pytest.raises(TemplateError) as caught:
        template.render({"commune": "a" * 61})
    assert "61" in str(caught.value)
    assert "60" in str(caught.value)


def test_bound_counts_after_cleaning() -> None:
    template = make("{zone}")
    assert template.render({"zone": "  a \n\n b  "}).text == "a b"


@pytest.mark.parametrize("value", ["", "   ", "\n\t\r", "\u00a0"])
def test_empty_value_refused(value: str) -> None:
    with pytest.raises(TemplateError, match="zone"):
        make("{zone}").render({"zone": value})


def test_value_with_placeholder_inserted_literally() -> None:
    template = make("{zone} / {commune}")
    rendered = template.render({"zone": "{commune}", "commune": "Dunkerque"})
    assert rendered.text == "{commune} / Dunkerque"
    rendered = template.render({"zone": "{0}{x:>9}", "commune": "{{a}}"})
    assert rendered.text == "{0}{x:>9} / {{a}}"


def test_non_string_value_is_text() -> None:
    assert make("Cote {zone} m").render({"zone": 4.5}).text == "Cote 4.5 m"


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("colour: red\n---\nx", "colour"),
        ("severity life_safety\n---\nx", "severity life_safety"),
        ("event: x\nmax segments: 2\n---\nx", "line 2"),
        ("event: flood\nALERTE {zone}\n", "---"),
        ("event: flood\n--\nALERTE\n", "---"),
        ("severity: urgent\n---\nx", "urgent"),
        ("severity: LIFE_SAFETY\n---\nx", "LIFE_SAFETY"),
        ("max_segments: 0\n---\nx", "max_segments"),
        ("max_segments: -1\n---\nx", "max_segments"),
        ("max_segments: two\n---\nx", "max_segments"),
        ("max_segments: 1.5\n---\nx", "max_segments"),
        ("lengths: zone\n---\n{zone}", "zone"),
        ("lengths: zone=ten\n---\n{zone}", "zone=ten"),
        ("lengths: 1zone=3\n---\n{zone}", "1zone"),
        ("event: x\n---\n\n\n", "empty"),
        ("event: x\n---\n{until:%H}", "until"),
        ("event: x\n---\n{zone!r}", "zone"),
        ("event: x\n---\n{zone.upper}", "zone.upper"),
        ("event: x\n---\n{zone[0]}", "zone[0]"),
        ("event: x\n---\n{0}", "{0}"),
        ("event: x\n---\nprix {}", "{}"),
        ("event: x\n---\nZone {zone", "brace"),
        ("event: x\n---\nZone zone}", "brace"),
    ],
)
def test_bad_template_refused(source: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template("flood", "fr", source)
    assert fragment in str(caught.value)
    assert "fr/flood" in str(caught.value)


FRENCH_UCS2 = "Crête: l’eau monte vite à {commune}, façon crue de 1953; gagnez l’étage, {zone}. "


def test_alternative_none_for_gsm7() -> None:
    rendered = make("ALERTE {zone}: " + "montez à l'étage " * 5).render({"zone": "Malo"})
    assert rendered.info.encoding == "GSM-7"
    assert rendered.info.segments == 1
    assert rendered.alternative is None


def test_alternative_saves_a_segment() -> None:
    rendered = make(FRENCH_UCS2).render({"commune": "Dunkerque", "zone": "Malo"})
    assert rendered.info.encoding == "UCS-2"
    assert rendered.info.segments == 2
    alternative = rendered.alternative
    assert isinstance(alternative, Transliteration)
    assert alternative.faithful
    assert sms.analyse(alternative.text).encoding == "GSM-7"
    assert sms.segments(alternative.text) == 1
    assert sms.segments(alternative.text) < rendered.info.segments
    assert ("ê", "e") in alternative.replaced


def test_alternative_none_when_it_saves_nothing() -> None:
    rendered = make("Crête à {zone}").render({"zone": "Malo"})
    assert rendered.info.encoding == "UCS-2"
    assert rendered.info.segments == 1
    assert rendered.alternative is None


def test_alternative_none_when_template_says_no() -> None:
    header = "severity: life_safety\ntransliterate: no\n"
    rendered = make(FRENCH_UCS2, header=header).render({"commune": "Dunkerque", "zone": "Malo"})
    assert rendered.info.segments == 2
    assert rendered.alternative is None


def test_alternative_none_when_it_would_drop_characters() -> None:
    rendered = make("\U0001f6a8 " + FRENCH_UCS2).render({"commune": "Dunkerque", "zone": "Malo"})
    assert rendered.info.segments == 2
    assert rendered.alternative is None


def test_value_alone_can_force_ucs2() -> None:
    rendered = make("ALERTE {commune}").render({"commune": "Téteghem-Coudekerque-Village ç"})
    assert rendered.info.encoding == "UCS-2"
    assert rendered.info.ucs2_chars == ("ç",)


def test_over_limit() -> None:
    one = make("{zone} " + "a" * 150, header="max_segments: 1\n")
    assert not one.render({"zone": "abc"}).over_limit  # 154 septets
    rendered = one.render({"zone": "abcdefghij"})  # 161 septets
    assert rendered.info.segments == 2
    assert rendered.over_limit
    two = make("{zone} " + "a" * 150, header="max_segments: 2\n")
    assert not two.render({"zone": "abcdefghij"}).over_limit


@pytest.mark.parametrize("source", ["max_segments: ²\n---\nx", "lengths: zone=²\n---\n{zone}"])
def test_superscript_digit_in_header_is_a_template_error(source: str) -> None:
    with pytest.raises(TemplateError, match="fr/flood"):
        parse_template("flood", "fr", source)


def test_empty_header_accepted() -> None:
    assert parse_template("test", "fr", "---\nMessage de test").body == "Message de test"


def test_bad_transliterate_value_refused() -> None:
    with pytest.raises(TemplateError, match="transliterate"):
        parse_template("flood", "fr", "transliterate: maybe\n---\nx")


def test_decomposed_accents_in_body_stay_gsm7() -> None:
    rendered = make("E\u0301vacuez {zone}").render({"zone": "Malo"})
    assert rendered.info.encoding == "GSM-7"


def test_none_value_refused() -> None:
    with pytest.raises(TemplateError, match="zone"):
        make("Zone {zone}").render({"zone": None})


def _write(folder: Path, lang: str, name: str, text: str) -> None:
    (folder / lang).mkdir(exist_ok=True)
    (folder / lang / f"{name}.txt").write_text(text, encoding="utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _write(tmp_path, "fr", "flood", "severity: life_safety\n---\nALERTE CRUE {commune}\n")
    _write(tmp_path, "fr", "test", "event: test\n---\nCeci est un test\n")
    _write(tmp_path, "en", "flood", "severity: life_safety\n---\nFLOOD WARNING {commune}\n")
    (tmp_path / "fr" / "notes.md").write_text("not a template", encoding="utf-8")
    (tmp_path / "drafts").mkdir()
    _write(tmp_path / "drafts", "fr", "broken", "no header at all")
    return tmp_path


def test_catalog_gets_by_language(folder: Path) -> None:
    catalog = Catalog(folder)
    english = catalog.get("flood", "en")
    assert (english.name, english.lang) == ("flood", "en")
    assert english.render({"commune": "Dunkirk"}).text == "FLOOD WARNING Dunkirk"
    french = catalog.get("flood", "fr")
    assert french.render({"commune": "Dunkerque"}).text == "ALERTE CRUE Dunkerque"
    assert catalog.names() == ["flood", "test"]
    assert catalog.languages("flood") == ["en", "fr"]
    assert catalog.languages("test") == ["fr"]
    assert [(t.name, t.lang) for t in catalog] == [("flood", "en"), ("flood", "fr"), ("test", "fr")]


def test_catalog_falls_back_to_french(folder: Path) -> None:
    catalog = Catalog(folder)
    assert FALLBACK_LANGUAGE == "fr"
    assert catalog.get("flood", "de").lang == "fr"
    assert catalog.get("test", "en").lang == "fr"
    assert catalog.get("test", "en").body == "Ceci est un test"


def test_catalog_unknown_name_lists_known(folder: Path) -> None:
    with pytest.raises(TemplateError) as caught:
        Catalog(folder).get("tsunami", "fr")
    message = str(caught.value)
    assert "tsunami" in message
    assert "flood" in message
    assert "test" in message


def test_catalog_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="no templates"):
        Catalog(tmp_path)
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "readme.md").write_text("x", encoding="utf-8")
    with pytest.raises(TemplateError, match="no templates"):
        Catalog(tmp_path)


def test_catalog_bad_file_named(folder: Path) -> None:
    _write(folder, "en", "update", "severity: urgent\n---\nUpdate\n")
    with pytest.raises(TemplateError, match="en/update"):
        Catalog(folder)


def test_catalog_reads_windows_line_endings(tmp_path: Path) -> None:
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "flood.txt").write_bytes(
        b"severity: life_safety\r\nmax_segments: 1\r\n---\r\nALERTE {commune}\r\n"
    )
    template = Catalog(tmp_path).get("flood", "fr")
    assert template.max_segments == 1
    assert template.render({"commune": "Dunkerque"}).text == "ALERTE Dunkerque"


def test_invisible_characters_in_values_vanish() -> None:
    template = parse_template("t", "fr", "---\nVille : {commune}.")
    assert template.render({"commune": "Saint\u00adPol\u200b-sur-Mer"}).text == (
        "Ville : SaintPol-sur-Mer."
    )


def test_windows_line_endings_in_a_template_source() -> None:
    template = parse_template("t", "fr", "severity: information\r\n---\r\nBonjour {sender}\r\n")
    assert template.render({"sender": "Mairie"}).text == "Bonjour Mairie"
