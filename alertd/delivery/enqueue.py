"""From an alert to its deliveries: who is inside its zones, written to the outbox in batches.

Each batch is committed on its own, so the dispatch loop can claim the first recipients while the
rest are still being written; the unique (alert, subscriber) key makes a second run, a retry or a
restart harmless.

An alert is ``sending`` while its deliveries are being written and ``sent`` once they all are. An
enqueue holds a session advisory lock on its alert (``enqueuing``): a killed ``alert send`` lets
go of it with its connection, so an alert still ``sending`` whose lock is free was interrupted;
the daemon finishes it (``resume_interrupted``), as re-running ``alert send`` would.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
from shapely.geometry import shape

from alertd.delivery import outbox
from alertd.delivery.targeting import postcode_areas
from alertd.errors import InputError, NotFoundError
from alertd.logs import get_logger
from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.tenants import territory
from zones import SubscriberIndex, ZoneError
from zones.geojson import dissolve

log = get_logger(__name__)
BATCH = 10_000
# The first committed batch is small: the daemons start sending it while the rest is written
# (the first SMS leaves within a second of the send, not after 10 000 rows).
FIRST_BATCH = 1_000
LOCK_SPACE = 7_401  # the advisory locks' first key: "an alert's enqueue"; the second: its id
RESUME_AFTER_S = 5.0  # an alert `sending` this long without an enqueue holding it: interrupted


@dataclass(frozen=True, slots=True)
class Enqueued:
    by_address: int
    by_postcode: int
    written: int  # new deliveries (0 on a second run)


@dataclass(frozen=True, slots=True)
class Matched:
    """Who is inside: subscriber ids by how they were found, and each one's language."""

    by_address: list[int]
    by_postcode: list[int]
    language: dict[int, str]
    # Residents known by their postcode only who could not be placed: the territory has no
    # postcode areas. Said in the preview, never left out silently.
    unplaced: int = 0

    def ids(self) -> set[int]:
        return set(self.by_address) | set(self.by_postcode)

    def languages(self, only: Iterable[int] | None = None) -> Counter[str]:
        chosen = self.ids() if only is None else only
        return Counter(self.language[i] for i in chosen)


async def match(
    conn: Queryable,
    *,
    tenant_id: int,
    geometries: Sequence[Mapping[str, Any]],
    life_safety: bool,
    topics: Sequence[str],
    exercise: bool,
) -> Matched:
    """The active subscribers of the tenant's territory inside these zones; information alerts
    reach only those who chose one of their topics, exercises only the participants. Residents
    known by their postcode only are matched through the tenant's postcode areas, read from the
    database (the same on every workstation)."""
    if not geometries:
        raise InputError("the alert has no zone")
    try:
        zone = dissolve([shape(dict(g)) for g in geometries])  # type: ignore[misc]
    except (ZoneError, ValueError) as exc:
        raise InputError(f"the alert's zone cannot be used: {exc}") from None
    row = await conn.fetchrow(
        queries("zones")["alert_candidates"],
        await territory(conn, tenant_id),
        [] if life_safety else list(topics),
        exercise,
        not life_safety,  # information: only to those who chose one of its topics
    )
    assert row is not None  # noqa: S101 - an aggregate returns one row
    index = SubscriberIndex(
        np.asarray(row["ids"], dtype=np.int64),
        np.asarray(row["lon"], dtype=np.float64),
        np.asarray(row["lat"], dtype=np.float64),
        row["postcodes"],
    )
    areas = await postcode_areas(conn, tenant_id)
    found = index.match(zone, areas)
    unplaced = 0 if areas is not None else int(np.isnan(np.asarray(row["lon"], dtype=float)).sum())
    return Matched(
        [int(i) for i in found.by_address],
        [int(i) for i in found.by_postcode],
        dict(zip(row["ids"], row["languages"], strict=True)),
        unplaced,
    )


async def write(
    pool: asyncpg.Pool,
    alert_id: int,
    priority: int,
    matched: Matched,
    only: set[int] | None = None,
) -> int:
    """Write the deliveries (of ``only`` these, when given) in committed batches; returns how
    many were new."""
    written = 0
    first_batch = True
    for ids, how in ((matched.by_address, "address"), (matched.by_postcode, "postcode")):
        chosen = ids if only is None else [i for i in ids if i in only]
        start = 0
        while start < len(chosen):
            size = FIRST_BATCH if first_batch else BATCH
            chunk, start, first_batch = chosen[start : start + size], start + size, False
            written += await outbox.enqueue(
                pool,
                alert_id,
                priority,
                subscriber_ids=chunk,
                matched_by=[how] * len(chunk),
                languages=[matched.language[i] for i in chunk],
            )
    return written


