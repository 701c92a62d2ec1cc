"""From an alert to its deliveries: who is inside its zones, written to the outbox in batches.

Each batch is committed on its own, so the dispatch loop can claim the first recipients while the
rest are still being written; the unique (alert, subscriber) key makes a second run, a retry or a
restart harmless.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
from shapely.geometry import shape

from alertd.delivery import outbox
from alertd.errors import InputError, NotFoundError
from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.tenants import territory
from zones import PostcodeAreas, SubscriberIndex, ZoneError
from zones.geojson import dissolve

BATCH = 10_000


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
    postcode_areas: PostcodeAreas | None,
) -> Matched:
    """The active subscribers of the tenant's territory inside these zones; information alerts
    follow topics, exercises reach only the participants."""
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
    )
    assert row is not None  # noqa: S101 - an aggregate returns one row
    index = SubscriberIndex(
        np.asarray(row["ids"], dtype=np.int64),
        np.asarray(row["lon"], dtype=np.float64),
        np.asarray(row["lat"], dtype=np.float64),
        row["postcodes"],
    )
    found = index.match(zone, postcode_areas)
    return Matched(
        [int(i) for i in found.by_address],
        [int(i) for i in found.by_postcode],
        dict(zip(row["ids"], row["languages"], strict=True)),
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
    for ids, how in ((matched.by_address, "address"), (matched.by_postcode, "postcode")):
        chosen = ids if only is None else [i for i in ids if i in only]
        for first in range(0, len(chosen), BATCH):
            chunk = chosen[first : first + BATCH]
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


async def match_alert(
    conn: Queryable, alert: asyncpg.Record, postcode_areas: PostcodeAreas | None
) -> Matched:
    return await match(
        conn,
        tenant_id=alert["tenant_id"],
        geometries=geometries_of(alert),
        life_safety=alert["severity"] == "life_safety",
        topics=alert["topics"],
        exercise=alert["exercise"],
        postcode_areas=postcode_areas,
    )


def priority_of(alert: asyncpg.Record) -> int:
    return outbox.LIFE_SAFETY if alert["severity"] == "life_safety" else outbox.INFORMATION


async def enqueue_alert(
    pool: asyncpg.Pool, alert_id: int, postcode_areas: PostcodeAreas | None
) -> Enqueued:
    alert = await alert_zones(pool, alert_id)
    if not geometries_of(alert):
        raise InputError(f"alert {alert_id} has no zone")
    found = await match_alert(pool, alert, postcode_areas)
    written = await write(pool, alert_id, priority_of(alert), found)
    return Enqueued(len(found.by_address), len(found.by_postcode), written)
