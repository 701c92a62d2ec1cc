"""The command line, run as a person runs it: a subprocess, a real database, stdout and stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alertd.cli import build_parser
from tests.support.cli import alertd, first_admin
from tests.support.demo import demo_dsn

__all__ = ["demo_dsn"]  # the fixture


def twice_at_once(args: list[str], env: dict[str, str]) -> tuple[list[int], list[str]]:
    """Start the same alertd command twice at the same moment; exit codes and stdouts."""
    both = [
        subprocess.Popen(
            [sys.executable, "-m", "alertd", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in both]
    return [p.returncode for p in both], [out + err for out, err in outputs]


def test_help_lists_the_commands() -> None:
    result = alertd("--help")
    assert result.returncode == 0
    for command in ("demo", "db", "tenants", "operators", "subscribers", "config", "bench"):
        assert command in result.stdout


def test_every_subcommand_has_help() -> None:
    parser = build_parser()
    groups = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"demo", "db", "tenants", "operators", "subscribers"} <= set(groups)


def test_every_command_registers_and_runs_a_handler() -> None:
    # Commands are loaded one at a time when they run: load them all here, so that a broken
    # command module is found by the tests and not by the first person who runs that command.
    from alertd.cli.main import COMMANDS

    parser = build_parser("*")
    for c in COMMANDS:
        with pytest.raises(SystemExit) as asked_help:
            parser.parse_args([c.name, "--help"])
        assert asked_help.value.code == 0
    args = parser.parse_args(["alert", "status", "7", "--json"])
    assert (args.handler.__module__, args.id, args.json) == ("alertd.cli.alerts", 7, True)
    assert parser.parse_args(["serve"]).handler.__module__ == "alertd.cli.serve"


def test_usage_error_is_one_line_and_exit_2() -> None:
    result = alertd("tenants", "add", "--code", "59183")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "the following arguments are required: --name" in result.stderr


def test_config_error_names_the_variable() -> None:
    result = alertd("db", "status", env={"ALERTD_DATABASE_POOL_MAX": "many"})
    assert result.returncode == 78
    assert result.stderr.strip().splitlines() == [
        "alertd: error: config: database.pool_max (ALERTD_DATABASE_POOL_MAX): "
        "expected an integer, got 'many'"
    ]


def test_unreachable_database_is_one_line() -> None:
    result = alertd("db", "migrate", dsn="postgresql://alertd:secret@127.0.0.1:1/alertd")
    assert result.returncode == 69
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "alertd: error: cannot connect to PostgreSQL at postgresql://alertd:***@127.0.0.1:1/alertd"
    )
    assert "secret" not in result.stderr


def test_migrate_twice_via_cli(empty_dsn: str) -> None:
    first = alertd("db", "migrate", dsn=empty_dsn)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_schema" in first.stdout
    second = alertd("db", "migrate", dsn=empty_dsn)
    assert second.returncode == 0
    assert "already up to date, nothing changed" in second.stdout


def test_two_migrations_at_once_via_cli(empty_dsn: str) -> None:
    codes, outputs = twice_at_once(["db", "migrate"], {**os.environ, "DATABASE_URL": empty_dsn})
    assert codes == [0, 0], outputs
    assert sorted("applied 0001_schema" in out for out in outputs) == [False, True]


@pytest.mark.slow
def test_tenants_operators_and_import(db_dsn: str, tmp_path: Path) -> None:
    assert alertd("tenants", "load-sample", dsn=db_dsn).returncode == 0
    listed = alertd("tenants", "list", "--json", dsn=db_dsn)
    codes = {t["code"] for t in json.loads(listed.stdout)}
    assert {"245900428", "59183", "59273"} <= codes and len(codes) == 18

    added = alertd(
        "operators",
        "add",
        "--tenant",
        "59183",
        "--name",
        "Astreinte",
        "--role",
        "operator",
        "--email",
        "astreinte@example.org",
        dsn=db_dsn,
        env={"ALERTD_OPERATOR_TOKEN": (admin := first_admin(db_dsn))},
    )
    assert added.returncode == 0
    assert "API token (shown once, store it now): alertd_" in added.stdout
    token = added.stdout.rsplit(": ", 1)[1].strip()
    ops = alertd("operators", "list", dsn=db_dsn, env={"ALERTD_OPERATOR_TOKEN": admin})
    assert token not in ops.stdout and "Astreinte" in ops.stdout

    csv = tmp_path / "subs.csv"
    csv.write_text("phone;code_postal\n06 12 34 56 78;59140\nnope;59140\n06 12 34 56 79;75001\n")
    result = alertd("subscribers", "import", str(csv), "--tenant", "59183", dsn=db_dsn)
    assert result.returncode == 3
    assert f"{csv}: line 3: phone 'nope': not a phone number" in result.stderr
    assert f"{csv}: line 4: postcode 75001 is not in Dunkerque" in result.stderr
    assert "3 rows" in result.stdout and "1 new" in result.stdout and "2 rejected" in result.stdout

    exported = alertd("subscribers", "export", "--phone", "0612345678", dsn=db_dsn)
    assert json.loads(exported.stdout)["subscriptions"][0]["postcode"] == "59140"
    target = tmp_path / "export.json"
    to_file = alertd(
        "subscribers", "export", "--phone", "0612345678", "--output", str(target), dsn=db_dsn
    )
    assert to_file.returncode == 0
    assert json.loads(target.read_text())["phone"] == "+33612345678"
    assert target.stat().st_mode & 0o077 == 0
    erased = alertd("subscribers", "erase", "--phone", "+33612345678", dsn=db_dsn)
    assert erased.returncode == 0 and "erased 1 subscription" in erased.stdout
    again = alertd("subscribers", "erase", "--phone", "+33612345678", dsn=db_dsn)
    assert again.returncode == 66
    assert again.stderr.strip() == "alertd: error: no subscriber with phone +*********78"


def test_tenants_stop_words_are_changed_and_listed(db_dsn: str) -> None:
    assert (
        alertd("tenants", "add", "--code", "59183", "--name", "Dunkerque", dsn=db_dsn).returncode
        == 0
    )
    updated = alertd("tenants", "update", "59183", "--stop-words", "stop, Arrêt,fin", dsn=db_dsn)
    assert updated.returncode == 0, updated.stderr
    assert "STOP words ARRET,FIN,STOP" in updated.stdout
    listed = json.loads(alertd("tenants", "list", "--json", dsn=db_dsn).stdout)
    assert listed[0]["stop_words"] == ["ARRET", "FIN", "STOP"]
    human = alertd("tenants", "list", dsn=db_dsn).stdout
    assert "STOP WORDS" in human and "ARRET,FIN,STOP" in human


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("tenants", "add", "--code", "5918", "--name", "X"), 65, "not an INSEE code"),
        (
            ("subscribers", "import", "/nonexistent.csv", "--tenant", "59183"),
            66,  # not found, as the README's table says
            "file /nonexistent.csv does not exist",
        ),
        (
            ("subscribers", "import", "{csv}", "--tenant", "00000"),
            66,
            "tenant '00000' does not exist",
        ),
        (("subscribers", "export", "--phone", "hello"), 65, "not a phone number"),
        (("operators", "disable", "999"), 66, "operator 999 does not exist"),
        (("tenants", "update", "59183"), 65, "nothing to change"),
        (("tenants", "update", "59183", "--stop-words", "fin,arret"), 65, "must include STOP"),
        (("tenants", "update", "59183", "--stop-words", "stop,st0p"), 65, "letters only"),
    ],
)
def test_bad_input_is_one_clear_line(
    db_dsn: str, tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    csv = tmp_path / "ok.csv"
    csv.write_text("phone,postcode\n06 12 34 56 78,59140\n")
    result = alertd(*(a.format(csv=csv) for a in args), dsn=db_dsn)
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_demo_runs_an_alert_and_its_all_clear_end_to_end_twice(db_dsn: str, demo_dsn: str) -> None:
    first = alertd("demo", "--subscribers", "3000", "--json", dsn=db_dsn)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["recipients"] > 500
    assert summary["by_address"] > 0 and summary["by_postcode"] > 0
    assert (summary["delivered"], summary["failed"], summary["duplicates"]) == (
        summary["recipients"],
        0,
        0,
    )
    clear = summary["all_clear"]
    assert clear["same_set"] and clear["delivered"] == summary["recipients"]
    # Again, with a failing primary: everyone still gets it once, some through the backup.
    second = alertd("demo", "--subscribers", "3000", "--error-rate", "0.05", "--json", dsn=db_dsn)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["import"]["unchanged"] == 3000
    assert (again["delivered"], again["failed"], again["duplicates"]) == (
        again["recipients"],
        0,
        0,
    )
    assert again["alert"]["retried"] > 0 and again["alert"]["by_gateway"].get("backup", 0) > 0
    text = alertd("demo", "--subscribers", "3000", dsn=db_dsn)
    assert "the same people: yes" in text.stdout and "duplicates 0" in text.stdout


def test_unmigrated_database_with_migration_off_says_what_to_do(empty_dsn: str) -> None:
    result = alertd(
        "tenants", "list", dsn=empty_dsn, env={"ALERTD_DATABASE_MIGRATE_ON_START": "false"}
    )
    assert result.returncode == 69
    assert result.stderr.strip() == (
        "alertd: error: this database has no alertd schema: run `alertd db migrate` "
        "(database.migrate_on_start is off)"
    )


@pytest.mark.slow
def test_two_first_starts_on_a_new_embedded_folder(tmp_path: Path) -> None:
    """Two alertd started at once on a fresh data folder: both work, one server serves both."""
    data_dir = tmp_path / "pg"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    codes, outputs = twice_at_once(["--data-dir", str(data_dir), "db", "migrate"], env)
    assert codes == [0, 0], outputs
    assert (data_dir / "PG_VERSION").exists()
    status = alertd("--data-dir", str(data_dir), "db", "status")
    assert "0001_schema: applied" in status.stdout


def test_a_database_refusal_is_told_apart_from_an_internal_error() -> None:
    import asyncpg

    from alertd.cli.main import _refused_by_database

    assert _refused_by_database(asyncpg.exceptions.UniqueViolationError("duplicate key"))
    assert not _refused_by_database(ValueError("a bug of ours"))
