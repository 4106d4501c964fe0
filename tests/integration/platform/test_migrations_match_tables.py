"""Each service's Alembic migrations build exactly the schema its SQLAlchemy tables describe (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import uuid
from pathlib import Path
from pprint import pformat
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from azotte_platform.db.engine import create_engine
from azotte_platform.db.migrations import alembic_config, migrate
from azotte_platform.db.tables import platform_metadata

SERVICES = ["catalog", "lifecycle", "payments", "entitlement", "gateway", "promotions", "metering"]


def migrations_dir(service: str) -> Path:
    """The service's migrations, as its composition root hands them to the runtime."""
    migrations: Path = importlib.import_module(f"azotte_{service}.entrypoints.main").MIGRATIONS
    return migrations


def code_metadata(service: str) -> sa.MetaData:
    """The platform tables every service's 0001 creates, plus the service's own tables if it has any."""
    sources = [platform_metadata]
    tables_module = f"azotte_{service}.adapters.tables"
    if importlib.util.find_spec(tables_module) is not None:
        sources.append(importlib.import_module(tables_module).metadata)
    combined = sa.MetaData()
    for source in sources:
        for table in source.tables.values():
            assert table.key not in combined.tables, f"{service}: table {table.key} defined twice"
            table.to_metadata(combined)
    return combined


def differences(connection: sa.Connection, metadata: sa.MetaData) -> list[Any]:
    # compare_server_default=True also turns on the comparison of identity columns (Alembic skips
    # identities together with server defaults when it is off); PostgreSQL evaluates both defaults
    # to compare them, which works for the now() and false defaults in use.
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    diff: list[Any] = compare_metadata(context, metadata)
    return diff


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_create_the_schema_the_tables_describe(servers, service: str) -> None:
    url = servers.new_database_url(f"schema_{service}")
    await migrate(migrations_dir(service), url)
    metadata = code_metadata(service)
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(differences, metadata)
    finally:
        await engine.dispose()
    # NOTE: Alembic does not compare check constraints or partial-index conditions; those are not covered here.
    assert diff == [], f"{service}: migrated database differs from the tables in code:\n{pformat(diff)}"


async def test_the_outbox_migration_keeps_pending_events_and_drops_published_ones(servers) -> None:
    url = servers.new_database_url("schema_outbox")
    service_migrations = migrations_dir("metering")
    await migrate(service_migrations, url)
    # NOTE: down the platform branch: the outbox as databases made before it have it, with `published_at`.
    await asyncio.to_thread(command.downgrade, alembic_config(service_migrations, url), "platform@base")
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            for event_id, published in ((uuid.uuid4(), "now()"), (pending := uuid.uuid4(), "NULL")):
                await connection.execute(
                    sa.text(
                        "INSERT INTO outbox (id, tenant_id, subject, type, source, time, data_schema, data, headers,"
                        f" published_at) VALUES (:id, 't', 's', 'x.y', 'azotte/metering', now(), '', '', '{{}}',"
                        f" {published})"
                    ),
                    {"id": str(event_id)},
                )
        await migrate(service_migrations, url)
        async with engine.connect() as connection:
            left = (await connection.execute(sa.text("SELECT id FROM outbox"))).scalars().all()
            assert await connection.run_sync(differences, code_metadata("metering")) == []
    finally:
        await engine.dispose()
    assert [str(event_id) for event_id in left] == [str(pending)]
