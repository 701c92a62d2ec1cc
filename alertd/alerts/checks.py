"""What a draft must pass before it is stored, and what a send must pass before it goes out:
template parameters, topics, the zone against the tenant's extent and territory, the validity of
an alert that waits, the recipients against what was approved.

The same checks run on every path (``alert create``, updates with a new zone, approvals), so a
mistake refused in one place is refused everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from shapely.geometry import shape

from alertd.delivery.targeting import targeting
from alertd.errors import ConflictError, InputError
from alertd.store.queries import queries
from alertd.store.types import Queryable
from templates import Catalog, TemplateError
from zones import ZoneError
from zones.geojson import Extent, check_extent

# Residents sign up and say STOP between an approval and the send: a few may come and go; more
# means the zone, the areas or the territory changed, and the approver did not approve that.
TOLERANCE_SHARE = 0.01
TOLERANCE_MIN = 5


def unknown_params(catalog: Catalog, template: str, params: Mapping[str, str]) -> list[str]:
    """Parameters no language of the template uses: a typo the officer would never see."""
    try:
        used = {
            p for lang in catalog.languages(template) for p in catalog.get(template, lang).params
        }
    except TemplateError as exc:
        raise InputError(str(exc)) from None
    return sorted(set(params) - used)


def check_params(catalog: Catalog, template: str, params: Mapping[str, str]) -> None:
    unknown = unknown_params(catalog, template, params)
    if unknown:
        known = sorted(
            {p for lang in catalog.languages(template) for p in catalog.get(template, lang).params}
        )
        raise InputError(
            f"template {template!r} has no parameter {', '.join(unknown)} "
            f"(its parameters: {', '.join(known) or 'none'})"
        )


async def check_topics(
    conn: Queryable, tenant_id: int, severity: str, topics: Sequence[str]
) -> None:
    """Information alerts go only to residents who chose one of their topics: a topic the
    tenant does not offer would reach nobody, and none at all would reach nobody either."""
    offered = list(await conn.fetchval(queries("tenants")["topics_of"], tenant_id) or [])
    unknown = [t for t in topics if t not in offered]
    if unknown:
        raise InputError(
            f"unknown topic(s) {', '.join(unknown)}: this territory offers "
            f"{', '.join(offered) or 'none'} (alertd tenants topics CODE LIST changes the list)"
        )
    if severity == "information" and not topics:
        raise InputError(
            "an information alert goes only to the residents who chose its topic: give --topic "
            f"(one of {', '.join(offered) or 'none: see alertd tenants topics'})"
        )


async def check_geometry(
    conn: Queryable,
    tenant_id: int,
    geometry: Mapping[str, Any],
    *,
    default_extent: Extent,
    outside_territory: bool,
) -> None:
    """The same checks for every shape (file, circle, stored zone): inside the tenant's plausible
    extent, and touching its territory unless the officer says they mean it."""
    found = await targeting(conn, tenant_id)
    area = shape(dict(geometry))
    try:
        check_extent(area, found.extent or default_extent)  # type: ignore[arg-type]
    except ZoneError as exc:
        raise InputError(str(exc)) from None
    if found.outline is not None and not outside_territory and not area.intersects(found.outline):
        lon, lat = area.representative_point().coords[0]
        raise InputError(
            f"the zone (e.g. lon {lon:.4f}, lat {lat:.4f}) lies entirely outside the territory: "
            "check the file or the CRS; add --outside-territory if this is really meant"
        )


def check_still_valid(alert: asyncpg.Record, now: datetime) -> None:
    """An alert waiting (for approval, or to be sent) longer than its validity is out of date:
    refused, so nobody is alerted of a situation hours old."""
    validity = alert["expires_in_s"]
    if validity is None or alert["sent_at"] is not None:
        return
    if now > alert["created_at"] + timedelta(seconds=validity):
        raise ConflictError(
            f"alert {alert['id']} waited longer than its validity ({_hours(validity)}) since it "
            "was drafted: it is out of date and will not be sent; draft it again if the danger "
            "is still there"
        )


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min"


def tolerance(approved: int) -> int:
    return max(TOLERANCE_MIN, math.ceil(approved * TOLERANCE_SHARE))


def drifted(approved: int | None, now: int) -> bool:
    """Do the recipients found now differ from those approved by more than the tolerance?"""
    return approved is not None and abs(now - approved) > tolerance(approved)
