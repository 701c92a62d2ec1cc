"""Building the subscriber index (zones/index.py) from the store."""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np

from alertd.config import ZonesConfig
from alertd.errors import ConfigError
from alertd.store.queries import queries
from alertd.store.types import Queryable
from zones import PostcodeAreas, SubscriberIndex, ZoneError


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


def load_postcode_areas(config: ZonesConfig) -> PostcodeAreas | None:
    if config.postcode_areas is None:
        return None
    return _read_areas(config.postcode_areas, config.extent)


@cache
def _read_areas(source: str, extent: tuple[float, float, float, float]) -> PostcodeAreas:
    if source == "demo":
        text = resources.files("alertd").joinpath("data", "cud_postcodes_synthetic.geojson")
        data = text.read_bytes()
    else:
        try:
            with open(source, "rb") as fh:  # noqa: PTH123 - plain read of a configured path
                data = fh.read()
        except OSError as exc:
            raise ConfigError(
                f"config: zones.postcode_areas: cannot read {source}: {exc.strerror}"
            ) from None
    try:
        return PostcodeAreas.from_geojson(data, extent=extent)
    except ZoneError as exc:
        raise ConfigError(f"config: zones.postcode_areas ({source}): {exc}") from None
