"""The demo's territory: the Communauté urbaine de Dunkerque and its communes, synthetic
residents imported through the real CSV import, three hazard zones, two duty operators.

Everything is created once and found again on a second run.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from shapely.geometry import LineString

from alertd import operators, tenants
from alertd.alerts import hazard_zones, territory_data
from alertd.config import Config
from alertd.errors import ConflictError
from alertd.operators import Operator
from alertd.subscribers import importer
from alertd.tools.synthetic import synthetic_rows, write_csvs
from zones import Zone
from zones.geojson import zone_from_geometry
from zones.metric import buffer

# Illustrative shapes, drawn for the demo (not official hazard maps): the coast from
# Grand-Fort-Philippe to Bray-Dunes, the canal de Bergues out of Dunkerque, and an industrial
# site of the port.
COAST = [
    (2.105, 51.005),
    (2.13, 51.012),
    (2.20, 51.03),
    (2.26, 51.04),
    (2.33, 51.047),
    (2.37, 51.05),
    (2.45, 51.062),
    (2.49, 51.072),
    (2.545, 51.088),
]
CANAL = [(2.372, 51.028), (2.395, 51.015), (2.41, 50.995), (2.43, 50.97)]
SUBMERSION = ("submersion", "Bande littorale (démo), 1,5 km", COAST, 1_500.0)
FLOOD = ("flood", "Canal de Bergues (démo), 400 m", CANAL, 400.0)
SITE = (2.2650, 51.0300, 2000.0, "Site industriel du port (démo), 2 km")
OFFICER = ("Officier d'astreinte (démo)", "operator")
APPROVER = ("Cadre d'astreinte (démo)", "approver")


@dataclass(frozen=True, slots=True)
class DemoWorld:
    parent: tenants.TenantSpec
    communes: list[tenants.TenantSpec]
    imports: dict[str, Any]
    totals: dict[str, int]
    zones: dict[str, int]  # kind -> zone id
    officer: Operator
    approver: Operator


async def build(pool: asyncpg.Pool, config: Config, count: int, actor: str) -> DemoWorld:
    await tenants.load_territory(pool, actor)
    parent, communes = tenants.sample_territory()
    # Targeting is the tenant's data: the demo's synthetic postcode areas go into the database.
    await territory_data.import_demo_areas(pool, parent.code, config.zones.extent, actor)
    imports = await _import(pool, config, communes, count, actor)
    zones = {
        "submersion": await _zone(pool, _band(*SUBMERSION[2:]), *SUBMERSION[:2], actor),
        "flood": await _zone(pool, _band(*FLOOD[2:]), *FLOOD[:2], actor),
        "industrial": await _zone(
            pool, hazard_zones.make_circle(*SITE[:3]), "industrial", SITE[3], actor
        ),
    }
    return DemoWorld(
        parent,
        communes,
        imports,
        await _totals(pool),
        zones,
        await _operator(pool, parent.code, *OFFICER, actor),
        await _operator(pool, parent.code, *APPROVER, actor),
    )


def _band(line: list[tuple[float, float]], width_m: float) -> Zone:
    return zone_from_geometry(buffer(LineString(line), width_m))  # type: ignore[arg-type]


async def _zone(pool: asyncpg.Pool, zone: Zone, kind: str, name: str, actor: str) -> int:
    try:
        stored = await hazard_zones.save_zone(
            pool, zone, tenant=None, kind=kind, name=name, actor=actor
        )
    except ConflictError:  # a second run: the zone is there
        return int(
            await pool.fetchval("SELECT id FROM zones WHERE kind = $1 AND name = $2", kind, name)
        )
    return stored.id


async def _operator(pool: asyncpg.Pool, code: str, name: str, role: str, actor: str) -> Operator:
    found = await _find_operator(pool, code, name)
    if found is None:
        await operators.create_operator(
            pool, tenant_code=code, name=name, role=role, email=f"{role}@demo.invalid", actor=actor
        )
        found = await _find_operator(pool, code, name)
    assert found is not None  # noqa: S101 - created just above
    return found


async def _find_operator(pool: asyncpg.Pool, code: str, name: str) -> Operator | None:
    row = await pool.fetchrow(
        "SELECT o.id, o.tenant_id, o.name, o.role FROM operators o JOIN tenants t "
        "ON t.id = o.tenant_id WHERE t.code = $1 AND o.name = $2 AND o.disabled_at IS NULL",
        code,
        name,
    )
    if row is None:
        return None
    return Operator(row["id"], row["tenant_id"], code, row["name"], row["role"])


async def _import(
    pool: asyncpg.Pool, config: Config, communes: list[tenants.TenantSpec], count: int, actor: str
) -> dict[str, Any]:
    totals = {"rows": 0, "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0, "seconds": 0.0}
    with tempfile.TemporaryDirectory(prefix="alertd-demo-") as tmp:
        files = write_csvs(Path(tmp), synthetic_rows(count, communes))
        for code, path in files.items():
            report = await importer.import_csv(pool, path, code, config.subscribers, actor)
            for key in ("rows", "inserted", "updated", "unchanged"):
                totals[key] += getattr(report, key)
            totals["rejected"] += len(report.rejected)
            totals["seconds"] += report.seconds
    totals["seconds"] = round(totals["seconds"], 2)
    return totals


async def _totals(pool: asyncpg.Pool) -> dict[str, int]:
    row = await pool.fetchrow("""
        SELECT count(*) FILTER (WHERE status = 'active') AS active,
               count(*) FILTER (WHERE lon IS NOT NULL) AS with_address,
               count(*) FILTER (WHERE lon IS NULL) AS postcode_only,
               count(*) FILTER (WHERE language = 'en') AS english
        FROM subscribers""")
    assert row is not None  # noqa: S101 - an aggregate returns one row
    return {k: int(v) for k, v in row.items()}
