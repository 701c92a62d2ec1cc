"""Loading every subscriber who can receive an alert into numpy arrays, fast and lean: a binary
``COPY`` of fixed-width columns, read with one ``np.frombuffer`` per slice of ids, so that no
Python object is made per subscriber (a million of them would cost seconds and hundreds of MB).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg
import numpy as np
import numpy.typing as npt

from alertd.store.queries import queries

CHUNK_IDS = 250_000  # ids per COPY: bounds the bytes held at once (81 bytes a subscriber)
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
# One row of copy_chunk in PostgreSQL's binary COPY format: a field count, then each field's
# length and big-endian value (none of them is ever NULL).
ROW = np.dtype(
    [
        ("n", ">i2"),
        ("l0", ">i4"),
        ("id", ">i8"),
        ("l1", ">i4"),
        ("tenant", ">i8"),
        ("l2", ">i4"),
        ("lon", ">f8"),
        ("l3", ">i4"),
        ("lat", ">f8"),
        ("l4", ">i4"),
        ("postcode", ">i4"),
        ("l5", ">i4"),
        ("language", ">i2"),
        ("l6", ">i4"),
        ("topics", ">i8"),
        ("l7", ">i4"),
        ("exercise", "?"),
    ]
)


@dataclass(frozen=True, slots=True)
class Loaded:
    """Columns of the eligible subscribers, by increasing id; languages and topics as positions
    (1-based; 0: none) in the vocabulary, topics as a bit mask."""

    ids: npt.NDArray[np.int64]
    tenant: npt.NDArray[np.int64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    postcode: npt.NDArray[np.int32]
    language: npt.NDArray[np.int16]
    topics: npt.NDArray[np.uint64]
    exercise: npt.NDArray[np.bool_]
    languages: tuple[str, ...]
    topic_names: tuple[str, ...]
    snapshot: str  # pg_current_snapshot() of the load: changes after it come from the log
    last_id: int  # the last change-log id the load's snapshot saw
    read_at: datetime


def parse_copy(data: bytes) -> npt.NDArray[np.void]:
    """The rows of a binary COPY of copy_chunk, as a structured array."""
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PostgreSQL binary COPY")
    ext = int.from_bytes(data[15:19], "big")
    body = data[19 + ext : len(data) - 2]  # the trailer is a field count of -1
    rows = np.frombuffer(body, dtype=ROW)
    if len(rows) and not (rows["n"] == 8).all():
        raise ValueError("unexpected binary COPY layout")
    return rows


async def load(conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy) -> Loaded:
    """Everyone who can receive an alert now (active mobiles), with the snapshot they were read
    in: one repeatable-read transaction, so that the change log takes over exactly there."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        vocab = await conn.fetchrow(queries("live_index")["vocabulary"])
        bounds = await conn.fetchrow(queries("live_index")["id_range"])
        assert vocab is not None  # noqa: S101 - an aggregate: one row
        assert bounds is not None  # noqa: S101
        languages, topic_names = list(vocab["languages"]), list(vocab["topics"])
        if len(topic_names) > 63:
            raise OverflowError("more than 63 distinct topics: the index holds them as bits")
        parts = []
        for lo in range(bounds["lo"], bounds["hi"] + 1, CHUNK_IDS):
            buffer = bytearray()

            async def sink(chunk: bytes, into: bytearray = buffer) -> None:
                into.extend(chunk)

            await conn.copy_from_query(
                queries("live_index")["copy_chunk"],
                languages,
                topic_names,
                lo,
                lo + CHUNK_IDS,
                output=sink,
                format="binary",
            )
            parts.append(_columns(parse_copy(bytes(buffer))))
            del buffer
    return _assemble(
        parts, languages, topic_names, (vocab["snapshot"], vocab["last_id"]), vocab["read_at"]
    )


def _columns(rows: npt.NDArray[np.void]) -> dict[str, npt.NDArray[np.generic]]:
    """Native-endian copies of the fields (the COPY bytes can then go)."""
    return {
        "ids": rows["id"].astype(np.int64),
        "tenant": rows["tenant"].astype(np.int64),
        "lon": rows["lon"].astype(np.float64),
        "lat": rows["lat"].astype(np.float64),
        "postcode": rows["postcode"].astype(np.int32),
        "language": rows["language"].astype(np.int16),
        "topics": rows["topics"].astype(np.int64).view(np.uint64),
        "exercise": rows["exercise"].astype(np.bool_),
    }


def _assemble(
    parts: list[dict[str, npt.NDArray[np.generic]]],
    languages: list[str],
    topic_names: list[str],
    position: tuple[str, int],
    read_at: datetime,
) -> Loaded:
    empty = _columns(np.empty(0, dtype=ROW))
    columns = {
        key: np.concatenate([p[key] for p in parts]) if parts else value
        for key, value in empty.items()
    }
    return Loaded(
        **columns,  # type: ignore[arg-type]
        languages=tuple(languages),
        topic_names=tuple(topic_names),
        snapshot=position[0],
        last_id=position[1],
        read_at=read_at,
    )
