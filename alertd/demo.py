"""``alertd demo``: run what exists, on the embedded PostgreSQL (or DATABASE_URL), and say so.

Today that is the store: start the database, migrate, load the Communauté urbaine de Dunkerque and
its 17 communes, import synthetic residents through the real CSV import. It sends nothing, and says
plainly that sending comes with the dispatch engine. Running it twice works and changes nothing.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from alertd import subscribers, tenants, zones_store
from alertd.audit import cli_actor
from alertd.config import Config, ZonesConfig
from alertd.db import open_database, redact_url
from alertd.errors import ConflictError
from alertd.synthetic import synthetic_rows, write_csvs
from alertd.template_commands import describe
from templates import Catalog

NOT_YET = (
    "The demo does not send yet: running an alert end to end, with its all-clear, comes with the "
    "alert lifecycle (next issue). Nothing was sent to anyone."
)
# A 2 km circle around an industrial site of the port of Dunkerque (illustrative position).
DEMO_SITE = (2.2650, 51.0300, 2000.0, "Site industriel du port (démo), 2 km")


def _say(text: str, quiet: bool) -> None:
    if not quiet:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


async def run(config: Config, *, subscribers_count: int, as_json: bool) -> int:
    actor = cli_actor()
    started = time.perf_counter()
    where = (
        f"embedded PostgreSQL in {config.database.data_dir}"
        if config.embedded
        else redact_url(config.database.url or "")
    )
    _say(f"alertd demo: starting the database ({where})", as_json)
    async with open_database(config) as db:
        db_seconds = time.perf_counter() - started
        version = await db.pool.fetchval("SHOW server_version")
        migration = db.migration
        applied = [f"{m.version:04d}_{m.name}" for m in migration.applied] if migration else []
        _say(
            f"  PostgreSQL {version} ready in {db_seconds:.1f} s; schema version "
            f"{migration.current_version if migration else '?'}"
            f"{' (applied ' + ', '.join(applied) + ')' if applied else ' (up to date)'}",
            as_json,
        )

        outcome = await tenants.load_territory(db.pool, actor)
        parent, communes = tenants.sample_territory()
        _say(
            f"  territory: {parent.name} ({parent.code}) and {len(communes)} communes: "
            + ", ".join(f"{len(v)} {k}" for k, v in outcome.items() if v),
            as_json,
        )

        imports = await _import(db.pool, config, communes, subscribers_count, actor)
        _say(
            f"  subscribers: {imports['rows']} synthetic residents checked and imported in "
            f"{imports['seconds']:.1f} s ({imports['inserted']} new, {imports['updated']} updated,"
            f" {imports['unchanged']} unchanged, {imports['rejected']} rejected)",
            as_json,
        )
        totals = await _totals(db.pool)
        _say(
            f"  in the store: {totals['active']} active subscribers, {totals['with_address']} "
            f"located at an address, {totals['postcode_only']} by postcode only, "
            f"{totals['english']} in English",
            as_json,
        )
        site = await _demo_zone(db.pool, actor)
        _say(
            f"  zone {site['id']} {site['name']!r}: {site['area_km2']} km², "
            f"{site['subscribers_by_address']} subscribers inside by address, "
            f"{site['subscribers_by_postcode']} by postcode (synthetic postcode areas)",
            as_json,
        )
        text = _demo_text(site["subscribers_by_address"] + site["subscribers_by_postcode"])
        _say(
            f"  the alert they would get ({text['segments_to_send']} SMS segment(s), "
            f"{text['encoding']} as written, {text['segments']} segment(s)):",
            as_json,
        )
        _say(f"    {text['to_send']}", as_json)
    summary: dict[str, Any] = {
        "database": "embedded" if config.embedded else "external",
        "postgres": version,
        "schema_version": migration.current_version if migration else None,
        "tenants": 1 + len(communes),
        **{f"import_{k}": v for k, v in imports.items()},
        **totals,
        "zone": site,
        "alert_text": text,
        "sent": 0,
        "seconds": round(time.perf_counter() - started, 2),
        "note": NOT_YET,
    }
    if as_json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    else:
        _say(NOT_YET, False)
    return 0


async def _import(
    pool: Any, config: Config, communes: list[tenants.TenantSpec], count: int, actor: str
) -> dict[str, Any]:
    totals = {"rows": 0, "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0, "seconds": 0.0}
    with tempfile.TemporaryDirectory(prefix="alertd-demo-") as tmp:
        files = write_csvs(Path(tmp), synthetic_rows(count, communes))
        for code, path in files.items():
            report = await subscribers.import_csv(pool, path, code, config.subscribers, actor)
            for key in ("rows", "inserted", "updated", "unchanged"):
                totals[key] += getattr(report, key)
            totals["rejected"] += len(report.rejected)
            totals["seconds"] += report.seconds
    totals["seconds"] = round(totals["seconds"], 2)
    return totals


async def _demo_zone(pool: Any, actor: str) -> dict[str, Any]:
    """The demo's industrial circle (created once) and who lives inside it."""
    lon, lat, radius, name = DEMO_SITE
    try:
        stored = await zones_store.save_zone(
            pool,
            zones_store.make_circle(lon, lat, radius),
            tenant=None,
            kind="industrial",
            name=name,
            actor=actor,
            extra={"centre": [lon, lat], "radius_m": radius},
        )
        zone_id = stored.id
    except ConflictError:
        zone_id = await pool.fetchval(
            "SELECT id FROM zones WHERE kind = 'industrial' AND name = $1", name
        )
    return await zones_store.show_zone(pool, zone_id, ZonesConfig(postcode_areas="demo"))


def _demo_text(recipients: int) -> dict[str, Any]:
    """The industrial alert for the demo site, as it would be sent (nothing is sent)."""
    template = Catalog().get("industrial", "fr")
    rendered = template.render(
        {
            "commune": "Dunkerque",
            "zone": "port ouest et Petite-Synthe",
            "instructions": "Ne téléphonez pas.",
            "until": "nouvel ordre",
            "sender": "Préfecture du Nord",
            "url": "nord.gouv.fr",
        }
    )
    return describe(rendered, recipients, {})


async def _totals(pool: Any) -> dict[str, int]:
    row = await pool.fetchrow("""
        SELECT count(*) FILTER (WHERE status = 'active') AS active,
               count(*) FILTER (WHERE lon IS NOT NULL) AS with_address,
               count(*) FILTER (WHERE lon IS NULL) AS postcode_only,
               count(*) FILTER (WHERE language = 'en') AS english
        FROM subscribers""")
    return {k: int(v) for k, v in row.items()}
