"""The lifecycle's matcher answering from the daemon's in-memory subscriber index (issue 15):
a preview, a send's plan or an update's new zone over the API then takes milliseconds, not the
seconds of loading and building the index per call. While the index is not ready (loading, or
unusable) the database answers, as for the CLI: the same recipients either way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alertd.alerts.previews import Matcher
from alertd.delivery import enqueue, live_index
from alertd.store.types import Queryable


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
        return (await live_index.preview(index, spec)).to_matched()

    return matched
