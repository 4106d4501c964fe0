"""Alembic migrations per service: a shared env.py body and a runner used at start-up."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from azotte_platform.db.engine import ensure_database

MIGRATION_LOCK = 7_305_001


PLATFORM_VERSIONS = Path(__file__).with_name("migrations_platform")
"""Revisions of the platform tables every service has: a branch (`platform`) in every service's history."""


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    """An Alembic configuration for one service's migrations, the platform's branch, and its database."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations", os.pathsep.join([str(migrations_dir / "versions"), str(PLATFORM_VERSIONS)])
    )
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


async def migrate(migrations_dir: Path, database_url: str) -> None:
    """Create the database if needed and bring every branch to its newest revision."""
    await ensure_database(database_url)
    await asyncio.to_thread(command.upgrade, alembic_config(migrations_dir, database_url), "heads")


def run_env() -> None:
    """The body of every service's `migrations/env.py` (online mode, async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"

    def run(connection: Connection) -> None:
        context.configure(connection=connection, transaction_per_migration=False)
        with context.begin_transaction():
            # NOTE: replicas starting together take turns; the later ones find nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    asyncio.run(run_async())
