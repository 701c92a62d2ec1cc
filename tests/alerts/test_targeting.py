"""Issue 14, cases 3 and 9: targeting is the tenant's data in the database, the same wherever it
runs; a send refuses recipients that drifted from the approval; the same checks for every shape."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest
from shapely.geometry import Polygon, shape

from alertd import operators
from alertd.alerts import hazard_zones, lifecycle, territory_data
from alertd.config import METROPOLE_EXTENT, load_config
from alertd.errors import ConfigError, ConflictError, InputError
from alertd.tenants import get_tenant
from templates import Catalog
from tests.support.alert_world import DUNKERQUE, PARAMS, World, build_world, circle, draft
from tests.support.cli import alertd
from zones import ZoneError, area_km2, read_zone

NEAR_ZONE = circle(DUNKERQUE, 500)
LILLE = (3.0573, 50.6292)  # in the extent of metropolitan France, outside the CUD


@pytest.fixture
async def world(loaded: asyncpg.Pool) -> World:
    built = await build_world(loaded)
    # Ten residents of Dunkerque known by their postcode only.
    await loaded.execute(
        "INSERT INTO subscribers (tenant_id, phone, postcode, status, consent_at) "
        "SELECT (SELECT id FROM tenants WHERE code = '59183'), '+3375' || lpad(i::text, 7, '0'), "
        "'59140', 'active', now() FROM generate_series(1, 10) i"
    )
    return built


async def _import_demo_areas(pool: asyncpg.Pool) -> None:
    await territory_data.import_demo_areas(pool, "245900428", METROPOLE_EXTENT, "t")


async def test_preview_and_send_find_the_same_people_whatever_the_workstation(
    world: World,
) -> None:
    """Case 3: the areas come from the database, not from the Context (the config) in use."""
    before = await lifecycle.create(world.ctx, world.officer, draft(NEAR_ZONE), "t")
    unimported = await lifecycle.preview(world.ctx, world.officer, before)
    # Without areas, the 10 known by postcode only are not matched, and the preview says so.
    assert (unimported.recipients, unimported.postcode_only_unmatched) == (40, 10)
    await _import_demo_areas(world.ctx.pool)
    assert (await lifecycle.preview(world.ctx, world.officer, before)).postcode_only_unmatched == 0
    with_config = lifecycle.Context(
        world.ctx.pool,
        Catalog(),
        territory_data.read_areas("demo", None, METROPOLE_EXTENT),
    )
    without = lifecycle.Context(world.ctx.pool, Catalog(), None)
    alert_id = await lifecycle.create(with_config, world.officer, draft(NEAR_ZONE), "t")
    shown = await lifecycle.preview(with_config, world.officer, alert_id)
    elsewhere = await lifecycle.preview(without, world.officer, alert_id)
    assert (shown.recipients, shown.by_postcode) == (50, 10)
    assert (elsewhere.recipients, elsewhere.by_postcode) == (50, 10)
    sent = await lifecycle.send(without, world.officer, alert_id, "t")
    assert sent.recipients == 50


async def test_a_send_refuses_recipients_that_drifted_from_the_approval(world: World) -> None:
    """Case 3: approved for 50; the postcode areas are removed meanwhile: 40 now, refused until
    a new approval."""
    await _import_demo_areas(world.ctx.pool)
    await world.ctx.pool.execute("UPDATE tenants SET approval_threshold = 30 WHERE code = '59183'")
    alert_id = await lifecycle.create(world.ctx, world.officer, draft(NEAR_ZONE), "t")
    assert await lifecycle.approve(world.ctx, world.approver, alert_id, "t") is None  # for later
    await world.ctx.pool.execute("DELETE FROM tenant_postcode_areas")
    await world.ctx.pool.execute("UPDATE tenants SET targeting_version = targeting_version + 1")
    with pytest.raises(ConflictError, match="now reaches 40 people, not the 50 that were approved"):
        await lifecycle.send(world.ctx, world.officer, alert_id, "t")
    assert await world.ctx.pool.fetchval("SELECT count(*) FROM deliveries") == 0
    row = await world.ctx.pool.fetchrow("SELECT status, approved_by FROM alerts")
    assert (row["status"], row["approved_by"]) == ("draft", None)
    again = await lifecycle.send(world.ctx, world.officer, alert_id, "t")
    assert again.status == "pending_approval"  # a new approval is needed


async def test_a_few_residents_more_or_less_are_within_the_tolerance(world: World) -> None:
    await world.ctx.pool.execute("UPDATE tenants SET approval_threshold = 30 WHERE code = '59183'")
    alert_id = await lifecycle.create(world.ctx, world.officer, draft(NEAR_ZONE), "t")
    await lifecycle.approve(world.ctx, world.approver, alert_id, "t")
    await world.ctx.pool.execute(
        "UPDATE subscribers SET status = 'stopped' WHERE id = ANY($1::bigint[])", world.near[:3]
    )
    assert (await lifecycle.send(world.ctx, world.officer, alert_id, "t")).recipients == 37


async def _admin_token(world: World) -> str:
    """Administration needs an admin's token once operators exist (the world has some)."""
    return (await operators.rotate_token(world.ctx.pool, world.cud.id, "t")).token


