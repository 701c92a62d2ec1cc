"""A small world for lifecycle tests: Dunkerque and Gravelines residents, operators of each
and of the intercommunality, and the lifecycle context over them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from alertd import operators
from alertd.alerts import lifecycle
from alertd.alerts.hazard_zones import make_circle
from alertd.operators import Operator
from templates import Catalog

DUNKERQUE = (2.3431, 51.0292)
GRAVELINES = (2.1363, 51.0022)
PARAMS = {
    "commune": "Dunkerque",
    "zone": "quartier de la digue",
    "until": "nouvel ordre",
    "instructions": "Ne téléphonez pas.",
    "sender": "Mairie",
    "url": "dunkerque.fr",
}


def circle(centre: tuple[float, float], radius_m: float) -> dict[str, Any]:
    return make_circle(centre[0], centre[1], radius_m).to_geojson()


@dataclass
class World:
    ctx: lifecycle.Context
    cud: Operator  # the intercommunality's admin
    officer: Operator  # Dunkerque's duty officer
    approver: Operator  # Dunkerque's second operator
    viewer: Operator
    gravelines: Operator  # another commune's officer
    near: list[int]  # Dunkerque residents within 300 m of the centre
    ring: list[int]  # Dunkerque residents 1.5 km east of it
    far: list[int]  # Gravelines residents


async def _operator(pool: asyncpg.Pool, code: str, name: str, role: str) -> Operator:
    new = await operators.create_operator(
        pool,
        tenant_code=code,
        name=name,
        role=role,
        email=f"{name.split(maxsplit=1)[0].lower()}.{role}.{code}@example.org",
        actor="test",
    )
    found = await operators.authenticate(pool, new.token)
    assert found is not None
    return found


async def _residents(
    pool: asyncpg.Pool, code: str, first: int, n: int, lon: float, lat: float, **extra: Any
) -> list[int]:
    rows = await pool.fetch(
        "INSERT INTO subscribers (tenant_id, phone, postcode, lon, lat, status, consent_at, "
        "language, exercise) "
        "SELECT (SELECT id FROM tenants WHERE code = $1), '+3374' || lpad((i)::text, 7, '0'), "
        "(SELECT postcodes[1] FROM tenants WHERE code = $1), $4 + (i % 7) * 0.0003, "
        "$5 + (i % 5) * 0.0003, 'active', now(), "
        "CASE WHEN i % $6 = 0 THEN 'en' ELSE 'fr' END, i % $7 = 0 "
        "FROM generate_series($2::int, $2::int + $3::int - 1) i RETURNING id",
        code,
        first,
        n,
        lon,
        lat,
        extra.get("english_every", 10),
        extra.get("exercise_every", 5),
    )
    return [r["id"] for r in rows]


async def build_world(pool: asyncpg.Pool) -> World:
    ctx = lifecycle.Context(pool, Catalog(), None)
    return World(
        ctx=ctx,
        cud=await _operator(pool, "245900428", "Préfet d'astreinte", "admin"),
        officer=await _operator(pool, "59183", "Officier Dunkerque", "operator"),
        approver=await _operator(pool, "59183", "Adjoint Dunkerque", "approver"),
        viewer=await _operator(pool, "59183", "Lecteur", "viewer"),
        gravelines=await _operator(pool, "59273", "Officier Gravelines", "operator"),
        near=await _residents(pool, "59183", 1, 40, *DUNKERQUE),
        ring=await _residents(pool, "59183", 1_000, 20, DUNKERQUE[0] + 0.021, DUNKERQUE[1]),
        far=await _residents(pool, "59273", 2_000, 30, *GRAVELINES),
    )


def draft(geometry: dict[str, Any], **changes: Any) -> lifecycle.Draft:
    return lifecycle.Draft(template="submersion", params=PARAMS, geometry=geometry, **changes)
