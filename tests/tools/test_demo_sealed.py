"""Issue 14, case 4: the demo is sealed off from a deployment's database and daemons."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from alertd.config import load_config
from alertd.store.database import dsn_for
from alertd.tools.demo import demo_database
from tests.support.cli import alertd
from tests.support.demo import demo_dsn

__all__ = ["demo_dsn"]  # the fixture


def test_the_demo_database_is_never_the_configured_one() -> None:
    assert demo_database(load_config({})) == "alertd_demo"
    # Pointing the other commands at the demo's territory keeps the demo where it was.
    assert demo_database(load_config({"ALERTD_DATABASE_NAME": "alertd_demo"})) == "alertd_demo"
    url = "postgresql://alertd@db.example.org:5432/alertd"
    assert demo_database(load_config({"DATABASE_URL": url})) == "alertd_demo"
    named = "postgresql://alertd@db.example.org:5432/alertd_demo"
    assert demo_database(load_config({"DATABASE_URL": named})) == "alertd_demo"


async def test_the_demo_leaves_the_configured_database_alone(db_dsn: str, demo_dsn: str) -> None:
    result = alertd("demo", "--subscribers", "300", "--json", dsn=db_dsn)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["database_name"] == urlsplit(demo_dsn).path.lstrip("/")
    assert summary["delivered"] == summary["recipients"] > 0
    mine = await asyncpg.connect(db_dsn)
    theirs = await asyncpg.connect(demo_dsn)
    try:
        assert await mine.fetchval("SELECT count(*) FROM subscribers") == 0
        assert await mine.fetchval("SELECT count(*) FROM deliveries") == 0
        assert await mine.fetchval("SELECT count(*) FROM tenants") == 0
        assert await theirs.fetchval("SELECT count(*) FROM subscribers") == 300
    finally:
        await mine.close()
        await theirs.close()


async def test_the_demo_refuses_a_database_a_daemon_is_connected_to(
    db_dsn: str, demo_dsn: str
) -> None:
    admin = await asyncpg.connect(dsn_for(db_dsn, "postgres"))
    await admin.execute(f'CREATE DATABASE "{urlsplit(demo_dsn).path.lstrip("/")}"')
    await admin.close()
    # A daemon as `alertd serve` names its connections.
    serving = await asyncpg.connect(
        demo_dsn, server_settings={"application_name": "alertd serve host:4242"}
    )
    try:
        result = alertd("demo", "--subscribers", "300", dsn=db_dsn)
        assert result.returncode == 65, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "an `alertd serve` is connected to the demo's" in lines[0]
        assert await serving.fetchval("SELECT count(*) FROM subscribers") == 0
    finally:
        await serving.close()


def test_the_demo_says_it_uses_only_its_own_fakes(
    db_dsn: str, demo_dsn: str, tmp_path: Path
) -> None:
    toml = tmp_path / "alertd.toml"
    toml.write_text(
        '[gateways.primary]\nkind = "smpp"\nhost = "smsc.example"\nsystem_id = "a"\n'
        'credentials_env = { password = "SMSC_PW" }\n'
    )
    result = alertd(
        "--config", str(toml), "demo", "--subscribers", "300", dsn=db_dsn, env={"SMSC_PW": "x"}
    )
    assert result.returncode == 0, result.stderr
    assert "in its own database" in result.stdout
    assert (
        "gateways: the demo's own in-process fakes, primary and backup: nothing leaves this "
        "machine; the configured gateways (primary) are not used"
    ) in result.stdout
