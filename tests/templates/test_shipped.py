"""The shipped templates: complete, in French and English, and short enough with real values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from templates import Catalog, analyse
from tests.support.cli import alertd

EVENTS = (
    "flood",
    "submersion",
    "industrial",
    "all_clear",
    "update",
    "waste_disrupted",
    "waste_resumed",
    "test",
    "subscription_code",
    "subscription_confirmed",
    "unsubscribed",
    "keyword_subscribed",
    "keyword_subscribed_shared",
    "keyword_back",
    "keyword_help",
    "keyword_language",
    "keyword_unserved",
)
# Real places and values a duty officer would type on a bad night …
REAL = {
    "commune": "Dunkerque",
    "zone": "Malo-les-Bains, digue de mer",
    "until": "demain 12h00",
    "instructions": "Coupez gaz et électricité.",
    "sender": "Mairie de Dunkerque",
    "url": "dunkerque.fr/alerte",
    "message": "la mer redescend mais l'évacuation du quartier du Rosendaël est maintenue.",
    "sector": "secteur Petite-Synthe",
    "date": "demain mardi 26/11",
    "reason": "tempête Ciarán",
    "code": "482913",
    "postcode": "59140",
    "example": "59140",
    "word": "ALERTE",
    "choice": "LOON-PLAGE",
    "served": "59122, 59123, 59140, 59153, 59180, 59210, 59229, 59240, 59254, 59279, 59380, "
    "59430, …",
}
# … and the longest names: the CUD's longest commune, two streets.
LONG = {
    **REAL,
    "commune": "Téteghem-Coudekerque-Village",
    "sender": "Communauté urbaine de Dunkerque",
    "word": "INSCRIPTION",
    "choice": "TETEGHEM-COUDEKERQUE-VILLAGE",
    "zone": "rue du Général de Gaulle et rue de Flandre",
}
CATALOG = Catalog()


def test_every_event_exists_in_french_and_english() -> None:
    assert set(CATALOG.names()) == set(EVENTS)
    for name in EVENTS:
        assert CATALOG.languages(name) == ["en", "fr"]
        fr, en = CATALOG.get(name, "fr"), CATALOG.get(name, "en")
        assert fr.params == en.params or set(fr.params) == set(en.params)
        assert fr.severity == en.severity


@pytest.mark.parametrize("values", [REAL, LONG], ids=["real", "long"])
@pytest.mark.parametrize("name", EVENTS)
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_renders_within_its_segments_with_real_values(
    name: str, lang: str, values: dict[str, str]
) -> None:
    template = CATALOG.get(name, lang)
    rendered = template.render({p: values[p] for p in template.params})
    assert not rendered.over_limit, (rendered.to_send, rendered.segments_to_send)
    assert analyse(rendered.to_send).encoding == "GSM-7"
    if template.severity == "life_safety":
        assert rendered.segments_to_send <= 2


@pytest.mark.parametrize("name", ["flood", "submersion", "industrial"])
def test_alerts_say_what_where_what_to_do_until_when_and_who(name: str) -> None:
    text = CATALOG.get(name, "fr").body
    for placeholder in ("{commune}", "{zone}", "{until}", "{sender}", "{url}"):
        assert placeholder in text
    assert text.startswith("ALERTE")


def test_preview_cli_json(tmp_path: Path) -> None:
    config = tmp_path / "alertd.toml"
    config.write_text('[gateways.ovh]\nkind = "fake"\nprice_eur = 0.045\n')
    result = alertd(
        "--config",
        str(config),
        "templates",
        "preview",
        "industrial",
        "--json",
        "--recipients",
        "1000",
        *(
            f"--param={k}={REAL[k]}"
            for k in ("commune", "zone", "until", "instructions", "sender", "url")
        ),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {
        "name",
        "lang",
        "text",
        "encoding",
        "segments",
        "ucs2_chars",
        "transliterated_text",
        "transliterated_segments",
    } <= set(report)
    assert (report["encoding"], report["ucs2_chars"]) == ("UCS-2", ["ê"])
    assert report["transliterated_segments"] <= 2 < report["segments"]
    assert "fermez portes et fenetres" in report["transliterated_text"]
    assert report["cost_eur"] == {"ovh": "90.00"}


def test_preview_cli_errors() -> None:
    missing = alertd("templates", "preview", "flood", "--param", "commune=Dunkerque")
    assert missing.returncode == 65
    assert "missing parameter(s) zone" in missing.stderr
    unknown = alertd("templates", "preview", "volcano")
    assert unknown.returncode == 65 and "no template 'volcano'" in unknown.stderr
    bad = alertd("templates", "preview", "test", "--param", "sender")
    assert bad.returncode == 65 and "expected name=value" in bad.stderr


def test_list_cli() -> None:
    result = alertd("templates", "list", "--json")
    assert result.returncode == 0
    assert {t["name"] for t in json.loads(result.stdout)} == set(EVENTS)
