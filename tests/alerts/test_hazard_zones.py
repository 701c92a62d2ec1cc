"""Zones in the store and on the command line, against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest
from pyproj import Transformer

from alertd.alerts import hazard_zones, territory_data
from alertd.config import METROPOLE_EXTENT, Config, ZonesConfig
from alertd.errors import ConflictError, InputError
from alertd.jsonable import jsonable_object
from alertd.subscribers import importer
from tests.support.cli import alertd

TO_L93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
SQUARE = [(2.33, 51.02), (2.36, 51.02), (2.36, 51.04), (2.33, 51.04), (2.33, 51.02)]


def square_geojson(crs: str | None = None) -> dict[str, object]:
    ring = [list(TO_L93.transform(x, y)) for x, y in SQUARE] if crs else [list(p) for p in SQUARE]
    doc: dict[str, object] = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"nom": "Digue des Alliés"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return doc


@pytest.fixture
async def residents(loaded: asyncpg.Pool, config: Config, tmp_path: Path) -> asyncpg.Pool:
    csv = tmp_path / "dk.csv"
    csv.write_text(
        "phone,postcode,lon,lat\n"
        "06 12 34 56 01,59140,2.3400,51.0300\n"  # inside the square
        "06 12 34 56 02,59140,2.3600,51.0300\n"  # on its east edge: inside
        "06 12 34 56 03,59140,2.4000,51.0300\n"  # outside
        "06 12 34 56 04,59140,,\n"  # postcode only
    )
    await importer.import_csv(loaded, csv, "59183", config.subscribers, "test")
    other = tmp_path / "gs.csv"
    other.write_text("phone,postcode\n06 12 34 56 05,59760\n")  # postcode only, Grande-Synthe
    await importer.import_csv(loaded, other, "59271", config.subscribers, "test")
    return loaded


async def test_lambert93_file_is_stored_in_wgs84_and_matches(
    residents: asyncpg.Pool, tmp_path: Path
) -> None:
    path = tmp_path / "digue.geojson"
    path.write_text(json.dumps(square_geojson("urn:ogc:def:crs:EPSG::2154")))
    zone = hazard_zones.read_zone_file(path, None, ZonesConfig())
    stored = await hazard_zones.save_zone(
        residents, zone, tenant=None, kind="flood", name=None, actor="test"
    )
    assert (stored.name, stored.kind, stored.tenant) == (
        "Digue des Alliés",
        "flood",
        "245900428",
    )
    row = await residents.fetchrow("SELECT * FROM zones WHERE id = $1", stored.id)
    assert row["source_crs"] == "EPSG:2154"
    lon, lat = row["geometry"]["coordinates"][0][0]
    assert abs(lon - 2.33) < 1e-6 and abs(lat - 51.02) < 1e-6
    none = await hazard_zones.show_zone(residents, stored.id)
    assert (none.subscribers_by_postcode, none.postcode_areas) == (0, "not imported")
    await territory_data.import_demo_areas(residents, "245900428", METROPOLE_EXTENT, "t")
    shown = await hazard_zones.show_zone(residents, stored.id)
    assert shown.subscribers_by_address == 2
    assert shown.subscribers_by_postcode == 1  # 59140's synthetic area; not 59760's
    assert shown.subscribers_indexed == 5
    audit = await residents.fetchval("SELECT details FROM audit_log WHERE action = 'zone.create'")
    assert audit["crs"] == "EPSG:2154"


async def test_stopped_subscribers_are_not_matched(residents: asyncpg.Pool) -> None:
    stored = await hazard_zones.save_zone(
        residents,
        hazard_zones.make_circle(2.34, 51.03, 500),
        tenant="59183",
        kind="industrial",
        name="c",
        actor="test",
    )
    await residents.execute(
        "UPDATE subscribers SET status = 'stopped' WHERE phone = '+33612345601'"
    )
    shown = await hazard_zones.show_zone(residents, stored.id)
    assert shown.subscribers_by_address == 0


async def test_zone_json_keys_stay_those_the_readme_shows(residents: asyncpg.Pool) -> None:
    stored = await hazard_zones.save_zone(
        residents,
        hazard_zones.make_circle(2.34, 51.03, 500),
        tenant=None,
        kind="flood",
        name="k",
        actor="test",
    )
    assert list(jsonable_object(stored)) == [
        "id",
        "name",
        "kind",
        "tenant",
        "area_km2",
        "vertices",
        "notes",
    ]
    listed = await hazard_zones.list_zones(residents, None)
    assert list(jsonable_object(listed[0])) == [
        "id",
        "tenant_code",
        "kind",
        "name",
        "source_crs",
        "created_at",
        "area_km2",
        "vertices",
    ]
    shown = await hazard_zones.show_zone(residents, stored.id)
    assert list(jsonable_object(shown)) == [
        "id",
        "name",
        "kind",
        "tenant",
        "source_crs",
        "area_km2",
        "vertices",
        "bbox",
        "subscribers_by_address",
        "subscribers_by_postcode",
        "postcode_areas",
        "subscribers_indexed",
    ]


async def test_duplicate_name_kind_and_radius_errors(residents: asyncpg.Pool) -> None:
    circle = hazard_zones.make_circle(2.34, 51.03, 2000)
    await hazard_zones.save_zone(
        residents, circle, tenant=None, kind="industrial", name="Site", actor="t"
    )
    with pytest.raises(ConflictError, match="already has a industrial zone named 'Site'"):
        await hazard_zones.save_zone(
            residents, circle, tenant=None, kind="industrial", name="Site", actor="t"
        )
    with pytest.raises(InputError, match="zone kind 'volcano'"):
        await hazard_zones.save_zone(
            residents, circle, tenant=None, kind="volcano", name="V", actor="t"
        )
    with pytest.raises(InputError, match="radius must be a positive number"):
        hazard_zones.make_circle(2.34, 51.03, -5)
    assert await residents.fetchval("SELECT count(*) FROM zones") == 1


def test_zones_cli(db_dsn: str, tmp_path: Path) -> None:
    assert alertd("tenants", "load-sample", dsn=db_dsn).returncode == 0
    good = tmp_path / "flood.geojson"
    good.write_text(json.dumps(square_geojson()))
    imported = alertd("zones", "import", str(good), "--kind", "flood", "--json", dsn=db_dsn)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["name"] == "Digue des Alliés"
    circle = alertd(
        "zones",
        "circle",
        "--lon",
        "2.2650",
        "--lat",
        "51.03",
        "--radius-m",
        "2000",
        "--name",
        "Seveso",
        dsn=db_dsn,
    )
    assert circle.returncode == 0 and "12.56" in circle.stdout
    listed = alertd("zones", "list", dsn=db_dsn)
    assert "Digue des Alliés" in listed.stdout and "Seveso" in listed.stdout
    shown = alertd("zones", "show", "2", dsn=db_dsn)
    assert "subscribers inside: 0 by address" in shown.stdout
    assert "no postcode areas imported" in shown.stdout


@pytest.mark.parametrize(
    ("content", "args", "code", "message"),
    [
        ('{"type": "Point", "coordinates": [2.3, 51]}', (), 65, "a Point is not an area"),
        ("not json", (), 65, "not valid JSON"),
        (
            json.dumps(
                {
                    "type": "Polygon",
                    "coordinates": [[[51.02, 2.33], [51.02, 2.36], [51.04, 2.36], [51.02, 2.33]]],
                }
            ),
            (),
            65,
            "latitude and longitude are swapped",
        ),
        (
            json.dumps(square_geojson()),
            ("--crs", "EPSG:99999"),
            65,
            "unknown coordinate reference system",
        ),
        (json.dumps(square_geojson()), ("--kind", "volcano"), 65, "zone kind 'volcano'"),
    ],
)
def test_zone_import_errors_are_one_line(
    db_dsn: str, tmp_path: Path, content: str, args: tuple[str, ...], code: int, message: str
) -> None:
    path = tmp_path / "zone.geojson"
    path.write_text(content)
    result = alertd("zones", "import", str(path), *args, dsn=db_dsn)
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
