"""Who may administer from the command line (``alertd tenants …``, ``alertd operators …``).

An admin's token in ALERTD_OPERATOR_TOKEN, and only for the tenants of that admin's territory:
the same rule as over HTTP (alertd/api/handlers_admin.py), so that reaching the database is no
longer enough to create an admin. The one exception is the set-up of an empty database: while no
operator exists at all, tenants are created and the very first admin is added without a token
(audited as the system account, ``first_admin`` in the entry); that admin adds the others.
"""

from __future__ import annotations

import asyncpg

from alertd import operators
from alertd.alerts.access import check_tenant, require, scope
from alertd.audit import cli_actor
from alertd.config import Config
from alertd.errors import ForbiddenError
from alertd.operators import Operator
from alertd.store.queries import queries


async def admin(pool: asyncpg.Pool, config: Config, doing: str) -> Operator:
    """The admin at the keyboard, from their token; refused (77) otherwise."""
    if not config.operator.token:
        raise ForbiddenError(
            f"{doing} needs an admin's token: set ALERTD_OPERATOR_TOKEN to it (only the very "
            "first admin of an empty database is created without one)"
        )
    op = await operators.authenticate(pool, config.operator.token)
    if op is None:
        raise ForbiddenError(
            "the operator token in ALERTD_OPERATOR_TOKEN is unknown, rotated or disabled"
        )
    require(op, "admin", doing)
    return op


async def admin_actor(
    pool: asyncpg.Pool, config: Config, doing: str, code: str | None = None, reach: str = ""
) -> str:
    """The audit actor of an administration command on tenant ``code`` (None: none named):
    ``operator:<id>`` of an admin whose territory holds it, or the system account while the
    database is being set up (no operator yet)."""
    if not await operators.any_operator(pool):
        return cli_actor()
    op = await admin(pool, config, doing)
    if code is not None:
        await check_tenant(pool, op, code, reach or "change the settings")
    return f"operator:{op.id}"


async def operator_actor(pool: asyncpg.Pool, config: Config, operator_id: int) -> str:
    """The actor managing operator ``operator_id``: an admin of that operator's territory."""
    if not await operators.any_operator(pool):
        return cli_actor()
    op = await admin(pool, config, "managing operators")
    row = await pool.fetchrow(queries("operators")["tenant_of"], operator_id)
    if row is not None:  # a missing one is said by the command itself (66)
        await check_tenant(pool, op, row["code"], "manage the operators")
    return f"operator:{op.id}"


async def codes_administered(pool: asyncpg.Pool, config: Config, doing: str) -> set[str] | None:
    """The tenants' codes the admin at the keyboard reaches (None: the database is being set up,
    no operator yet)."""
    if not await operators.any_operator(pool):
        return None
    op = await admin(pool, config, doing)
    rows = await pool.fetch(queries("tenants")["codes_of"], await scope(pool, op))
    return {r["code"] for r in rows}
