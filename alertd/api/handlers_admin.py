"""/v1/tenants and /v1/operators: administration, as ``alertd tenants`` and ``alertd operators``,
for admins and within their territory.

On the server's shell anyone who reaches the database administers (audited as ``cli:<user>``);
over HTTP only an admin token does, and only for the tenants of its territory. A new top-level
tenant (an intercommunality) is created on the server, not over HTTP.
"""

from __future__ import annotations

from alertd import operators, tenants
from alertd.alerts.access import check_tenant, require, scope
from alertd.api.routes import Call, Reply, Route, Schema, array, integer, number, obj, text
from alertd.api.shapes import dataclass_schema, list_schema
from alertd.errors import ForbiddenError, InputError, NotFoundError
from alertd.operators import Operator
from alertd.store.queries import queries

POSTCODE: Schema = {"type": "string", "pattern": "^[0-9]{5}$"}
NEW_TENANT: Schema = obj(
    ["code", "name"],
    code=text(20, 1),
    name=text(200, 1),
    postcodes=array(POSTCODE, 100),
    approval_threshold=integer(0, 10**7),
    lon=number(-180, 180),
    lat=number(-90, 90),
    population=integer(0, 10**8),
)
TENANT_CHANGE: Schema = obj(
    name=text(200, 1),
    approval_threshold=integer(0, 10**7),
    postcodes=array(POSTCODE, 100),
    stop_words=array(text(30, 1), 30),
    timezone=text(60, 1),
)
NEW_OPERATOR: Schema = obj(
    ["name", "email", "role"],
    name=text(200, 1),
    email=text(254, 3),
    role={"enum": list(operators.ROLES)},
    tenant=text(20, 1),
    token_kind={"enum": ["live", "test"]},
    # an information agent's: the topics their service owns
    topics=array(text(40, 1), 20),
)


async def tenant_in_scope(call: Call, code: str, doing: str) -> int:
    return await check_tenant(call.env.pool, call.op, code, doing)


async def _codes_in_scope(call: Call) -> set[str]:
    ids = await scope(call.env.pool, call.op)
    rows = await call.env.pool.fetch("SELECT code FROM tenants WHERE id = ANY($1::bigint[])", ids)
    return {r["code"] for r in rows}


async def list_tenants(call: Call) -> Reply:
    require(call.op, "viewer", "listing tenants")
    mine = await _codes_in_scope(call)
    return Reply([t for t in await tenants.list_tenants(call.env.pool) if t.code in mine])


async def create_tenant(call: Call) -> Reply:
    require(call.op, "admin", "creating a tenant")
    b = call.body
    # A commune of the operator's own intercommunality: its parent is the operator's tenant.
    spec = tenants.TenantSpec(
        code=b["code"],
        kind="commune",
        name=b["name"],
        parent_code=call.op.tenant_code,
        postcodes=tuple(b.get("postcodes", ())),
        approval_threshold=b.get("approval_threshold", tenants.DEFAULT_THRESHOLD),
        lon=b.get("lon"),
        lat=b.get("lat"),
        population=b.get("population"),
    )
    parent = await tenants.get_tenant(call.env.pool, call.op.tenant_code)
    if parent["kind"] != "intercommunality":
        raise ForbiddenError(
            f"operator {call.op.name!r} is a commune's admin: communes are added by their "
            "intercommunality's admin"
        )
    return Reply(await tenants.create_tenant(call.env.pool, spec, call.actor), 201)


async def update_tenant(call: Call) -> Reply:
    require(call.op, "admin", "changing a tenant")
    assert call.code is not None  # noqa: S101 - the route has {code}
    await tenant_in_scope(call, call.code, "change the settings")
    b = call.body
    stop_words = b.get("stop_words")
    changed = await tenants.update_tenant(
        call.env.pool,
        call.code,
        call.actor,
        name=b.get("name"),
        approval_threshold=b.get("approval_threshold"),
        postcodes=tuple(sorted(set(b["postcodes"]))) if "postcodes" in b else None,
        stop_words=tenants.parse_stop_words(",".join(stop_words)) if stop_words else None,
        timezone=b.get("timezone"),
    )
    return Reply(changed)


