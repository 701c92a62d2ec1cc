"""Which gateway takes which delivery: tiers by priority, shares by free capacity and weight.

Gateways of the same priority form a tier. An attempt goes to a tier (the first, moving on to the
next every ``retries_per_gateway`` attempts: failover), and inside its tier the deliveries of a
batch are spread so that every gateway would finish what it holds at about the same time: each
next delivery goes to the gateway whose backlog (deliveries handed to it and not answered yet),
divided by its pace (window per round trip, capped by its rate) times its weight, is the
smallest. Four equal gateways each get a quarter; a gateway of weight 2 twice the share; a slow
one, whose backlog stays long, fewer; one whose circuit is open, none. Pure: no I/O, no clock.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from gateways.base import Gateway, Limits

SEGMENTS_PER_MESSAGE = 2  # what the alert templates allow; rates are in segments
ASSUMED_ROUND_TRIP_S = 0.25  # of one HTTP request or submit_sm, for a gateway without a rate


def pace(limits: Limits) -> float:
    """Messages a second a gateway can take: its window per assumed round trip, capped by its
    rate (in segments)."""
    by_window = limits.window / ASSUMED_ROUND_TRIP_S
    if limits.rate > 0:
        return min(by_window, limits.rate / SEGMENTS_PER_MESSAGE)
    return by_window


def tiers(
    gateways: Sequence[Gateway], priorities: Mapping[str, int] | None, avoid: str | None = None
) -> list[list[Gateway]]:
    """The usable gateways (circuit not open; not ``avoid``, the one that lost the delivery,
    unless no other is left) grouped by priority, lowest first, in the given order within a tier.
    Without ``priorities`` each gateway is a tier of its own, in the given order."""
    usable = [g for g in gateways if g.health() != "open"]
    usable = [g for g in usable if g.name != avoid] or usable
    if priorities is None:
        return [[g] for g in usable]
    grouped: dict[int, list[Gateway]] = {}
    for g in usable:
        grouped.setdefault(priorities.get(g.name, 0), []).append(g)
    return [grouped[p] for p in sorted(grouped)]


def choose_tier(
    gateways: Sequence[Gateway],
    attempts: int,
    per_gateway: int,
    avoid: str | None = None,
    priorities: Mapping[str, int] | None = None,
) -> list[Gateway]:
    """The tier for this attempt, moving on every ``per_gateway`` attempts; [] when every
    circuit is open."""
    found = tiers(gateways, priorities, avoid)
    if not found:
        return []
    return found[((attempts - 1) // per_gateway) % len(found)]


def shares(count: int, capacities: Sequence[float], backlogs: Sequence[int]) -> list[int]:
    """How many of ``count`` deliveries each gateway takes: one at a time, to the gateway that
    would be done soonest with it, (backlog + 1) / capacity."""
    taken = [0] * len(capacities)
    if len(capacities) == 1:
        taken[0] = count
        return taken
    heap = [((b + 1) / c, i) for i, (c, b) in enumerate(zip(capacities, backlogs, strict=True))]
    heapq.heapify(heap)
    for _ in range(count):
        _, i = heap[0]
        taken[i] += 1
        heapq.heapreplace(heap, ((backlogs[i] + taken[i] + 1) / capacities[i], i))
    return taken
