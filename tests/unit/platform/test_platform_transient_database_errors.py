"""Which database failures a caller may retry (UNAVAILABLE) rather than a bug (INTERNAL)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from azotte_platform.db.engine import transient_database_error


def test_a_broken_or_refused_database_connection_is_unavailable() -> None:
    dropped = DBAPIError("SELECT 1", {}, ConnectionResetError(), connection_invalidated=True)
    refused = OperationalError("SELECT 1", {}, OSError("connection refused"))
    for error in (dropped, refused, asyncpg.ConnectionDoesNotExistError("connection was closed")):
        unavailable = transient_database_error(error)
        assert unavailable is not None and unavailable.reason == "DATABASE_UNAVAILABLE"


def test_a_deadlock_or_serialization_victim_is_told_to_retry() -> None:
    for cause in (asyncpg.DeadlockDetectedError("deadlock detected"), asyncpg.SerializationError("could not")):
        conflict = transient_database_error(DBAPIError("UPDATE", {}, cause))
        assert conflict is not None and conflict.reason == "DATABASE_CONFLICT"


def test_other_failures_are_not_mistaken_for_transient_ones() -> None:
    duplicate = IntegrityError("INSERT", {}, asyncpg.UniqueViolationError("duplicate key"))
    for error in (duplicate, ValueError("bug"), KeyError("missing")):
        assert transient_database_error(error) is None
