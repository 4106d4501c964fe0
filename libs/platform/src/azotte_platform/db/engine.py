"""Async SQLAlchemy engines over asyncpg, and database creation."""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
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
# Connection exceptions (class 08) and the server shutting down, crashing or starting up (57P01-57P03).
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "57P01", "57P02", "57P03")


def transient_database_error(error: BaseException) -> Unavailable | None:
    """UNAVAILABLE when `error` is the database's and retrying the call may succeed; else None.

    The connection broke or could not be made, the server is shutting down or starting up, or every
    pooled connection stayed busy past the pool's timeout under load (`DATABASE_UNAVAILABLE`), or the
    transaction lost a deadlock or serialization conflict (`DATABASE_CONFLICT`). The whole chain of causes
    is examined: SQLAlchemy wraps the driver's error.
    """
    if any(isinstance(cause, PoolTimeout) for cause in _causes(error)):
        return DatabaseUnavailable("no database connection was free in time; retry")
    if not _from_database(error):
        return None
    for cause in _causes(error):
        if _connection_lost(cause):
            return DatabaseUnavailable("the database connection was lost; retry")
        conflict = _RETRYABLE_SQLSTATES.get(str(getattr(cause, "sqlstate", "")))
        if conflict:
            return DatabaseConflict(f"the database ended the call in a {conflict}; retry")
    return None


def _from_database(error: BaseException) -> bool:
    return any(
        isinstance(cause, DBAPIError | asyncpg.PostgresError | asyncpg.InterfaceError) for cause in _causes(error)
    )


def _causes(error: BaseException) -> list[BaseException]:
    """`error` and what caused it, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (current.orig if isinstance(current, DBAPIError) else None)
    return chain


def _connection_lost(cause: BaseException) -> bool:
    if isinstance(cause, DBAPIError) and (
        cause.connection_invalidated or isinstance(cause, OperationalError | InterfaceError)
    ):
        return True
    if isinstance(cause, asyncpg.PostgresConnectionError | asyncpg.InterfaceError | OSError):
        return True
    return str(getattr(cause, "sqlstate", "") or "").startswith(_UNAVAILABLE_SQLSTATE_PREFIXES)


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
    except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
        pass  # NOTE: replicas starting together race to create it; a concurrent CREATE fails on the catalog's key
    finally:
        await conn.close()
