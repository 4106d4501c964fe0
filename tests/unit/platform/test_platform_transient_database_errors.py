"""Which database failures a caller may retry (UNAVAILABLE) rather than a bug (INTERNAL)."""

from __future__ import annotations

from typing import cast

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from azotte_platform.clock import SystemClock
from azotte_platform.db.engine import transient_database_error
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.errors import DatabaseUnavailable, FailedPrecondition


def test_a_broken_or_refused_database_connection_is_unavailable() -> None:
    dropped = DBAPIError("SELECT 1", {}, ConnectionResetError(), connection_invalidated=True)
    refused = OperationalError("SELECT 1", {}, OSError("connection refused"))
    for error in (dropped, refused, asyncpg.ConnectionDoesNotExistError("connection was closed")):
        unavailable = transient_database_error(error)
        assert unavailable is not None and unavailable.reason == "DATABASE_UNAVAILABLE"


def test_a_pool_with_no_connection_free_in_time_is_unavailable_not_a_crash() -> None:
    exhausted = PoolTimeout("QueuePool limit of size 10 overflow 10 reached, connection timed out, timeout 30.00")
    unavailable = transient_database_error(exhausted)
    assert unavailable is not None and unavailable.reason == "DATABASE_UNAVAILABLE"
    assert "retry" in str(unavailable)


def test_a_deadlock_or_serialization_victim_is_told_to_retry() -> None:
    for cause in (asyncpg.DeadlockDetectedError("deadlock detected"), asyncpg.SerializationError("could not")):
        conflict = transient_database_error(DBAPIError("UPDATE", {}, cause))
        assert conflict is not None and conflict.reason == "DATABASE_CONFLICT"


def test_other_failures_are_not_mistaken_for_transient_ones() -> None:
    duplicate = IntegrityError("INSERT", {}, asyncpg.UniqueViolationError("duplicate key"))
    for error in (duplicate, ValueError("bug"), KeyError("missing")):
        assert transient_database_error(error) is None


def test_a_server_shutting_down_or_starting_up_is_unavailable_however_it_is_wrapped() -> None:
    # NOTE: SQLAlchemy wraps a refused connect as a plain DBAPIError whose cause is the driver's error.
    for cause in (
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    ):
        wrapped = DBAPIError("connect", {}, Exception(str(cause)))
        wrapped.__cause__ = cause
        unavailable = transient_database_error(wrapped)
        assert unavailable is not None and unavailable.reason == "DATABASE_UNAVAILABLE"


class _RefusingEngine:
    async def connect(self) -> None:
        raise ConnectionRefusedError(111, "Connect call failed")


async def test_a_unit_of_work_that_cannot_reach_the_database_is_unavailable() -> None:
    unit = UnitOfWork(cast(AsyncEngine, _RefusingEngine()), "test", SystemClock())
    with pytest.raises(DatabaseUnavailable):
        async with unit:
            pass


class _DroppedConnection:
    def in_transaction(self) -> bool:
        return True

    async def rollback(self) -> None:
        raise DBAPIError("ROLLBACK", {}, ConnectionResetError(), connection_invalidated=True)

    async def close(self) -> None:
        return None


async def test_the_error_that_ended_a_unit_of_work_is_reported_not_the_failed_rollback() -> None:
    unit = UnitOfWork(cast(AsyncEngine, _RefusingEngine()), "test", SystemClock())
    unit._connection = cast(AsyncConnection, _DroppedConnection())
    # NOTE: leaving the block lets the refusal propagate; the rollback's own failure does not replace it.
    await unit.__aexit__(FailedPrecondition, FailedPrecondition("refused"), None)
    assert unit._connection is None