async def test_the_territory_import_command_stores_areas_outline_and_extent(
    world: World, db_dsn: str
) -> None:
    admin = {"ALERTD_OPERATOR_TOKEN": await _admin_token(world)}
    done = alertd(
        "tenants",
        "import-territory",
        "245900428",
        "--postcode-areas",
        "demo",
        dsn=db_dsn,
        env=admin,
    )
    assert done.returncode == 0, done.stderr
    assert "17 postcode areas" in done.stdout and "plausible extent" in done.stdout
    tenant = await get_tenant(world.ctx.pool, "245900428")
    assert tenant["outline"] is not None and len(tenant["extent"]) == 4
    assert await world.ctx.pool.fetchval("SELECT count(*) FROM tenant_postcode_areas") == 17
    nothing = alertd("tenants", "import-territory", "245900428", dsn=db_dsn, env=admin)
    assert nothing.returncode == 65 and "nothing to import" in nothing.stderr


async def test_unknown_parameters_are_refused_at_create(world: World) -> None:
    """Case 9: `--param colour=red` was accepted."""
    with pytest.raises(InputError, match="no parameter colour"):
        await lifecycle.create(
            world.ctx,
            world.officer,
            lifecycle.Draft("submersion", {**PARAMS, "colour": "red"}, geometry=NEAR_ZONE),
            "t",
        )


def test_a_circle_with_latitude_and_longitude_swapped_is_refused() -> None:
    """Case 9: circles get the same extent check as every shape."""
    with pytest.raises(InputError, match="swapped"):
        hazard_zones.make_circle(DUNKERQUE[1], DUNKERQUE[0], 500)


async def test_a_zone_outside_the_territory_needs_the_flag(world: World) -> None:
    """Case 9: with the territory imported, a zone entirely outside it is refused."""
    await _import_demo_areas(world.ctx.pool)
    far = circle(LILLE, 1000)
    with pytest.raises(InputError, match=r"outside the territory.*--outside-territory"):
        await lifecycle.create(world.ctx, world.cud, draft(far), "t")
    with pytest.raises(InputError, match="would reach nobody"):  # past the territory check
        await lifecycle.create(world.ctx, world.cud, draft(far, outside_territory=True), "t")
    zone = hazard_zones.make_circle(*LILLE, 1000)
    with pytest.raises(InputError, match="outside the territory"):
        await hazard_zones.save_zone(
            world.ctx.pool, zone, tenant=None, kind="industrial", name="Lille", actor="t"
        )
    kept = await hazard_zones.save_zone(
        world.ctx.pool,
        zone,
        tenant=None,
        kind="industrial",
        name="Lille",
        actor="t",
        outside_territory=True,
    )
    assert kept.area_km2 > 3


