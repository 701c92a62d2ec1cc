"""The OpenAPI document: served, valid 3.1, generated from the same table that routes and
validates."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator

from alertd.api.app import all_routes
from tests.api.conftest import Tokens, auth

Client = TestClient[Any, Any]


async def test_openapi_is_served_without_a_token_and_lists_every_route(client: Client) -> None:
    resp = await client.get("/v1/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"] == "3.1.0"
    declared = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert declared == {(r.method, "/v1" + r.path) for r in all_routes()}
    for ops in doc["paths"].values():
        for op in ops.values():
            for content in op["responses"].values():
                for media in content["content"].values():
                    Draft202012Validator.check_schema(media["schema"])


async def test_the_document_is_what_validates_requests(client: Client, tokens: Tokens) -> None:
    doc = await (await client.get("/v1/openapi.json")).json()
    schema = doc["paths"]["/v1/templates/preview"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    assert schema["additionalProperties"] is False and schema["required"] == ["name"]
    resp = await client.post("/v1/templates/preview", json={}, headers=auth(tokens.viewer))
    assert resp.status == 422
    assert "'name' is a required property" in (await resp.json())["detail"]
    sends = doc["paths"]["/v1/alerts/{id}/send"]["post"]["parameters"]
    assert {"name": "Idempotency-Key", "in": "header", "required": True}.items() <= next(
        p for p in sends if p["name"] == "Idempotency-Key"
    ).items()


async def test_templates_and_zones(client: Client, tokens: Tokens) -> None:
    names = {
        t["name"]
        for t in await (await client.get("/v1/templates", headers=auth(tokens.viewer))).json()
    }
    assert "submersion" in names
    resp = await client.post(
        "/v1/templates/preview",
        json={"name": "update", "params": {"message": "Décrue amorcée"}, "recipients": 10},
        headers=auth(tokens.viewer),
    )
    assert resp.status == 400  # the CLI's message: what is missing
    assert "missing parameter(s) commune, sender, url" in (await resp.json())["detail"]
    params = {"message": "Décrue", "commune": "Dunkerque", "sender": "Mairie", "url": "d.fr"}
    resp = await client.post(
        "/v1/templates/preview",
        json={"name": "update", "params": params, "recipients": 10},
        headers=auth(tokens.viewer),
    )
    preview = await resp.json()
    assert preview["recipients"] == 10 and "Décrue" in preview["text"]
    zone = {"name": "canal", "circle": {"lon": 2.3431, "lat": 51.0292, "radius_m": 400}}
    resp = await client.post("/v1/zones/circle", json=zone, headers=auth(tokens.viewer))
    assert resp.status == 403
    resp = await client.post("/v1/zones/circle", json=zone, headers=auth(tokens.officer))
    assert resp.status == 201
    zone_id = (await resp.json())["id"]
    shown = await (await client.get(f"/v1/zones/{zone_id}", headers=auth(tokens.viewer))).json()
    assert shown["subscribers_by_address"] == 40
    resp = await client.get(f"/v1/zones/{zone_id}", headers=auth(tokens.gravelines))
    assert resp.status == 403
    listed = await (await client.get("/v1/zones", headers=auth(tokens.gravelines))).json()
    assert listed == []  # Dunkerque's zone is not Gravelines'
    lambert = {  # a square in Lambert-93 around Dunkerque's centre, imported as is
        "type": "Polygon",
        "coordinates": [
            [
                [654000, 7105000],
                [656000, 7105000],
                [656000, 7107000],
                [654000, 7107000],
                [654000, 7105000],
            ]
        ],
    }
    resp = await client.post(
        "/v1/zones",
        json={"name": "carré", "geojson": lambert, "crs": "EPSG:2154", "kind": "flood"},
        headers=auth(tokens.officer),
    )
    assert resp.status == 201, await resp.text()
    assert 3.9 < (await resp.json())["area_km2"] < 4.1  # 2 km by 2 km, reprojected to WGS84