async def alert_zones(conn: Queryable, alert_id: int) -> asyncpg.Record:
    alert = await conn.fetchrow(queries("zones")["alert_for_enqueue"], alert_id)
    if alert is None:
        raise NotFoundError(f"alert {alert_id} does not exist")
    return alert


def geometries_of(alert: asyncpg.Record) -> list[Mapping[str, Any]]:
    return list(alert["zones"]) + ([alert["zone_geometry"]] if alert["zone_geometry"] else [])


async def match_alert(conn: Queryable, alert: asyncpg.Record) -> Matched:
    return await match(
        conn,
        tenant_id=alert["tenant_id"],
        geometries=geometries_of(alert),
        life_safety=alert["severity"] == "life_safety",
        topics=alert["topics"],
        exercise=alert["exercise"],
    )


def priority_of(alert: asyncpg.Record) -> int:
    return outbox.LIFE_SAFETY if alert["severity"] == "life_safety" else outbox.INFORMATION


async def enqueue_alert(pool: asyncpg.Pool, alert_id: int) -> Enqueued:
    alert = await alert_zones(pool, alert_id)
    if not geometries_of(alert):
        raise InputError(f"alert {alert_id} has no zone")
    found = await match_alert(pool, alert)
    written = await write(pool, alert_id, priority_of(alert), found)
    return Enqueued(len(found.by_address), len(found.by_postcode), written)


@asynccontextmanager
async def enqueuing(pool: asyncpg.Pool, alert_id: int, *, wait: bool) -> AsyncIterator[bool]:
    """Hold the alert's enqueue lock for the block (True); without ``wait``, False at once when
    another process holds it. Held by a connection of its own: a killed process lets go."""
    async with pool.acquire() as conn:
        if wait:
            await conn.execute("SELECT pg_advisory_lock($1, $2)", LOCK_SPACE, alert_id)
            held = True
        else:
            held = bool(
                await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", LOCK_SPACE, alert_id)
            )
        try:
            yield held
        finally:
            if held:
                await conn.execute("SELECT pg_advisory_unlock($1, $2)", LOCK_SPACE, alert_id)


async def being_enqueued(conn: Queryable, alert_id: int) -> bool:
    """Is an enqueue writing this alert's deliveries right now (its lock held)?"""
    return bool(await conn.fetchval(queries("alerts")["enqueue_locked"], LOCK_SPACE, alert_id))


async def finish(pool: asyncpg.Pool, alert: asyncpg.Record, matched: Matched) -> int:
    """Write an alert's deliveries and mark it ``sent`` (if it is still ``sending``); the caller
    holds its enqueue lock. Returns how many deliveries were new."""
    written = await write(pool, alert["id"], priority_of(alert), matched)
    await pool.execute(queries("alerts")["set_status"], alert["id"], "sent", ["sending"])
    return written


@dataclass(frozen=True, slots=True)
class Resumed:
    alert_id: int
    recipients: int
    written: int  # the deliveries the interrupted enqueue had not written


async def resume_interrupted(
    pool: asyncpg.Pool,
    postcode_areas: object = None,  # unused: the areas are the tenant's, read from the database
    after_s: float = RESUME_AFTER_S,
    given_up: set[int] | None = None,
    matcher: Callable[[Queryable, asyncpg.Record], Awaitable[Matched]] | None = None,
) -> list[Resumed]:
    """Finish the alerts whose enqueue was interrupted: still ``sending`` ``after_s`` after it
    began, and nobody enqueuing them now. Updates and all-clears are not resumed here (they go to
    the alert's recipients, not to a zone): re-running their command finishes them. An alert that
    cannot be finished (its zone unusable now) is logged once and added to ``given_up``.
    ``matcher``: who the alert reaches (the daemon's in-memory index; ``match_alert`` else)."""
    given_up = set() if given_up is None else given_up
    resumed: list[Resumed] = []
    rows = await pool.fetch(queries("alerts")["interrupted"], after_s)
    for alert_id in [r["id"] for r in rows if r["id"] not in given_up]:
        async with enqueuing(pool, alert_id, wait=False) as held:
            if not held:
                continue  # an `alert send` is writing it now
            alert = await alert_zones(pool, alert_id)
            if alert["status"] != "sending":
                continue  # finished or cancelled meanwhile
            why: str | None = None
            try:
                found = await (matcher or match_alert)(pool, alert)
            except InputError as exc:
                given_up.add(alert_id)
                why = str(exc)
            if why is not None:
                log.error("enqueue.not_resumed", alert_id=alert_id, error=why)
                continue
            written = await finish(pool, alert, found)
        log.warning(
            "enqueue.resumed", alert_id=alert_id, recipients=len(found.ids()), written=written
        )
        resumed.append(Resumed(alert_id, len(found.ids()), written))
    return resumed
