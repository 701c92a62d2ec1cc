"""From an alert to its deliveries: who is inside its zones, written to the outbox in batches.

Each batch is committed on its own, so the dispatch loop can claim the first recipients while the
rest are still being written; the unique (alert, subscriber) key makes a second run, a retry or a
restart harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import numpy as np
from shapely.geometry import shape

from alertd import outbox
from alertd.errors import InputError, NotFoundError
from alertd.queries import queries
from alertd.subscriber_index import territory
from zones import PostcodeAreas, SubscriberIndex, ZoneError
from zones.geojson import dissolve

BATCH = 10_000


@dataclass(frozen=True, slots=True)
class Enqueued:
    by_address: int
    by_postcode: int
    written: int  # new deliveries (0 on a second run)


async def enqueue_alert(
    pool: asyncpg.Pool, alert_id: int, postcode_areas: PostcodeAreas | None
) -> Enqueued:
    alert = await pool.fetchrow(queries("zones")["alert_for_enqueue"], alert_id)
    if alert is None:
        raise NotFoundError(f"alert {alert_id} does not exist")
    geometries = list(alert["zones"]) + ([alert["zone_geometry"]] if alert["zone_geometry"] else [])
    if not geometries:
        raise InputError(f"alert {alert_id} has no zone")
    try:
        zone = dissolve([shape(g) for g in geometries])  # type: ignore[misc]
    except (ZoneError, ValueError) as exc:
        raise InputError(f"alert {alert_id}: its zone cannot be used: {exc}") from None
    life_safety = alert["severity"] == "life_safety"
    topics = [] if life_safety else list(alert["topics"])
    row = await pool.fetchrow(
        queries("zones")["alert_candidates"],
        await territory(pool, alert["tenant_id"]),
        topics,
        alert["exercise"],
    )
    assert row is not None  # noqa: S101 - an aggregate returns one row
    index = SubscriberIndex(
        np.asarray(row["ids"], dtype=np.int64),
        np.asarray(row["lon"], dtype=np.float64),
        np.asarray(row["lat"], dtype=np.float64),
        row["postcodes"],
    )
    found = index.match(zone, postcode_areas)
    language = dict(zip(row["ids"], row["languages"], strict=True))
    priority = outbox.LIFE_SAFETY if life_safety else outbox.INFORMATION
    written = 0
    for ids, how in ((found.by_address, "address"), (found.by_postcode, "postcode")):
        for first in range(0, len(ids), BATCH):
            chunk = [int(i) for i in ids[first : first + BATCH]]
            written += await outbox.enqueue(
                pool,
                alert_id,
                priority,
                subscriber_ids=chunk,
                matched_by=[how] * len(chunk),
                languages=[language[i] for i in chunk],
            )
    return Enqueued(len(found.by_address), len(found.by_postcode), written)
