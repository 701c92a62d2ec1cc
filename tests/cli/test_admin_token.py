"""Administration from the command line needs an admin's token (issue 15, item 7), but for the
very first admin of an empty database."""

from __future__ import annotations

import json

import asyncpg

from tests.support.cli import alertd, first_admin


def _add(
    dsn: str, email: str, role: str = "operator", token: str | None = None, tenant: str = "59183"
):  # type: ignore[no-untyped-def]
    env = {"ALERTD_OPERATOR_TOKEN": token} if token else {}
    return alertd(
        "operators",
        "add",
        "--tenant",
        tenant,
        "--name",
        email.split("@", maxsplit=1)[0],
        "--role",
        role,
        "--email",
        email,
        dsn=dsn,
        env=env,
    )


def _refused(result, words: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 77, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr


async def test_the_first_admin_of_an_empty_database_needs_no_token_and_is_audited(
    db_dsn: str, pool: asyncpg.Pool
) -> None:
    assert alertd("tenants", "load-sample", dsn=db_dsn).returncode == 0
    token = first_admin(db_dsn)
    assert token.startswith("alertd_")
    entry = await pool.fetchrow(
        "SELECT actor, details FROM audit_log WHERE action = 'operator.create'"
    )
    assert entry is not None and entry["actor"].startswith("cli:")
    details = entry["details"]
    assert (json.loads(details) if isinstance(details, str) else details)["first_admin"] is True
    # The second admin is no first admin: without a token, refused.
    _refused(_add(db_dsn, "second@example.org", role="admin"), "needs an admin's token")


def test_the_first_operator_of_an_empty_database_must_be_an_admin(db_dsn: str) -> None:
    assert alertd("tenants", "load-sample", dsn=db_dsn).returncode == 0
    _refused(_add(db_dsn, "astreinte@example.org"), "is its admin (--role admin)")


async def test_administration_is_refused_without_an_admin_token_and_allowed_with(
    db_dsn: str, pool: asyncpg.Pool
) -> None:
    assert alertd("tenants", "load-sample", dsn=db_dsn).returncode == 0
    admin = first_admin(db_dsn)
    added = _add(db_dsn, "astreinte@example.org", token=admin)
    assert added.returncode == 0, added.stderr
    officer = added.stdout.rsplit(": ", 1)[1].strip()
    new_id = await pool.fetchval("SELECT id FROM operators WHERE email = 'astreinte@example.org'")
    admin_id = await pool.fetchval("SELECT id FROM operators WHERE role = 'admin'")
    actor = await pool.fetchval(
        "SELECT actor FROM audit_log WHERE target = $1", f"operator:{new_id}"
    )
    assert actor == f"operator:{admin_id}"

    commands = (
        (
            "operators",
            "add",
            "--tenant",
            "59183",
            "--name",
            "X",
            "--role",
            "admin",
            "--email",
            "x@example.org",
        ),
        ("operators", "rotate-token", str(new_id)),
        ("operators", "disable", str(new_id)),
        ("operators", "list"),
        ("tenants", "update", "59183", "--threshold", "10"),
        ("tenants", "topics", "59183", "dechets"),
        ("tenants", "add", "--code", "59999", "--name", "Nouvelle", "--parent", "245900428"),
        ("tenants", "load-sample"),
    )
    for args in commands:
        _refused(alertd(*args, dsn=db_dsn), "needs an admin's token")
        _refused(
            alertd(*args, dsn=db_dsn, env={"ALERTD_OPERATOR_TOKEN": officer}),
            "needs the admin role",
        )
    with_admin = {"ALERTD_OPERATOR_TOKEN": admin}
    assert alertd(*commands[4], dsn=db_dsn, env=with_admin).returncode == 0
    rotated = alertd("operators", "rotate-token", str(new_id), dsn=db_dsn, env=with_admin)
    assert rotated.returncode == 0, rotated.stderr
    assert alertd("operators", "disable", str(new_id), dsn=db_dsn, env=with_admin).returncode == 0
    assert await pool.fetchval("SELECT approval_threshold FROM tenants WHERE code = '59183'") == 10


def test_an_admin_of_a_commune_administers_only_their_commune(db_dsn: str) -> None:
    assert alertd("tenants", "load-sample", dsn=db_dsn).returncode == 0
    root = first_admin(db_dsn)
    added = _add(db_dsn, "maire@example.org", role="admin", token=root)
    assert added.returncode == 0, added.stderr
    commune_admin = {"ALERTD_OPERATOR_TOKEN": added.stdout.rsplit(": ", 1)[1].strip()}
    mine = alertd("tenants", "update", "59183", "--threshold", "7", dsn=db_dsn, env=commune_admin)
    assert mine.returncode == 0, mine.stderr
    other = alertd("tenants", "update", "59273", "--threshold", "7", dsn=db_dsn, env=commune_admin)
    _refused(other, "outside their territory")
    # Operators of other tenants are not theirs to list.
    listed = alertd("operators", "list", dsn=db_dsn, env=commune_admin)
    assert listed.returncode == 0, listed.stderr
    assert "maire" in listed.stdout and "Admin" not in listed.stdout
