"""Which failures mean the database connection is gone (UNAVAILABLE, retry) rather than a bug (INTERNAL)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from azotte_platform.db.engine import lost_database


def test_a_broken_or_refused_database_connection_is_unavailable() -> None:
    dropped = DBAPIError("SELECT 1", {}, ConnectionResetError(), connection_invalidated=True)
    refused = OperationalError("SELECT 1", {}, OSError("connection refused"))
    for error in (dropped, refused, asyncpg.ConnectionDoesNotExistError("connection was closed")):
        unavailable = lost_database(error)
        assert unavailable is not None and unavailable.reason == "DATABASE_UNAVAILABLE"


def test_other_failures_are_not_mistaken_for_a_lost_database() -> None:
    duplicate = IntegrityError("INSERT", {}, Exception("duplicate key"))
    for error in (duplicate, ValueError("bug"), KeyError("missing")):
        assert lost_database(error) is None
