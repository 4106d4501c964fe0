"""Async SQLAlchemy engines over asyncpg, and database creation."""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from azotte_platform.errors import DatabaseConflict, DatabaseUnavailable, Unavailable


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An engine for a service's own database.

    NOTE: no ping before each checkout (three round trips each time). A connection found dead on use
    invalidates every pooled connection opened before it, and the call answers UNAVAILABLE
    (`transient_database_error`), which callers retry.
    """
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)


# NOTE: the database rolled the whole transaction back, so running the call again is safe.
_RETRYABLE_SQLSTATES = {"40001": "serialization failure", "40P01": "deadlock"}


def transient_database_error(error: BaseException) -> Unavailable | None:
    """UNAVAILABLE when `error` is the database's and retrying the call may succeed; else None.

    The connection broke or could not be made (`DATABASE_UNAVAILABLE`), or the transaction lost a
    deadlock or serialization conflict (`DATABASE_CONFLICT`).
    """
    lost = isinstance(error, DBAPIError) and (
        error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)
    )
    if lost or isinstance(error, asyncpg.PostgresConnectionError | asyncpg.InterfaceError):
        return DatabaseUnavailable("the database connection was lost; retry")
    sqlstate = getattr(error.orig, "sqlstate", None) if isinstance(error, DBAPIError) else None
    if sqlstate in _RETRYABLE_SQLSTATES:
        conflict = _RETRYABLE_SQLSTATES[sqlstate]
        return DatabaseConflict(f"the database ended the call in a {conflict}; retry")
    return None


def asyncpg_dsn(url: str) -> str:
    """The plain `postgresql://` form of a SQLAlchemy URL, for asyncpg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_database(url: str) -> None:
    """Create the database named in `url` if it does not exist yet."""
    parsed = make_url(url)
    admin = asyncpg_dsn(parsed.set(database="postgres").render_as_string(hide_password=False))
    conn = await asyncpg.connect(admin)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", parsed.database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    except asyncpg.DuplicateDatabaseError:
        pass
    finally:
        await conn.close()
