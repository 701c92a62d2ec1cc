"""PostgreSQL out of reach, as asyncpg reports it: one definition for every task that must tell
"the database is gone for now (wait, do not acknowledge, try again)" from "this statement failed
on a live server (a constraint, a bug)"."""

from __future__ import annotations

import asyncpg

# TimeoutError and ConnectionError are OSErrors.
DATABASE_LOST: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError, ConnectionFailureError…
    asyncpg.exceptions.OperatorInterventionError,  # AdminShutdown, CannotConnectNow, CrashShutdown
    asyncpg.InterfaceError,  # "connection is closed", a pool torn under us
    # "cannot switch to state …; another operation is in progress": a connection broken in the
    # middle of a statement, met again before the pool replaced it.
    asyncpg.exceptions.InternalClientError,
)

# What a loop that only retries later (a purge, a lease renewal, the training gateway) survives:
# the database out of reach, or a statement it refused. PostgresError alone misses a connection
# broken mid-statement (InternalClientError, InterfaceError), which then ended the loop for good.
DATABASE_FAILED: tuple[type[BaseException], ...] = (asyncpg.PostgresError, *DATABASE_LOST)
