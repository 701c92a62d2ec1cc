"""``alertd schedule …`` as a person runs it: a subprocess on the test database."""

from __future__ import annotations

import json

import asyncpg

from alertd import operators
from tests.schedule.conftest import Waste
from tests.support.cli import alertd


async def _token(pool: asyncpg.Pool, role: str, topics: tuple[str, ...] = ()) -> str:
    new = await operators.create_operator(
        pool,
        tenant_code="59183",
        name=f"CLI {role}",
        role=role,
        email=f"cli.{role}@example.org",
        actor="test",
        topics=topics,
    )
    return new.token


async def test_a_waste_agent_schedules_lists_shows_and_pauses(waste: Waste, db_dsn: str) -> None:
    pool = waste.world.ctx.pool
    env = {"ALERTD_OPERATOR_TOKEN": await _token(pool, "information", ("dechets",))}
    create = [
        "schedule", "create", "--name", "Collecte du lundi", "--template", "waste_disrupted",
        "--param", "sector=secteur 4", "--param", "date=lundi", "--param", "reason=férié",
        "--param", "sender=CUD", "--zone", str(waste.sector), "--topic", "dechets",
        "--every", "mon 19:00", "--skip-holidays", "--except", "2027-01-04",
    ]  # fmt: skip
    shown = alertd(*create, dsn=db_dsn, env=env)  # not a terminal, no --yes: nothing saved
    assert shown.returncode == 65, shown.stderr
    assert "next firings:" in shown.stdout and "add --yes" in shown.stderr
    assert await pool.fetchval("SELECT count(*) FROM schedules") == 0
    saved = alertd(*create, "--yes", "--json", dsn=db_dsn, env=env)
    assert saved.returncode == 0, saved.stderr
    made = json.loads(saved.stdout.strip().splitlines()[-1])
    assert made["created_by"] == "CLI information" and len(made["next_firings"]) == 5
    listed = alertd("schedule", "list", dsn=db_dsn, env=env)
    assert "Collecte du lundi" in listed.stdout and "CLI information" in listed.stdout
    show = alertd("schedule", "show", str(made["id"]), dsn=db_dsn, env=env)
    assert "except public holidays, except 2027-01-04" in show.stdout, show.stdout
    paused = alertd("schedule", "pause", str(made["id"]), dsn=db_dsn, env=env)
    assert paused.returncode == 0 and "paused" in paused.stdout


async def test_bad_input_is_one_line_and_an_exit_code(waste: Waste, db_dsn: str) -> None:
    pool = waste.world.ctx.pool
    env = {"ALERTD_OPERATOR_TOKEN": await _token(pool, "information", ("dechets",))}
    base = [
        "schedule", "create", "--name", "x", "--template", "submersion",
        "--zone", str(waste.sector), "--yes",
    ]  # fmt: skip
    for extra, code, words in (
        (["--every", "monday 19:00"], 65, "--every"),
        (["--at", "2027-03-28 02:30"], 65, "does not exist"),
        (["--cron", "0 19 * * mon", "--at", "tomorrow 06:00"], 65, "say when"),
    ):
        done = alertd(*base, *extra, dsn=db_dsn, env=env)
        assert done.returncode == code, (extra, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    refused = alertd(
        *base, "--at", "tomorrow 06:00", "--param", "commune=Dunkerque", dsn=db_dsn, env=env
    )
    assert refused.returncode == 77 and "information notices only" in refused.stderr
    assert await pool.fetchval("SELECT count(*) FROM schedules") == 0
