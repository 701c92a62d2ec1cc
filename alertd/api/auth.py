"""Bearer tokens: the operator a request acts as, and their token's kind.

The token is the one the CLI takes in ALERTD_OPERATOR_TOKEN, resolved by the same function
(``operators.authenticate``); roles and territories are then checked by the domain functions each
handler calls, as for the CLI.
"""

from __future__ import annotations

import asyncpg
from aiohttp import web

from alertd import operators
from alertd.api.problems import ApiProblem
from alertd.operators import Operator

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="alertd"'}


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(
            401,
            "give your operator token as `Authorization: Bearer alertd_…` (`alertd operators "
            "add` shows it once; an admin can rotate it)",
            _CHALLENGE,
        )
    return token.strip()


async def operator_of(pool: asyncpg.Pool, token: str) -> Operator:
    op = await operators.authenticate(pool, token)
    if op is None:
        raise ApiProblem(401, "this operator token is unknown, rotated or disabled", _CHALLENGE)
    return op
