"""Issue 14, case 13: the rough edges a duty officer meets at 3 a.m."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.cli import alertd, first_admin

PARAMS = [
    f"--param={p}"
    for p in (
        "commune=Dunkerque",
        "zone=digue",
        "instructions=Montez",
        "until=08:00",
        "sender=CUD",
        "url=cud.fr",
    )
]
GATEWAY_WITH_SECRET = (
    '[gateways.primary]\nkind = "twilio"\naccount_sid = "AC1"\nsender = "MAIRIE"\n'
    'base_url = "http://127.0.0.1:1"\ntimeout_s = 2\n'
    'credentials_env = { auth_token = "FP_TOKEN" }\n'
)
README = Path(__file__).resolve().parents[2] / "README.md"


def one_error_line(result: object, code: int) -> str:
    """The one line a command printed on stderr, checked against its exit code."""
    assert result.returncode == code, result.stderr  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr and "internal error" not in stderr
    lines = [line for line in stderr.strip().splitlines() if "error" in line]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def officer(db_dsn: str) -> str:
    """The sample territory and an operator of Dunkerque; their token."""
    assert alertd("tenants", "load-sample", dsn=db_dsn).returncode == 0
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
        env={"ALERTD_OPERATOR_TOKEN": first_admin(db_dsn)},
    )
    found = re.search(r"alertd_\S+", added.stdout)
    assert found is not None, added.stdout + added.stderr
    return found.group(0)


def test_a_duty_officers_commands_never_need_gateway_secrets(
    db_dsn: str, officer: str, tmp_path: Path
) -> None:
    toml = tmp_path / "alertd.toml"
    toml.write_text(GATEWAY_WITH_SECRET)
    env = {"ALERTD_OPERATOR_TOKEN": officer}
    for args in (("tenants", "list"), ("alert", "list"), ("gateways", "list")):
        result = alertd("--config", str(toml), *args, dsn=db_dsn, env=env)
        assert result.returncode == 0, (args, result.stderr)
    # Those that talk to the gateways still need them, and say which.
    for args in (("gateways", "check"), ("serve",)):
        line = one_error_line(alertd("--config", str(toml), *args, dsn=db_dsn), 78)
        assert "FP_TOKEN" in line and "is not set" in line


def test_exit_codes_follow_the_readmes_table(db_dsn: str, officer: str, tmp_path: Path) -> None:
    table = README.read_text(encoding="utf-8")
    assert "| 66 | not found: no such tenant, operator, subscriber, zone or alert" in table
    token = {"ALERTD_OPERATOR_TOKEN": officer}
    missing = one_error_line(
        alertd("zones", "import", str(tmp_path / "nope.geojson"), "--kind", "flood", dsn=db_dsn),
        66,
    )
    assert "does not exist" in missing
    csv_missing = alertd(
        "subscribers", "import", str(tmp_path / "nope.csv"), "--tenant", "59183", dsn=db_dsn
    )
    one_error_line(csv_missing, 66)
    unknown_zone = alertd(
        "alert",
        "create",
        "--template",
        "submersion",
        "--zone",
        "999",
        *PARAMS,
        dsn=db_dsn,
        env=token,
    )
    assert "zone(s) 999 do not exist" in one_error_line(unknown_zone, 66)
    malformed = alertd("alert", "list", dsn=db_dsn, env={"ALERTD_OPERATOR_TOKEN": "not-a-token"})
    assert "ALERTD_OPERATOR_TOKEN" in one_error_line(malformed, 77)
    # A malformed token does not stop the commands that need none.
    assert alertd("tenants", "list", dsn=db_dsn, env={"ALERTD_OPERATOR_TOKEN": "x"}).returncode == 0
    toml = tmp_path / "alertd.toml"
    toml.write_text(GATEWAY_WITH_SECRET)
    check = alertd("--config", str(toml), "gateways", "check", env={"FP_TOKEN": "t"})
    assert check.returncode == 69  # the table's "a service unavailable … a gateway"
    assert "| 69 | a service unavailable:" in table and "`gateways check`" in table
    # An adapter refusing its settings is a configuration error, not an internal one.
    toml.write_text(GATEWAY_WITH_SECRET.replace('sender = "MAIRIE"\n', ""))
    refused = alertd("--config", str(toml), "gateways", "check", env={"FP_TOKEN": "t"})
    assert "from_number" in refused.stdout + refused.stderr and refused.returncode == 69


def test_nested_geojson_is_one_clear_line(db_dsn: str, tmp_path: Path) -> None:
    path = tmp_path / "nested.geojson"
    depth = 100_000
    path.write_text('{"type": "Feature", "geometry": ' + "[" * depth + "]" * depth + "}")
    result = alertd("zones", "import", str(path), "--kind", "flood", dsn=db_dsn)
    assert "nested too deeply" in one_error_line(result, 65)


def test_a_non_utf8_toml_file_is_one_clear_line(tmp_path: Path) -> None:
    toml = tmp_path / "alertd.toml"
    toml.write_bytes('[log]\nlevel = "info" # détail\n'.encode("cp1252"))
    line = one_error_line(alertd("--config", str(toml), "config", "show"), 78)
    assert "is not UTF-8" in line


def test_an_absurd_expiry_is_one_clear_line(db_dsn: str, officer: str) -> None:
    result = alertd(
        "alert",
        "create",
        "--template",
        "submersion",
        "--circle",
        "2.37,51.03,500",
        "--expires-in",
        "99999999d",
        *PARAMS,
        dsn=db_dsn,
        env={"ALERTD_OPERATOR_TOKEN": officer},
    )
    assert "--expires-in: at most 30d" in one_error_line(result, 2)


def test_a_50_mb_header_is_one_clear_line(db_dsn: str, officer: str, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text("x" * 50_000_000 + "\n06 12 34 56 78\n")
    result = alertd("subscribers", "import", str(path), "--tenant", "59183", dsn=db_dsn)
    assert "it is not a header line" in one_error_line(result, 65)


MALFORMED = ["06 12 34 56 7", "06 12 34 56 789", "0612-34-567", "06 12 34 5x 78", "+33 6 12 34 5"]


def test_malformed_phone_numbers_are_masked_on_stderr(
    db_dsn: str, officer: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("phone,postcode\n" + "".join(f"{p},59140\n" for p in MALFORMED))
    result = alertd("subscribers", "import", str(path), "--tenant", "59183", dsn=db_dsn)
    assert result.returncode == 3
    assert result.stderr.count("is not a valid number") == len(MALFORMED)
    for phone in MALFORMED:
        assert phone not in result.stderr
        assert phone[2:-2] not in result.stderr
    assert "'** ** ** *6 7'" in result.stderr  # masked like the logs: all but the last 2 digits
    for phone in MALFORMED:
        export = alertd("subscribers", "export", "--phone", phone, dsn=db_dsn)
        assert export.returncode == 65
        assert phone not in export.stderr and "phone '" in export.stderr


def test_a_folder_given_as_a_file_is_one_clear_line(db_dsn: str, tmp_path: Path) -> None:
    result = alertd("zones", "import", str(tmp_path), "--kind", "flood", dsn=db_dsn)
    assert f"cannot read {tmp_path}" in one_error_line(result, 65)
