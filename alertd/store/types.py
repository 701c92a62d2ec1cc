"""Type aliases for what asyncpg hands out: a connection alone, or one borrowed from a pool."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy
# Anything that runs a single statement: a connection, or the pool (which borrows one).
Queryable: TypeAlias = Conn | asyncpg.Pool
