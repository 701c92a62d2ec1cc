from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import structlog
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from alertd.config import Config, with_overrides
from alertd.errors import NotFoundError
from alertd.subscribers import importer

GOOD = [
    "06 12 34 56 01,59140,1 rue de la Digue,2.3431,51.0292,fr,",
    "+33 6 12 34 56 02,59240,,,,en,dechets",
    "0033612345603,59640,,,,,",
    "06.12.34.56.04,59140,3 quai des Hollandais,2.3700,51.0400,fr,dechets|crues",
    "03 28 59 00 05,59140,,,,,",
]
BAD = [
    ("12345,59140,,,,,", "not a valid number"),
    ("06 12 34 56 06,75001,,,,,", "postcode 75001"),
    ("06 12 34 56 07,59140,,51.03,2.34,,", "look swapped"),
    ("06 12 34 56 08,,,,,,", "needs a postcode"),
    ("06 12 34 56 01,59140,,,,,", "same phone as line 2"),
]
HEADER = "phone,postcode,address,lon,lat,language,topics"


def write(tmp_path: Path, lines: list[str], name: str = "subs.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


async def _snapshot(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return list(await pool.fetch("SELECT * FROM subscribers ORDER BY phone"))


async def test_five_bad_rows_among_good_ones(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    lines = [
        GOOD[0],
        BAD[0][0],
        GOOD[1],
        BAD[1][0],
        GOOD[2],
        BAD[2][0],
        GOOD[3],
        BAD[3][0],
        GOOD[4],
        BAD[4][0],
    ]
    report = await importer.import_csv(
        loaded, write(tmp_path, lines), "59183", config.subscribers, "test"
    )
    assert report.inserted == 5
    assert report.rows == 10
    assert [
        (p.line, reason in p.reason) for p, (_, reason) in zip(report.rejected, BAD, strict=True)
    ] == [(3, True), (5, True), (7, True), (9, True), (11, True)]
    assert [w.line for w in report.warnings] == [10]
    rows = await _snapshot(loaded)
    assert [r["phone"] for r in rows] == [
        "+33328590005",
        "+33612345601",
        "+33612345602",
        "+33612345603",
        "+33612345604",
    ]
    first = rows[1]
    assert (first["postcode"], first["lon"], first["lat"], first["status"]) == (
        "59140",
        2.3431,
        51.0292,
        "active",
    )
    assert first["consent_channel"] == "import" and first["consent_at"] is not None
    assert rows[0]["phone_kind"] == "landline"
    assert rows[2]["language"] == "en" and rows[2]["topics"] == ["dechets"]
    audit = await loaded.fetchrow("SELECT * FROM audit_log WHERE action = 'subscribers.import'")
    assert audit["details"]["inserted"] == 5 and audit["details"]["rejected"] == 5
    assert "+336" not in str(audit["details"])


async def test_importing_the_same_file_again_changes_nothing(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    path = write(tmp_path, GOOD)
    await importer.import_csv(loaded, path, "59183", config.subscribers, "test")
    before = await _snapshot(loaded)
    again = await importer.import_csv(loaded, path, "59183", config.subscribers, "test")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)
    assert await _snapshot(loaded) == before


async def test_changed_rows_are_updated(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    await importer.import_csv(loaded, write(tmp_path, GOOD), "59183", config.subscribers, "t")
    moved = [GOOD[0].replace("2.3431,51.0292", "2.3500,51.0300"), *GOOD[1:]]
    report = await importer.import_csv(
        loaded, write(tmp_path, moved, "b.csv"), "59183", config.subscribers, "t"
    )
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 4)
    lon = await loaded.fetchval("SELECT lon FROM subscribers WHERE phone = '+33612345601'")
    assert lon == 2.35


async def test_an_import_never_reactivates_someone_who_said_stop(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    path = write(tmp_path, GOOD)
    await importer.import_csv(loaded, path, "59183", config.subscribers, "t")
    await loaded.execute(
        "UPDATE subscribers SET status = 'stopped', stopped_at = now() WHERE phone = '+33612345601'"
    )
    explicit = tmp_path / "explicit.csv"
    explicit.write_text("phone,postcode,status\n06 12 34 56 01,59140,active\n")
    report = await importer.import_csv(loaded, explicit, "59183", config.subscribers, "t")
    report2 = await importer.import_csv(loaded, path, "59183", config.subscribers, "t")
    assert report.kept_stopped == 1 and report2.kept_stopped == 1
    status = await loaded.fetchval("SELECT status FROM subscribers WHERE phone = '+33612345601'")
    assert status == "stopped"


@pytest.mark.slow
async def test_large_file_through_worker_processes(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    lines = [f"073{i:07d},59140,,,,," for i in range(60_000)]
    lines[30_000] = "bad,59140,,,,,"
    path = write(tmp_path, lines)
    assert path.stat().st_size > importer._PARALLEL_FROM_BYTES
    cfg = with_overrides(config, subscribers={"import_batch_rows": 5_000, "import_workers": 2})
    report = await importer.import_csv(loaded, path, "59183", cfg.subscribers, "t")
    assert report.inserted == 59_999
    assert [p.line for p in report.rejected] == [30_002]
    assert await loaded.fetchval("SELECT count(*) FROM subscribers") == 59_999


async def test_unknown_tenant_and_missing_file(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError, match="tenant '99999' does not exist"):
        await importer.import_csv(loaded, write(tmp_path, GOOD), "99999", config.subscribers, "t")
    with pytest.raises(NotFoundError, match="does not exist"):  # exit code 66, as documented
        await importer.import_csv(
            loaded, tmp_path / "missing.csv", "59183", config.subscribers, "t"
        )
    assert await loaded.fetchval("SELECT count(*) FROM subscribers") == 0


async def test_intercommunality_accepts_every_commune_postcode(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        ["06 12 34 56 01,59820,,,,,", "06 12 34 56 02,59123,,,,,", "06 12 34 56 03,62100,,,,,"],
    )
    report = await importer.import_csv(loaded, path, "245900428", config.subscribers, "t")
    assert report.inserted == 2
    assert "62100" in report.rejected[0].reason


async def test_a_column_left_out_keeps_what_is_stored(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    await importer.import_csv(loaded, write(tmp_path, GOOD), "59183", config.subscribers, "t")
    before = await _snapshot(loaded)
    slim = tmp_path / "slim.csv"
    slim.write_text("phone,postcode\n06 12 34 56 02,59140\n")
    report = await importer.import_csv(loaded, slim, "59183", config.subscribers, "t")
    assert (report.updated, report.unchanged) == (1, 0)
    after = {r["phone"]: r for r in await _snapshot(loaded)}
    moved = after["+33612345602"]
    assert moved["postcode"] == "59140"
    assert (moved["language"], moved["topics"]) == ("en", ["dechets"])  # kept, not reset
    untouched = {r["phone"]: r for r in before}
    assert after["+33612345601"] == untouched["+33612345601"]


async def test_awkward_text_reaches_the_database_intact(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    address = 'Résidence "Les Dunes" \\ bât. B, 2ᵉ étage — côté œillets'
    path = tmp_path / "awkward.csv"
    path.write_text(
        'phone,postcode,address,topics\n06 12 34 56 01,59140,"'
        + address.replace('"', '""')
        + '",crues|dechets\n',
        encoding="utf-8",
    )
    report = await importer.import_csv(loaded, path, "59183", config.subscribers, "t")
    assert report.inserted == 1
    row = await loaded.fetchrow("SELECT address, topics FROM subscribers")
    assert row["address"] == address
    assert row["topics"] == ["crues", "dechets"]


async def test_batches_probe_the_unique_index_whatever_the_statistics(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    """A million-row import stays linear only if each batch looks rows up by index: check the
    plan on a table whose statistics are stale (it grew since the last ANALYZE)."""
    from alertd.store.queries import queries

    lines = [f"073{i:07d},59140,,,,," for i in range(3000)]
    await importer.import_csv(loaded, write(tmp_path, lines), "59183", config.subscribers, "t")
    tenant = await loaded.fetchval("SELECT id FROM tenants WHERE code = '59183'")
    async with loaded.acquire() as conn, conn.transaction():
        await conn.execute(queries("subscribers")["create_staging"])
        await conn.execute(
            "INSERT INTO subscriber_import SELECT i, '+3374' || lpad(i::text, 7, '0'), 'mobile',"
            " 'fr', '59140', NULL, NULL, NULL, '{}', NULL, false, NULL, NULL"
            " FROM generate_series(1, 2000) i"
        )
        await conn.execute("SET LOCAL enable_mergejoin = off; SET LOCAL enable_hashjoin = off")
        plan = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) " + queries("subscribers")["upsert_from_staging"],
            tenant,
            ["phone", "postcode"],
        )
    scans = list(_scans(json.loads(plan)[0]["Plan"]))
    lookups = [scan for scan in scans if scan[1] == "t"]
    assert lookups == [("Index Scan", "t", "subscribers_phone_tenant_id_key")], scans


def _scans(node: dict[str, object]) -> Iterator[tuple[object, object, object]]:
    if "Relation Name" in node:
        yield node["Node Type"], node.get("Alias"), node.get("Index Name")
    for child in node.get("Plans", []):  # type: ignore[attr-defined]
        yield from _scans(child)


async def test_every_line_an_import_logs_names_its_tenant_and_file(
    loaded: asyncpg.Pool, config: Config, tmp_path: Path
) -> None:
    path = write(tmp_path, GOOD, name="gravelines.csv")
    with capture_logs(processors=[merge_contextvars]) as logs:
        await importer.import_csv(loaded, path, "59273", config.subscribers, "test")
    events = [e for e in logs if e["event"].startswith("subscribers.import.")]
    assert {e["event"] for e in events} == {"subscribers.import.batch", "subscribers.import.done"}
    assert {(e["tenant"], e["file"]) for e in events} == {("59273", "gravelines.csv")}
    assert structlog.contextvars.get_contextvars() == {}  # bound for the import only
