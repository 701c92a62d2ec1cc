"""The subscriber index the daemon keeps in memory (issue 15): loaded once, then kept up to date
from the change log (``subscriber_changes``), so that a preview or a resumed enqueue matches a
zone in milliseconds instead of reloading and rebuilding the index on every call.

It lives here, in the delivery layer, because the daemon (which resumes interrupted enqueues with
it) sits here; the API and the CLI, above, use it through ``preview``.

Memory: numpy arrays only (``zones.SubscriberIndex`` for where people are, and dense per-id
columns for tenant, language, topics as bits, exercise): about 70 bytes a subscriber.

Use::

    index = LiveIndex(pool)
    await index.load()                      # once; then keep it fresh with live_sync.follow()
    reach = await preview(index, AlertSpec(tenant_id, geometries, life_safety=True))  # or (…, pool)
    reach.recipients, reach.by_language()   # the same people as enqueue.match, exactly
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt

from alertd.delivery import live_load
from alertd.delivery.enqueue import Matched, match
from alertd.delivery.live_reach import AlertSpec, Reach, of_matched, zone_of
from alertd.delivery.targeting import postcode_areas
from alertd.logs import get_logger
from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.tenants import territory
from zones import PostcodeAreas, SubscriberIndex
from zones.geojson import Area

__all__ = ["AlertSpec", "LiveIndex", "Reach", "matcher", "preview"]  # the API's way in
log = get_logger(__name__)
RELOAD_ABOVE = 100_000  # more pending changes than this: a reload is faster than applying them
_NO_POSTCODE = -1
_BY_INDEX = (
    "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL enable_seqscan = off; "
    "SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off"
)
IdArray = npt.NDArray[np.int64]


@dataclass(slots=True)
class _Columns:
    """Per-subscriber facts in dense arrays indexed by subscriber id (ids are a sequence)."""

    eligible: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(1, dtype=np.bool_))
    located: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(1, dtype=np.bool_))
    exercise: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(1, dtype=np.bool_))
    tenant: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    language: npt.NDArray[np.int16] = field(default_factory=lambda: np.zeros(1, dtype=np.int16))
    topics: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(1, dtype=np.uint64))

    def grow(self, size: int) -> None:
        if size <= len(self.eligible):
            return
        size = max(size, len(self.eligible) * 2)
        for name in ("eligible", "located", "exercise", "tenant", "language", "topics"):
            old = getattr(self, name)
            new = np.zeros(size, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)


class LiveIndex:
    """Every subscriber who can receive an alert, in memory, kept up to date from the change log.

    ``load`` reads them all (in one snapshot); ``catch_up`` applies the changes committed since,
    in order (``live_sync.follow`` calls it when NOTIFY wakes it, and every second anyway);
    ``reach`` answers from memory."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.ready = False
        # Why the index cannot hold this database (more than 63 topics): previews then come from
        # the database, and it is not loaded again in a loop.
        self.unusable: str | None = None
        self.size = 0  # subscribers who can receive an alert
        self._lock = asyncio.Lock()  # one catch-up at a time: each change applied once, in order
        self._snapshot = ""
        self._last_id = 0
        self._read_at: datetime | None = None
        self._languages: list[str] = []
        self._topics: list[str] = []
        self._cols = _Columns()
        self._spatial = SubscriberIndex()

    async def load(self) -> None:
        async with self._lock:
            await self._load()

    async def _load(self) -> None:
        try:
            async with self.pool.acquire() as conn:
                loaded = await live_load.load(conn)
        except OverflowError as exc:
            self._give_up(str(exc))
            return
        self._install(loaded)
        log.info("index.loaded", subscribers=self.size)

    def _give_up(self, why: str) -> None:
        self.ready = False
        self.unusable = why
        log.error("index.unusable", error=why, note="previews are read from the database")

    def _install(self, loaded: live_load.Loaded) -> None:
        cols = _Columns()
        ids = loaded.ids
        cols.grow(int(ids.max()) + 1 if len(ids) else 1)
        cols.eligible[ids] = True
        cols.located[ids] = ~np.isnan(loaded.lon)
        cols.exercise[ids] = loaded.exercise
        cols.tenant[ids] = loaded.tenant
        cols.language[ids] = loaded.language
        cols.topics[ids] = loaded.topics
        self._cols = cols
        self._languages = list(loaded.languages)
        self._topics = list(loaded.topic_names)
        self._spatial = SubscriberIndex.from_arrays(ids, loaded.lon, loaded.lat, loaded.postcode)
        self._snapshot, self._last_id = loaded.snapshot, loaded.last_id
        self._read_at = loaded.read_at
        self.size = len(ids)
        self.ready = True

    async def catch_up(self) -> int:
        """Apply the changes committed since the last read; how many. Reloads instead when the
        log was pruned past this index's last read, was reset (TRUNCATE), or holds too many."""
        async with self._lock:
            if self.unusable is not None:
                return 0
            if not self.ready:
                await self._load()
                return 0
            async with (
                self.pool.acquire() as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                # Both reads go by index: the log's statistics (a million rows just imported,
                # not analyzed yet) can make the planner read it all, 150 ms per catch-up.
                await conn.execute(_BY_INDEX)
                now = await conn.fetchrow(queries("live_index")["snapshot_now"])
                assert now is not None  # noqa: S101 - one row
                stale = self._read_at is None or now["pruned_until"] > self._read_at
                rows = (
                    []
                    if stale
                    else await conn.fetch(
                        queries("live_index")["changes_since"],
                        self._snapshot,
                        self._last_id,
                        RELOAD_ABOVE + 1,
                    )
                )
            if stale or len(rows) > RELOAD_ABOVE or any(r["kind"] == "reset" for r in rows):
                await self._load()
                return len(rows)
            try:
                self.apply(rows)
            except OverflowError as exc:
                self._give_up(str(exc))
                return len(rows)
            self._snapshot, self._read_at = now["snapshot"], now["read_at"]
            self._last_id = max(self._last_id, now["last_id"])
            return len(rows)

    def apply(self, changes: Iterable[Mapping[str, Any] | asyncpg.Record]) -> None:
        """Apply change-log rows, in the order given (the log's)."""
        for row in changes:
            subscriber = int(row["subscriber_id"])
            if row["kind"] == "delete" or not (
                row["status"] == "active" and row["phone_kind"] != "landline"
            ):
                self._remove(subscriber)
            else:
                self._upsert(subscriber, row)

    def _remove(self, subscriber: int) -> None:
        if subscriber < len(self._cols.eligible) and self._cols.eligible[subscriber]:
            self._cols.eligible[subscriber] = False
            self._spatial.remove(subscriber)
            self.size -= 1

    def _upsert(self, subscriber: int, row: Mapping[str, Any] | asyncpg.Record) -> None:
        cols = self._cols
        cols.grow(subscriber + 1)
        if not cols.eligible[subscriber]:
            self.size += 1
        cols.eligible[subscriber] = True
        cols.located[subscriber] = row["lon"] is not None
        cols.exercise[subscriber] = bool(row["exercise"])
        cols.tenant[subscriber] = row["tenant_id"]
        cols.language[subscriber] = _position(self._languages, row["language"])
        cols.topics[subscriber] = self._mask(row["topics"] or (), grow=True)
        self._spatial.upsert(subscriber, row["lon"], row["lat"], row["postcode"])

    def _mask(self, topics: Iterable[str], *, grow: bool = False) -> np.uint64:
        bits = 0
        for topic in topics:
            if topic not in self._topics:
                if not grow:
                    continue  # nobody chose it
                if len(self._topics) >= 63:
                    raise OverflowError("more than 63 distinct topics")
                self._topics.append(topic)
            bits |= 1 << self._topics.index(topic)
        return np.uint64(bits)

    def reach(
        self,
        zone: Area,
        *,
        tenants: Sequence[int],
        areas: PostcodeAreas | None,
        life_safety: bool,
        topics: Sequence[str],
        exercise: bool,
    ) -> Reach:
        """Who is inside ``zone``, among the candidates (as enqueue.match decides them)."""
        found = self._spatial.match(zone, areas)
        wanted = np.asarray(sorted(tenants), dtype=np.int64)
        mask = self._mask(topics)

        def keep(ids: IdArray) -> IdArray:
            return ids[self._candidates(ids, wanted, mask, life_safety, exercise)]

        by_address, by_postcode = keep(found.by_address), keep(found.by_postcode)
        reached = np.concatenate([by_address, by_postcode])
        names = ("fr", *self._languages)  # position 0: none (never: language is required)
        unplaced = 0
        if areas is None:
            everyone = np.flatnonzero(self._cols.eligible & ~self._cols.located)
            unplaced = int(self._candidates(everyone, wanted, mask, life_safety, exercise).sum())
        return Reach(by_address, by_postcode, self._cols.language[reached], names, unplaced)

    def _candidates(
        self, ids: IdArray, tenants: IdArray, mask: np.uint64, life_safety: bool, exercise: bool
    ) -> npt.NDArray[np.bool_]:
        cols = self._cols
        ok = cols.eligible[ids] & np.isin(cols.tenant[ids], tenants)
        if not life_safety:  # information: only those who chose one of its topics
            ok &= (cols.topics[ids] & mask) != 0
        if exercise:
            ok &= cols.exercise[ids]
        return ok


def _position(names: list[str], name: str) -> int:
    """1-based position of ``name`` in ``names``, appended when new."""
    if name not in names:
        names.append(name)
    return names.index(name) + 1


async def preview(
    index: LiveIndex | None, spec: AlertSpec, pool: asyncpg.Pool | None = None
) -> Reach:
    """Who ``spec`` reaches, from the in-memory index once it has caught up with every change
    committed before the call (so a preview sees what was just imported); from the database
    (``enqueue.match``, the per-call path) while no index is ready. The same people either way.
    ``pool``: the index's unless given (required without an index). Raises InputError for an
    unusable zone."""
    zone = zone_of(spec.geometries)
    pool = pool or (index.pool if index is not None else None)
    if pool is None:
        raise ValueError("preview needs a pool when it has no index")
    if index is None or not index.ready:
        return of_matched(
            await match(
                pool,
                tenant_id=spec.tenant_id,
                geometries=spec.geometries,
                life_safety=spec.life_safety,
                topics=spec.topics,
                exercise=spec.exercise,
            )
        )
    tenants = await territory(pool, spec.tenant_id)
    areas = await postcode_areas(pool, spec.tenant_id)
    await index.catch_up()
    return index.reach(
        zone,
        tenants=tenants,
        areas=areas,
        life_safety=spec.life_safety,
        topics=spec.topics,
        exercise=spec.exercise,
    )


def matcher(index: LiveIndex) -> Callable[[Queryable, asyncpg.Record], Awaitable[Matched]]:
    """``enqueue.resume_interrupted``'s matcher, answering from ``index``."""

    async def matched(conn: Queryable, alert: asyncpg.Record) -> Matched:
        assert isinstance(conn, asyncpg.Pool)  # noqa: S101 - the daemon passes its pool
        return (await preview(index, AlertSpec.of_alert(alert), conn)).to_matched()

    return matched