async def test_another_departements_plan_is_refused_in_dunkerques_territory(
    world: World, db_dsn: str, shared_data: Path
) -> None:
    """Case 9: the real Domène PPRT (Isère) imported into Dunkerque without a word."""
    outlined = alertd(
        "tenants",
        "import-territory",
        "245900428",
        "--outline",
        str(shared_data / "cud-communes.geojson"),
        dsn=db_dsn,
        env={"ALERTD_OPERATOR_TOKEN": await _admin_token(world)},
    )
    assert outlined.returncode == 0, outlined.stderr
    refused = alertd(
        "zones", "import", str(shared_data / "pprt-domene-lambert93.geojson"), dsn=db_dsn
    )
    assert refused.returncode == 65, refused.stderr
    assert "outside the plausible extent" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert await world.ctx.pool.fetchval("SELECT count(*) FROM zones") == 0


def test_a_polygon_covering_the_world_is_refused_and_areas_are_right() -> None:
    """Case 9: the world was "area 0.0 km²"."""
    world = {
        "type": "Polygon",
        "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]],
    }
    with pytest.raises(ZoneError, match="more than any hazard zone"):
        read_zone(json.dumps(world))
    # Wound either way, with a hole: the same area (a 1 km x 1 km hole taken away).
    shell = [(2.30, 51.00), (2.33, 51.00), (2.33, 51.02), (2.30, 51.02)]
    hole = [(2.31, 51.005), (2.32, 51.005), (2.32, 51.01), (2.31, 51.01)]
    ccw = area_km2(Polygon(shell, [hole]))
    cw = area_km2(Polygon(shell[::-1], [hole[::-1]]))
    assert ccw == pytest.approx(cw) and 4.0 < ccw < 4.5
    assert area_km2(Polygon(shell)) - ccw == pytest.approx(area_km2(Polygon(hole)))


async def test_a_draft_to_nobody_is_a_clear_non_zero_exit(world: World, db_dsn: str) -> None:
    """Case 9: it exited 0."""
    token = (
        await operators.create_operator(
            world.ctx.pool,
            tenant_code="59183",
            name="Astreinte",
            role="operator",
            email="astreinte@example.org",
            actor="t",
        )
    ).token
    sea = alertd(
        "alert",
        "create",
        "--template",
        "submersion",
        *[f"--param={k}={v}" for k, v in PARAMS.items()],
        "--circle",
        "2.30,51.20,500",
        dsn=db_dsn,
        env={"ALERTD_OPERATOR_TOKEN": token},
    )
    assert sea.returncode == 65
    assert "would reach nobody" in sea.stderr and "Traceback" not in sea.stderr
    assert await world.ctx.pool.fetchval("SELECT count(*) FROM alerts") == 0


def test_a_workstations_configuration_no_longer_decides_who_is_alerted(tmp_path: Path) -> None:
    """Case 3: `zones.postcode_areas` in one workstation's file changed the recipients."""
    path = tmp_path / "alertd.toml"
    path.write_text('[zones]\npostcode_areas = "demo"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="tenants import-territory"):
        load_config({}, path)
    with pytest.raises(ConfigError, match="no longer read"):
        load_config({"ALERTD_ZONES_POSTCODE_AREAS": "demo"})


async def test_importing_areas_again_keeps_the_outline_imported(world: World) -> None:
    outline = hazard_zones.make_circle(*DUNKERQUE, 20_000).geometry
    await territory_data.import_territory(
        world.ctx.pool, "245900428", areas=None, outline=outline, actor="t"
    )
    await _import_demo_areas(world.ctx.pool)
    stored = (await get_tenant(world.ctx.pool, "245900428"))["outline"]
    assert shape(stored).equals_exact(outline, 1e-9)
    audit = await world.ctx.pool.fetchval(
        "SELECT details FROM audit_log WHERE action = 'tenant.import_territory' ORDER BY id DESC"
    )
    assert audit["outline"] == "kept" and audit["postcodes"] == 17
