"""alertd demo --signup: a resident signs up by SMS keyword, another on the pages."""

from __future__ import annotations

import json

import asyncpg

from tests.support.cli import alertd
from tests.support.demo import demo_dsn

__all__ = ["demo_dsn"]  # the fixture


async def test_the_signup_demo_shows_both_ways_in(db_dsn: str, demo_dsn: str) -> None:
    result = alertd("demo", "--signup", "--json", dsn=db_dsn)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["by_sms"]["recorded"]["status"] == "active"
    assert shown["by_sms"]["recorded"]["consent_channel"] == "sms"
    assert "STOP" in shown["by_sms"]["reply"]
    assert shown["by_page"]["landed_on"] == "/fr/done"
    assert shown["by_page"]["recorded"]["consent_channel"] == "web"
    assert shown["by_page"]["recorded"]["topics"] == ["dechets"]
    theirs = await asyncpg.connect(demo_dsn)
    try:
        assert (
            await theirs.fetchval("SELECT count(*) FROM subscribers WHERE status = 'active'") == 2
        )
    finally:
        await theirs.close()
    human = alertd("demo", "--signup", dsn=db_dsn)
    assert human.returncode == 0, human.stderr
    assert "By SMS" in human.stdout and "On the page" in human.stdout
    assert "612233" not in human.stdout  # numbers masked
