"""A tenant's SMS keywords, shown and set from the CLI, and listed with the tenants; bad lists
change nothing."""

from __future__ import annotations

import json

import asyncpg

from tests.support.cli import alertd


def test_keywords_are_shown_set_and_checked(db_dsn: str, loaded: asyncpg.Pool) -> None:
    shown = alertd("tenants", "keywords", "59183", dsn=db_dsn)
    assert shown.returncode == 0, shown.stderr
    assert "subscribe ALERTE,INSCRIPTION,START; help AIDE,HELP,INFO; language LANGUE,LANGUAGE" in (
        shown.stdout
    )
    changed = alertd(
        "tenants", "keywords", "59183", "--subscribe", "alerte, Abonnement", "--help-words",
        "aide", dsn=db_dsn,
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    assert "subscribe ABONNEMENT,ALERTE; help AIDE; language LANGUE,LANGUAGE" in changed.stdout
    for bad in (
        ["--subscribe", ""],  # subscribing keeps a word
        ["--subscribe", "ALERTE 2"],  # letters only
        ["--help-words", "STOP"],  # a STOP word
        ["--language", "ALERTE"],  # in two lists
    ):
        refused = alertd("tenants", "keywords", "59183", *bad, dsn=db_dsn)
        assert refused.returncode == 65, (bad, refused.stderr)
        assert "Traceback" not in refused.stderr
    after = alertd("tenants", "keywords", "59183", "--json", dsn=db_dsn)
    assert '"subscribe": ["ABONNEMENT", "ALERTE"]' in after.stdout
    assert alertd("tenants", "keywords", "99999", dsn=db_dsn).returncode == 66


def test_a_clash_names_the_word_and_both_lists(db_dsn: str, loaded: asyncpg.Pool) -> None:
    refused = alertd("tenants", "keywords", "59183", "--help-words", "aide,Alerte", dsn=db_dsn)
    assert refused.returncode == 65
    assert refused.stderr.strip() == (
        "alertd: error: keyword ALERTE is in the subscribe words and the help words: a word "
        "means one thing (never in two lists, never a STOP word)"
    )


def test_tenants_list_shows_the_keywords(db_dsn: str, loaded: asyncpg.Pool) -> None:
    changed = alertd(
        "tenants", "keywords", "59183", "--subscribe", "abonnement", "--language", "", dsn=db_dsn
    )
    assert changed.returncode == 0, changed.stderr
    human = alertd("tenants", "list", dsn=db_dsn)
    assert human.returncode == 0, human.stderr
    header, *lines = human.stdout.splitlines()
    assert "STOP WORDS" in header and header.endswith("SUBSCRIBE WORDS")
    dunkerque = next(line for line in lines if line.startswith("59183 "))
    assert dunkerque.endswith(" ABONNEMENT")
    gravelines = next(line for line in lines if line.startswith("59273 "))
    assert gravelines.endswith(" ALERTE,INSCRIPTION,START")
    as_json = alertd("tenants", "list", "--json", dsn=db_dsn)
    listed = {t["code"]: t for t in json.loads(as_json.stdout)}
    assert listed["59183"]["subscribe_words"] == ["ABONNEMENT"]
    assert listed["59183"]["help_words"] == ["AIDE", "HELP", "INFO"]
    assert listed["59183"]["language_words"] == []
    assert listed["59273"]["language_words"] == ["LANGUE", "LANGUAGE"]
    assert "STOP" in listed["59183"]["stop_words"]
