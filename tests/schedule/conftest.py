"""A waste service's world: the lifecycle world, a waste agent of Dunkerque owning the topic
``dechets``, a stored waste sector around the centre whose residents chose that topic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from alertd.alerts.hazard_zones import make_circle, save_zone
from alertd.operators import Operator, authenticate, create_operator
from alertd.schedule import schedules
from alertd.schedule.rules import Rule
from tests.support.alert_world import DUNKERQUE, World, build_world

T0 = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # a Tuesday afternoon, 15:00 in Paris
WASTE_PARAMS = {
    "sector": "secteur 4",
    "date": "demain",
    "reason": "tempête",
    "sender": "CUD",
}


@dataclass
class Waste:
    world: World
    agent: Operator
    sector: int  # a stored zone of kind waste_sector
    residents: list[int]  # inside it, following dechets


async def agent_of(pool: asyncpg.Pool, topics: tuple[str, ...] = ("dechets",)) -> Operator:
    new = await create_operator(
        pool,
        tenant_code="59183",
        name="Agent collecte",
        role="information",
        email="agent.collecte@example.org",
        actor="test",
        topics=topics,
    )
    found = await authenticate(pool, new.token)
    assert found is not None
    return found


@pytest.fixture
async def waste(loaded: asyncpg.Pool) -> Waste:
    world = await build_world(loaded)
    zone = make_circle(DUNKERQUE[0], DUNKERQUE[1], 600.0)
    stored = await save_zone(
        loaded, zone, tenant="59183", kind="waste_sector", name="Secteur 4", actor="test"
    )
    await loaded.execute(
        "UPDATE subscribers SET topics = '{dechets}' WHERE id = ANY($1::bigint[])", world.near
    )
    return Waste(world, await agent_of(loaded), stored.id, world.near)


def spec(sector: int, rule: Rule, **changes: Any) -> schedules.Spec:
    values: dict[str, Any] = {
        "name": "Collecte décalée",
        "template": "waste_disrupted",
        "rule": rule,
        "params": WASTE_PARAMS,
        "zone_ids": [sector],
        "topics": ["dechets"],
        "grace_s": 3600.0,
    }
    values.update(changes)
    return schedules.Spec(**values)


def once(at: datetime) -> Rule:
    return Rule(run_at=at)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
