"""``alertd demo --waste``: the waste service's notice fired by the real scheduler, twice."""

from __future__ import annotations

import json

from tests.support.cli import alertd
from tests.support.demo import demo_dsn

__all__ = ["demo_dsn"]  # the fixture


def test_the_waste_demo_schedules_a_notice_and_shows_it_fire_twice(
    db_dsn: str, demo_dsn: str
) -> None:
    for _ in range(2):  # a second run finds its sectors, agent and residents again
        result = alertd("demo", "--waste", "--subscribers", "2000", "--json", dsn=db_dsn)
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["sectors"] == 6
        assert summary["delivered"] == summary["recipients"] > 0
        assert summary["duplicates"] == 0
        assert 0 <= summary["latency_s"] < 30
        assert summary["quiet_hours"]["sent_at"].split()[2].startswith("07:30")
