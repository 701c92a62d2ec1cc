"""What a preview from the daemon's subscriber index is asked (``AlertSpec``) and answers
(``Reach``): plain values, numpy inside, no Python object per recipient until one is asked for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt
from shapely.geometry import shape

from alertd.delivery.enqueue import Matched
from alertd.errors import InputError
from zones import ZoneError
from zones.geojson import Area, dissolve

IdArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """What decides an alert's recipients."""

    tenant_id: int
    geometries: Sequence[Mapping[str, Any]]  # GeoJSON geometries in WGS84, merged
    life_safety: bool = True
    topics: Sequence[str] = ()  # information alerts: only those who chose one of them
    exercise: bool = False  # exercises: only the participants

    @classmethod
    def of_alert(cls, alert: Mapping[str, Any] | asyncpg.Record) -> AlertSpec:
        """From an ``alert_for_enqueue`` row."""
        zones = list(alert["zones"]) + ([alert["zone_geometry"]] if alert["zone_geometry"] else [])
        return cls(
            alert["tenant_id"],
            zones,
            alert["severity"] == "life_safety",
            tuple(alert["topics"]),
            alert["exercise"],
        )


@dataclass(frozen=True, slots=True)
class Reach:
    """Who an alert reaches: subscriber ids (sorted) by how they were found, and their languages
    as codes (one per id of by_address then by_postcode) into ``names``: no Python object per
    recipient until one is asked for."""

    by_address: IdArray
    by_postcode: IdArray
    language_codes: npt.NDArray[np.int16]
    names: tuple[str, ...]
    unplaced: int = 0  # known by postcode only, no postcode areas to place them: left out

    @property
    def recipients(self) -> int:
        return len(self.by_address) + len(self.by_postcode)

    @property
    def languages(self) -> dict[int, str]:
        """Subscriber id -> language, for those reached."""
        ids = np.concatenate([self.by_address, self.by_postcode]).tolist()
        return {i: self.names[c] for i, c in zip(ids, self.language_codes.tolist(), strict=True)}

    def by_language(self) -> dict[str, int]:
        counts = np.bincount(self.language_codes, minlength=len(self.names))
        return {self.names[c]: int(n) for c, n in enumerate(counts) if n}

    def to_matched(self) -> Matched:
        """As ``enqueue.match`` gives it, to write the deliveries."""
        return Matched(
            self.by_address.tolist(), self.by_postcode.tolist(), self.languages, self.unplaced
        )


def zone_of(geometries: Sequence[Mapping[str, Any]]) -> Area:
    if not geometries:
        raise InputError("the alert has no zone")
    try:
        return dissolve([shape(dict(g)) for g in geometries])  # type: ignore[misc]
    except (ZoneError, ValueError) as exc:
        raise InputError(f"the alert's zone cannot be used: {exc}") from None


def of_matched(found: Matched) -> Reach:
    by_address, by_postcode = sorted(found.by_address), sorted(found.by_postcode)
    names = tuple(sorted({found.language[i] for i in found.ids()}))
    codes = [names.index(found.language[i]) for i in (*by_address, *by_postcode)]
    return Reach(
        np.asarray(by_address, dtype=np.int64),
        np.asarray(by_postcode, dtype=np.int64),
        np.asarray(codes, dtype=np.int16),
        names,
        found.unplaced,
    )
