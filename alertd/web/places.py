"""What the pages look up on almost every request and what changes only when an administrator
edits the tenants: the tenants serving a postcode, the topics a tenant offers. Kept a few
seconds in the process (``TTL_S``), so an edit shows on the pages within that time and never
later; the enrolment itself checks the topics again in its transaction. A postcode not served
is looked up every time (its refusal lists the postcodes served, read then)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.subscribers import enrol as enrolment

TTL_S = 10.0
# Postcodes typed are checked (five digits) before they get here; the bound is for safety.
MAX_ENTRIES = 4096
T = TypeVar("T")


class Places:
    """The cache, per process; ``db`` is only used when an entry is missing or too old."""

    def __init__(
        self, db: Queryable, *, ttl_s: float = TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.db, self.ttl_s, self.clock = db, ttl_s, clock
        self._kept: dict[Hashable, tuple[float, Any]] = {}

    async def place(self, postcode: str, commune: str | None = None) -> enrolment.Placement:
        """As ``enrolment.place``."""
        code = enrolment.postcode_key(postcode)
        rows = await self._get(("placements", code), lambda: enrolment.placements(self.db, code))
        if not rows:
            return await enrolment.place(self.db, postcode, commune)  # raises NotServedError
        return enrolment.placed(code, rows, commune)

    async def topics(self, tenant_id: int) -> tuple[str, ...]:
        """The topics a resident may choose with this tenant (tenants.topics_of)."""

        async def read() -> tuple[str, ...]:
            found = await self.db.fetchval(queries("tenants")["topics_of"], tenant_id)
            return tuple(found or ())

        return await self._get(("topics", tenant_id), read)

    async def _get(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        now = self.clock()
        kept = self._kept.get(key)
        if kept is not None and kept[0] > now:
            value: T = kept[1]
            return value
        value = await read()
        if len(self._kept) >= MAX_ENTRIES:
            self._kept.clear()
        self._kept[key] = (now + self.ttl_s, value)
        return value
