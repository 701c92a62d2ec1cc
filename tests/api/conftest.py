"""The API on a real database: the sample territory, residents, operators with their tokens, and
an aiohttp test server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from alertd import operators
from alertd.api.app import create_app
from alertd.config import Config
from tests.support.alert_world import DUNKERQUE, GRAVELINES, PARAMS, _residents, circle


@dataclass
class Tokens:
    admin: str  # the intercommunality's admin
    officer: str  # Dunkerque's duty officer
    approver: str  # Dunkerque's second person
    viewer: str
    gravelines: str  # another commune's officer
    test: str  # a test token of a Dunkerque officer


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


async def _token(pool: asyncpg.Pool, code: str, name: str, role: str) -> str:
    new = await operators.create_operator(
        pool,
        tenant_code=code,
        name=name,
        role=role,
        email=f"{name.split(maxsplit=1)[0].lower()}.{role}.{code}@example.org",
        actor="test",
    )
    return new.token


async def seed(pool: asyncpg.Pool) -> Tokens:
    await _residents(pool, "59183", 1, 40, *DUNKERQUE)
    await _residents(pool, "59273", 2_000, 30, *GRAVELINES)
    tokens = Tokens(
        admin=await _token(pool, "245900428", "Préfet", "admin"),
        officer=await _token(pool, "59183", "Officier", "operator"),
        approver=await _token(pool, "59183", "Adjoint", "approver"),
        viewer=await _token(pool, "59183", "Lecteur", "viewer"),
        gravelines=await _token(pool, "59273", "Gravelines", "operator"),
        test=await _token(pool, "59183", "Stagiaire", "operator"),
    )
    await pool.execute(
        "UPDATE operators SET token_kind = 'test' WHERE token_prefix = $1",
        operators.token_prefix(tokens.test),
    )
    return tokens


@pytest.fixture
async def tokens(loaded: asyncpg.Pool) -> Tokens:
    return await seed(loaded)


@pytest.fixture
async def client(config: Config, loaded: asyncpg.Pool) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(config, loaded), host="127.0.0.1")) as c:
        yield c


def draft_body(**changes: Any) -> dict[str, Any]:
    return {
        "template": "submersion",
        "params": PARAMS,
        "circle": {"lon": DUNKERQUE[0], "lat": DUNKERQUE[1], "radius_m": 300},
        **changes,
    }


__all__ = ["circle"]
