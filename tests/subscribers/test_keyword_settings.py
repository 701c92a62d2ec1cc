"""A tenant's SMS keywords, shown and set from the CLI; bad lists change nothing."""

from __future__ import annotations

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
