"""Issue 14, case 11: an import is one transaction per file, audited with its counts, and a
Windows-1252 file (what French spreadsheets write) is read as such."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from alertd.config import Config, with_overrides
from alertd.errors import InputError
from alertd.subscribers import importer
from tests.support.cli import alertd

HEADER = "téléphone;code_postal;adresse;remarque"


def _rows(n: int, first: int = 0) -> list[str]:
    return [f"06 12 34 {(first + i) // 100:02d} {(first + i) % 100:02d};59140;;" for i in range(n)]


async def test_a_file_that_fails_midway_leaves_nothing_behind(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    small_batches = with_overrides(config, subscribers={"import_batch_rows": 100}).subscribers
    path = tmp_path / "big.csv"
    # 250 good rows (two batches and a half), then a line the CSV reader cannot read.
    lines = [HEADER, *_rows(250), "06 99 99 99 99;59140;" + "x" * 200_000 + ";"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 252"):
        await importer.import_csv(loaded, path, "59183", small_batches, "test")
    assert await loaded.fetchval("SELECT count(*) FROM subscribers") == 0
    assert (
        await loaded.fetchval("SELECT count(*) FROM audit_log WHERE action = 'subscribers.import'")
        == 0
    )


async def test_an_import_is_audited_with_its_counts(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "subs.csv"
    path.write_text("\n".join([HEADER, *_rows(30), "12345;59140;;"]) + "\n", encoding="utf-8")
    report = await importer.import_csv(loaded, path, "59183", config.subscribers, "cli:test")
    assert (report.inserted, len(report.rejected)) == (30, 1)
    row = await loaded.fetchrow(
        "SELECT actor, details FROM audit_log WHERE action = 'subscribers.import'"
    )
    assert row is not None and row["actor"] == "cli:test"
    details = row["details"]
    assert (details["file"], details["rows"], details["inserted"], details["rejected"]) == (
        "subs.csv",
        31,
        30,
        1,
    )


async def test_a_windows_1252_file_is_read_as_such(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "mairie.csv"
    text = f"{HEADER}\n06 12 34 56 78;59140;2 rue de l'Église, côté œillets;à voir\n"
    path.write_bytes(text.encode("cp1252"))
    report = await importer.import_csv(loaded, path, "59183", config.subscribers, "test")
    assert (report.inserted, report.rejected, report.encoding) == (1, [], "Windows-1252")
    assert report.ignored_columns == ["remarque"]
    stored = await loaded.fetchval("SELECT address FROM subscribers")
    assert stored == "2 rue de l'Église, côté œillets"


async def test_utf8_with_and_without_bom_stays_utf8(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    for name, prefix in (("plain.csv", b""), ("excel.csv", b"\xef\xbb\xbf")):
        path = tmp_path / name
        row = "06 12 34 56 79;59140;Église;\n"
        path.write_bytes(prefix + f"{HEADER}\n{row}".encode())
        report = await importer.import_csv(loaded, path, "59183", config.subscribers, "test")
        assert report.encoding == "UTF-8" and report.rejected == []
    assert await loaded.fetchval("SELECT address FROM subscribers") == "Église"


def test_the_cli_accepts_a_windows_1252_file_and_says_so(db_dsn: str, tmp_path: Path) -> None:
    assert alertd("tenants", "load-sample", dsn=db_dsn).returncode == 0
    path = tmp_path / "mairie.csv"
    path.write_bytes(f"{HEADER}\n06 12 34 56 78;59140;Rue de l'Église;\n".encode("cp1252"))
    result = alertd("subscribers", "import", str(path), "--tenant", "59183", dsn=db_dsn)
    assert result.returncode == 0, result.stderr
    assert "read as Windows-1252" in result.stdout
    as_json = alertd("subscribers", "import", str(path), "--tenant", "59183", "--json", dsn=db_dsn)
    assert json.loads(as_json.stdout)["unchanged"] == 1
