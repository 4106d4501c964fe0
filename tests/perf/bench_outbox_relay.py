"""Outbox relay publish throughput: events/s from PostgreSQL outbox rows to JetStream acks.

Run: .venv/bin/python tests/perf/bench_outbox_relay.py [EVENTS]
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte.common.v1 import money_pb2
from azotte_platform.clock import SystemClock
from azotte_platform.db.engine import create_engine, ensure_database
from azotte_platform.db.tables import create_platform_tables
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events import nats_connection
from azotte_platform.events.envelope import Event, stream_name
from azotte_platform.events.relay import OutboxRelay
from azotte_stack.nats import EmbeddedNats
from azotte_stack.postgres import EmbeddedPostgres


async def record_events(engine: AsyncEngine, events: int) -> None:
    """Commit `events` events to the outbox, 1,000 per transaction."""
    for start in range(0, events, 1000):
        async with UnitOfWork(engine, "bench", SystemClock()) as uow:
            for i in range(start, min(start + 1000, events)):
                uow.record(Event("acme", "amount.added", money_pb2.Money(currency_code="USD", amount_minor=i)))
            await uow.commit()


async def main(events: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    postgres, nats = EmbeddedPostgres(root / "pg", fast=True), EmbeddedNats(root / "nats")
    await asyncio.gather(postgres.start(), nats.start())
    try:
        url = postgres.database_url("bench")
        await ensure_database(url)
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(create_platform_tables)
        client = await nats_connection.connect(nats.url, name="bench")
        js = client.jetstream()
        for batch_size in (100, 500):
            relay = OutboxRelay(engine, js, "bench", database_url=url, batch_size=batch_size)
            await record_events(engine, events)
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(stream_name("bench"))
            await nats_connection.ensure_service_stream(js, "bench")
            started = time.perf_counter()
            published = 0
            while (n := await relay.publish_batch()) > 0:
                published += n
            elapsed = time.perf_counter() - started
            stored = (await js.stream_info(stream_name("bench"))).state.messages
            print(
                f"outbox relay: batch {batch_size}: {published} events in {elapsed:.2f}s = "
                f"{published / elapsed:,.0f} events/s (stream holds {stored})"
            )
        await client.close()
        await engine.dispose()
    finally:
        nats.stop()
        postgres.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
