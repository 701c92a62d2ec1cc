"""Building the subscriber index (zones/index.py) from the store."""

from __future__ import annotations

import numpy as np

from alertd.store.queries import queries
from alertd.store.types import Queryable
from zones import SubscriberIndex


async def load_index(conn: Queryable, tenant_ids: list[int]) -> SubscriberIndex:
    """The active subscribers of these tenants, indexed."""
    row = await conn.fetchrow(queries("zones")["active_subscribers"], tenant_ids)
    assert row is not None  # noqa: S101 - an aggregate returns one row
    return SubscriberIndex(
        np.asarray(row["ids"], dtype=np.int64),
        np.asarray(row["lon"], dtype=np.float64),
        np.asarray(row["lat"], dtype=np.float64),
        row["postcodes"],
    )
