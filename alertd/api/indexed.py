"""The lifecycle's matcher answering from the daemon's in-memory subscriber index (issue 15):
a preview, a send's plan or an update's new zone over the API then takes milliseconds, not the
seconds of loading and building the index per call. While the index is not ready (loading, or
unusable) the database answers, as for the CLI: the same recipients either way."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from alertd.alerts.previews import Matcher
from alertd.delivery import enqueue, live_index
from alertd.store.types import Queryable


class _Languages(dict[int, str]):
    """Each reached resident's language, made on the first lookup only: a preview counts
    languages from the index's arrays and never looks one up; a send's write does."""

    def __init__(self, reach: live_index.Reach) -> None:
        super().__init__()
        self._reach: live_index.Reach | None = reach

    def __missing__(self, key: int) -> str:
        if self._reach is None:
            raise KeyError(key)
        self.update(self._reach.languages)
        self._reach = None
        return self[key]


class _Matched(enqueue.Matched):
    """``enqueue.Matched`` from the index: its id set made once, its languages counted by numpy
    (a preview at a million subscribers spends its time on such Python objects otherwise)."""

    __slots__ = ("_counts", "_ids")
    _counts: dict[str, int]
    _ids: set[int] | None

    def __init__(self, reach: live_index.Reach) -> None:
        super().__init__(
            reach.by_address.tolist(), reach.by_postcode.tolist(), _Languages(reach), reach.unplaced
        )
        object.__setattr__(self, "_counts", reach.by_language())  # frozen: set once, here
        object.__setattr__(self, "_ids", None)

    def ids(self) -> set[int]:
        made = self._ids
        if made is None:
            made = super().ids()
            object.__setattr__(self, "_ids", made)
        return set(made)  # a copy: the caller may change it

    def languages(self, only: Iterable[int] | None = None) -> Counter[str]:
        if only is None:
            return Counter(self._counts)
        return super().languages(only)


def index_matcher(index: live_index.LiveIndex) -> Matcher:
    async def matched(
        conn: Queryable,
        *,
        tenant_id: int,
        geometries: Sequence[Mapping[str, Any]],
        life_safety: bool,
        topics: Sequence[str],
        exercise: bool,
    ) -> enqueue.Matched:
        if not index.ready:
            return await enqueue.match(
                conn,
                tenant_id=tenant_id,
                geometries=geometries,
                life_safety=life_safety,
                topics=topics,
                exercise=exercise,
            )
        spec = live_index.AlertSpec(tenant_id, geometries, life_safety, tuple(topics), exercise)
        # The index's own pool: ``conn`` may be inside the caller's transaction, whose
        # uncommitted rows (a draft being stored) decide nobody's reach.
        return _Matched(await live_index.preview(index, spec))

    return matched
