"""A producer's database (platform tables) and its stream on the real PostgreSQL and NATS, for bus tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.aio.client import Client
from nats.js.client import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_platform.db.engine import create_engine, ensure_database
from azotte_platform.db.tables import create_platform_tables
from azotte_platform.events import nats_connection
from tests.conftest import Servers


@dataclass
class Bus:
    producer: str
    database_url: str
    engine: AsyncEngine
    nats: Client
    js: JetStreamContext


async def open_bus(servers: Servers, prefix: str) -> AsyncIterator[Bus]:
    """A fresh producer: its database with the outbox, its stream and the dead-letter stream."""
    producer = f"{prefix}{uuid.uuid4().hex[:6]}"
    url = servers.new_database_url(prefix)
    await ensure_database(url)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(create_platform_tables)
    client = await nats_connection.connect(servers.nats_url, name=prefix)
    js = client.jetstream()
    await nats_connection.ensure_service_stream(js, producer)
    await nats_connection.ensure_dead_letter_stream(js)
    try:
        yield Bus(producer, url, engine, client, js)
    finally:
        await client.close()
        await engine.dispose()