async def list_operators(call: Call) -> Reply:
    require(call.op, "admin", "listing operators")
    mine = await _codes_in_scope(call)
    found = await operators.list_operators(call.env.pool, None)
    return Reply([o for o in found if o.tenant_code in mine])


async def create_operator(call: Call) -> Reply:
    require(call.op, "admin", "creating an operator")
    b = call.body
    code = b.get("tenant") or call.op.tenant_code
    await tenant_in_scope(call, code, "add an operator")
    new = await operators.create_operator(
        call.env.pool,
        tenant_code=code,
        name=b["name"],
        role=b["role"],
        email=b["email"],
        actor=call.actor,
        topics=b.get("topics", ()),
    )
    kind = b.get("token_kind", "live")
    if kind != "live":
        await operators.set_token_kind(call.env.pool, new.id, kind, call.actor)
    return Reply({**_shown_once(new.token), "id": new.id, "role": new.role, "tenant": code}, 201)


async def _target(call: Call) -> Operator:
    """The operator named in the path, when the caller administers their tenant."""
    require(call.op, "admin", "managing operators")
    row = await call.env.pool.fetchrow(queries("operators")["tenant_of"], call.path["id"])
    if row is None:
        raise NotFoundError(f"operator {call.path['id']} does not exist")
    await tenant_in_scope(call, row["code"], "manage the operators")
    return Operator(call.path["id"], row["tenant_id"], row["code"], row["name"], row["role"])


async def rotate_token(call: Call) -> Reply:
    target = await _target(call)
    new = await operators.rotate_token(call.env.pool, target.id, call.actor)
    return Reply({**_shown_once(new.token), "id": target.id})


async def disable_operator(call: Call) -> Reply:
    target = await _target(call)
    if target.id == call.op.id:
        raise InputError("an admin does not disable their own account: ask another admin")
    await operators.disable_operator(call.env.pool, target.id, call.actor)
    return Reply({"id": target.id, "disabled": True})


def _shown_once(token: str) -> dict[str, str]:
    return {"token": token, "note": "shown once: store it now; an admin can rotate it"}


TOKEN: Schema = {
    "type": "object",
    "required": ["id", "token"],
    "properties": {"id": {"type": "integer"}, "token": {"type": "string"}},
}
ROUTES = [
    Route(
        "GET",
        "/tenants",
        list_tenants,
        "the tenants of your territory",
        "admin",
        list_schema(tenants.TenantLine),
    ),
    Route(
        "POST",
        "/tenants",
        create_tenant,
        "add a commune to your intercommunality",
        "admin",
        dataclass_schema(tenants.Tenant),
        201,
        NEW_TENANT,
    ),
    Route(
        "POST",
        "/tenants/{code}",
        update_tenant,
        "change a tenant's settings",
        "admin",
        dataclass_schema(tenants.Tenant),
        body=TENANT_CHANGE,
    ),
    Route(
        "GET",
        "/operators",
        list_operators,
        "the operators of your territory",
        "admin",
        list_schema(operators.OperatorLine),
    ),
    Route(
        "POST",
        "/operators",
        create_operator,
        "create an operator; their token, shown once",
        "admin",
        TOKEN,
        201,
        NEW_OPERATOR,
    ),
    Route(
        "POST",
        "/operators/{id}/rotate-token",
        rotate_token,
        "a new token; the old one stops working",
        "admin",
        TOKEN,
        body=obj(),
    ),
    Route(
        "POST",
        "/operators/{id}/disable",
        disable_operator,
        "disable an operator and token",
        "admin",
        {"type": "object", "required": ["id", "disabled"]},
        body=obj(),
    ),
]
