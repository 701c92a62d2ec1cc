"""The postcode areas (for subscribers known by their postcode only), read once from the
configured GeoJSON. Here, below the layers that match alerts, so that the daemon can finish an
interrupted enqueue."""

from __future__ import annotations

from functools import cache
from importlib import resources

from alertd.config import ZonesConfig
from alertd.errors import ConfigError
from zones import PostcodeAreas, ZoneError


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
