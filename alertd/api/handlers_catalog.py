"""/v1/zones and /v1/templates: the hazard zones and message templates, as ``alertd zones`` and
``alertd templates``, within the operator's territory."""

from __future__ import annotations

from alertd.alerts import hazard_zones
from alertd.alerts.access import check_tenant, require, scope
from alertd.alerts.texts import TemplateLine, TemplatePreview, describe, template_lines
from alertd.api.routes import Call, Reply, Route, Schema, integer, number, obj, string_map, text
from alertd.api.shapes import dataclass_schema, list_schema
from alertd.api.zone_input import CIRCLE, zone_of
from alertd.errors import InputError
from alertd.operators import Operator
from templates import TemplateError

ZONE: Schema = obj(
    ["name", "geojson"],
    name=text(200, 1),
    geojson={"type": "object", "description": "a Feature, FeatureCollection or geometry"},
    crs=text(50),
    kind={"enum": list(hazard_zones.KINDS)},
    tenant=text(20, 1),
    buffer_m=number(0, 50_000),
    outside_territory={"type": "boolean"},
)
CIRCLE_ZONE: Schema = obj(
    ["name", "circle"],
    name=text(200, 1),
    circle=CIRCLE,
    kind={"enum": list(hazard_zones.KINDS)},
    tenant=text(20, 1),
    outside_territory={"type": "boolean"},
)
TEMPLATE_PREVIEW: Schema = obj(
    ["name"], name=text(100, 1), lang=text(10, 1), params=string_map(), recipients=integer(1, 10**7)
)


async def _check_tenant(call: Call, op: Operator, code: str, doing: str) -> None:
    await check_tenant(call.env.pool, op, code, doing)


async def _save(call: Call, extra: dict[str, object]) -> Reply:
    require(call.op, "operator", "storing a zone")
    b = call.body
    tenant = b.get("tenant") or call.op.tenant_code
    await _check_tenant(call, call.op, tenant, "store a zone")
    zone = zone_of(b, call.env.config)
    if zone is None:  # the schema requires one; kept for the type checker
        raise InputError("give the zone: geojson or circle")
    if b.get("buffer_m"):
        zone = hazard_zones.grow(zone, b["buffer_m"])
    stored = await hazard_zones.save_zone(
        call.env.pool,
        zone,
        tenant=tenant,
        kind=b.get("kind", "custom"),
        name=b["name"],
        actor=call.actor,
        extra=extra,
        outside_territory=b.get("outside_territory", False),
    )
    return Reply(stored, 201)


async def import_zone(call: Call) -> Reply:
    return await _save(call, {"source": "api"})


async def circle_zone(call: Call) -> Reply:
    c = call.body["circle"]
    return await _save(call, {"centre": [c["lon"], c["lat"]], "radius_m": c["radius_m"]})


async def list_zones(call: Call) -> Reply:
    tenant = call.query.get("tenant")
    if tenant is not None:
        await _check_tenant(call, call.op, tenant, "read the zones")
    rows = await hazard_zones.list_zones(call.env.pool, tenant)
    mine = {
        r["code"]
        for r in await call.env.pool.fetch(
            "SELECT code FROM tenants WHERE id = ANY($1::bigint[])",
            await scope(call.env.pool, call.op),
        )
    }
    return Reply([r for r in rows if r.tenant_code in mine])


async def show_zone(call: Call) -> Reply:
    info = await hazard_zones.show_zone(call.env.pool, call.path["id"])
    await _check_tenant(call, call.op, info.tenant, "read the zones")
    return Reply(info)


async def delete_zone(call: Call) -> Reply:
    require(call.op, "operator", "deleting a zone")
    code = await hazard_zones.zone_tenant(call.env.pool, call.path["id"])
    await _check_tenant(call, call.op, code, "delete the zones")
    await hazard_zones.delete_zone(call.env.pool, call.path["id"], call.actor)
    return Reply({"deleted": call.path["id"]})


async def list_templates(call: Call) -> Reply:
    return Reply(template_lines(call.env.ctx.catalog))


async def preview_template(call: Call) -> Reply:
    b = call.body
    lang = b.get("lang", "fr")
    try:
        rendered = call.env.ctx.catalog.get(b["name"], lang).render(b.get("params", {}))
    except TemplateError as exc:
        raise InputError(str(exc)) from None
    return Reply(describe(rendered, b.get("recipients", 1), call.env.ctx.prices))


ROUTES = [
    Route(
        "GET",
        "/zones",
        list_zones,
        "the zones of your territory",
        "zones",
        list_schema(hazard_zones.ZoneLine),
        query={"tenant": text(20, 1)},
    ),
    Route(
        "POST",
        "/zones",
        import_zone,
        "import a zone from GeoJSON, in any CRS",
        "zones",
        dataclass_schema(hazard_zones.StoredZone),
        201,
        ZONE,
    ),
    Route(
        "POST",
        "/zones/circle",
        circle_zone,
        "a disc around a site, radius in metres",
        "zones",
        dataclass_schema(hazard_zones.StoredZone),
        201,
        CIRCLE_ZONE,
    ),
    Route(
        "GET",
        "/zones/{id}",
        show_zone,
        "a zone's area, shape and the residents inside",
        "zones",
        dataclass_schema(hazard_zones.ZoneInfo),
    ),
    Route(
        "DELETE",
        "/zones/{id}",
        delete_zone,
        "delete a zone no alert used",
        "zones",
        {"type": "object", "required": ["deleted"]},
    ),
    Route(
        "GET",
        "/templates",
        list_templates,
        "the templates, their languages and parameters",
        "templates",
        list_schema(TemplateLine),
    ),
    Route(
        "POST",
        "/templates/preview",
        preview_template,
        "a rendered text: encoding, segments, transliteration, cost",
        "templates",
        dataclass_schema(TemplatePreview),
        body=TEMPLATE_PREVIEW,
    ),
]
