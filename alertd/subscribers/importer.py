"""Subscribers in the store: the CSV import (COPY in batches).

Import pipeline: the main process reads the CSV and writes to PostgreSQL; worker processes check
rows (phone parsing is the costly part) a few chunks ahead, so checking, COPY and upsert overlap.
A file is one transaction (issue 14): a bad row is reported and skipped, but an error that stops
the import (a malformed line, an interruption) leaves nothing of it behind, and the audit entry
with its counts is written in the same transaction. A file that is not valid UTF-8 is read as
Windows-1252, what French spreadsheet software writes.
"""

from __future__ import annotations

import asyncio
import codecs
import io
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import asyncpg
import structlog

from alertd import audit
from alertd.config import SubscribersConfig
from alertd.errors import InputError, NotFoundError
from alertd.jsonable import jsonable_object
from alertd.logs import get_logger
from alertd.store.copy_text import drop_lines
from alertd.store.queries import queries
from alertd.store.types import Conn
from alertd.subscribers.csv_rows import (
    CopyChunk,
    RowProblem,
    RowRules,
    SubscriberRow,
    check_chunk_for_copy,
    open_csv,
)
from alertd.tenants import get_tenant, territory_postcodes

log = get_logger(__name__)

# Below this many rows worker processes cost more to start than they save.
_PARALLEL_FROM_BYTES = 1_000_000
_DETECT_BLOCK = 1 << 20
_ENCODINGS = {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252"}


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did, in counts: what --json prints and the audit log keeps."""

    tenant: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    kept_stopped: int  # rows of residents who sent STOP: they stay stopped
    rejected: int
    landlines: int  # kept but flagged: they cannot receive SMS
    ignored_columns: tuple[str, ...]
    encoding: str  # "UTF-8" or "Windows-1252"
    seconds: float
    rows_per_second: int


@dataclass(slots=True)
class ImportReport:
    tenant: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_stopped: int = 0
    rejected: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str = "UTF-8"
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def summary(self) -> ImportSummary:
        return ImportSummary(
            tenant=self.tenant,
            rows=self.rows,
            inserted=self.inserted,
            updated=self.updated,
            unchanged=self.unchanged,
            kept_stopped=self.kept_stopped,
            rejected=len(self.rejected),
            landlines=len(self.warnings),
            ignored_columns=tuple(self.ignored_columns),
            encoding=self.encoding,
            seconds=round(self.seconds, 3),
            rows_per_second=round(self.rows_per_second),
        )


def _chunks(
    rows: Iterator[tuple[int, list[str]]], size: int
) -> Iterator[list[tuple[int, list[str]]]]:
    while chunk := list(islice(rows, size)):
        yield chunk


async def _checked(
    chunks: Iterator[list[tuple[int, list[str]]]],
    check: Callable[[list[tuple[int, list[str]]]], CopyChunk],
    executor: Executor | None,
    ahead: int,
) -> AsyncIterator[CopyChunk]:
    """Checked chunks in file order; with an executor, `ahead` chunks are checked in advance."""
    if executor is None:
        for chunk in chunks:
            yield check(chunk)
        return
    loop = asyncio.get_running_loop()
    pending: deque[asyncio.Future[CopyChunk]] = deque()
    for chunk in chunks:
        pending.append(loop.run_in_executor(executor, check, chunk))
        if len(pending) >= ahead:
            yield await pending.popleft()
    while pending:
        yield await pending.popleft()


def _dedupe(chunk: CopyChunk, first_line: dict[str, int]) -> tuple[bytes, int]:
    """Keep the first row of each phone in the whole file; later ones are reported.

    Returns the payload to COPY and its number of rows."""
    dropped = set()
    for position, (phone, line) in enumerate(zip(chunk.phones, chunk.lines, strict=True)):
        seen = first_line.setdefault(phone, line)
        if seen != line:
            dropped.add(position)
            chunk.problems.append(RowProblem(line, f"same phone as line {seen}: skipped"))
    payload = drop_lines(chunk.payload, dropped) if dropped else chunk.payload
    return payload, len(chunk.phones) - len(dropped)


async def _write_batch(
    conn: Conn,
    *,
    tenant_id: int,
    columns: list[str],
    payload: bytes,
    rows: int,
    report: ImportReport,
) -> None:
    """One batch, in the file's transaction: staged, upserted, and the staging emptied."""
    await conn.copy_to_table(
        "subscriber_import",
        source=io.BytesIO(payload),
        columns=SubscriberRow._fields,
        format="text",
    )
    result = await conn.fetchrow(queries("subscribers")["upsert_from_staging"], tenant_id, columns)
    # ON COMMIT DELETE ROWS empties it only at the end of the file's one transaction.
    await conn.execute("TRUNCATE subscriber_import")
    assert result is not None  # noqa: S101 - an aggregate query returns one row
    report.updated += result["updated"]
    report.inserted += result["inserted"]
    report.kept_stopped += result["kept_stopped"]
    report.unchanged += rows - result["updated"] - result["inserted"]


def detect_encoding(raw: BinaryIO) -> str:
    """'utf-8-sig' when the whole file is valid UTF-8, else 'cp1252' (Windows-1252: what French
    spreadsheet software writes when told "CSV"). Reads the file once, in blocks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while block := raw.read(_DETECT_BLOCK):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    finally:
        raw.seek(0)
    return "utf-8-sig"


def _open_text(path: Path) -> io.TextIOWrapper:
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise NotFoundError(f"file {path} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a CSV file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    # utf-8-sig drops the byte-order mark Excel writes. The 5 bytes Windows-1252 leaves undefined
    # become lone surrogates, which the row checks report with the line number.
    encoding = detect_encoding(raw)
    return io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")


def _executor(path: Path, config: SubscribersConfig, stack: ExitStack) -> Executor | None:
    if config.import_workers == 0 or path.stat().st_size < _PARALLEL_FROM_BYTES:
        return None
    return stack.enter_context(ProcessPoolExecutor(max_workers=config.import_workers))


async def import_csv(
    pool: asyncpg.Pool, path: Path, tenant_code: str, config: SubscribersConfig, actor: str
) -> ImportReport:
    """Import subscribers from a CSV file into one tenant; see the README for the columns."""
    with structlog.contextvars.bound_contextvars(tenant=tenant_code, file=path.name):
        return await _import(pool, path, tenant_code, config, actor)


async def _import(
    pool: asyncpg.Pool, path: Path, tenant_code: str, config: SubscribersConfig, actor: str
) -> ImportReport:
    started = time.perf_counter()
    with ExitStack() as stack:
        # The file first: a wrong path or header is reported before anything else is looked up.
        stream = stack.enter_context(_open_text(path))
        rows, index, ignored = open_csv(stream)
        tenant = await get_tenant(pool, tenant_code)
        rules = RowRules(
            region=config.default_region,
            postcodes=await territory_postcodes(pool, tenant["id"]),
            tenant_name=tenant["name"],
        )
        report = ImportReport(
            tenant=tenant["code"], ignored_columns=ignored, encoding=_ENCODINGS[stream.encoding]
        )
        first_line: dict[str, int] = {}
        now = datetime.now(UTC)
        executor = _executor(path, config, stack)
        check = partial(check_chunk_for_copy, index=index, rules=rules, now=now)
        chunks = _chunks(rows, config.import_batch_rows)
        # The whole file in one transaction: all of it, or nothing (and then no audit entry).
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(queries("subscribers")["create_staging"])
            # A batch is bounded, the table is not: join by index probes, once per staged row.
            # With a fresh temp table and stale statistics on a fast-growing subscribers table,
            # the planner otherwise picks merge or hash joins that read the whole table for
            # every batch, and a million-row import slows down quadratically (see also the
            # LATERAL in the query).
            await conn.execute("SET LOCAL enable_mergejoin = off; SET LOCAL enable_hashjoin = off")
            async for checked in _checked(chunks, check, executor, config.import_workers + 1):
                payload, good = _dedupe(checked, first_line)
                report.rows += good + len(checked.problems)
                report.rejected.extend(checked.problems)
                report.warnings.extend(checked.warnings)
                if good:
                    await _write_batch(
                        conn,
                        tenant_id=tenant["id"],
                        columns=list(index),
                        payload=payload,
                        rows=good,
                        report=report,
                    )
                log.debug("subscribers.import.batch", rows=report.rows)
            report.rejected.sort(key=lambda p: p.line)
            report.seconds = time.perf_counter() - started
            await audit.record(
                conn,
                actor=actor,
                action="subscribers.import",
                target=f"tenant:{tenant['id']}",
                tenant_id=tenant["id"],
                details={"file": path.name, **jsonable_object(report.summary())},
            )
    log.debug("subscribers.import.done", **jsonable_object(report.summary()))
    return report
