"""Outbox relay throughput beside raw pipelined JetStream publishes of the same events, in the same run.

Each round commits EVENTS events to the outbox, then times, each on a fresh stream, the same messages (subject,
payload, CloudEvents headers) sent without a database, every acknowledgement awaited:
- `js.publish_async`: nats-py's pipelined publish, up to 4,000 acknowledgements in flight;
- batch publisher: the relay's own publisher, batches of the relay's size, as many in flight as the relay keeps;
then the outbox relay publishing every pending row and deleting it once acknowledged. The relay's rate is
compared with the faster raw publish.

Run: .venv/bin/python tests/perf/bench_outbox_relay.py [EVENTS] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from collections import deque

import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
import sqlalchemy as sa
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte.common.v1 import money_pb2
from azotte_platform.clock import SystemClock
from azotte_platform.db.engine import create_engine, ensure_database
from azotte_platform.db.tables import create_platform_tables, outbox
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events import nats_connection
from azotte_platform.events.envelope import Event, stream_name
from azotte_platform.events.publisher import BatchPublisher, Message, SentBatch
from azotte_platform.events.relay import OutboxRelay, event_headers
from azotte_stack.nats import EmbeddedNats
from azotte_stack.postgres import EmbeddedPostgres

BATCH_SIZE = 500  # the relay's default (AZOTTE_RELAY_BATCH_SIZE)
BATCHES_IN_FLIGHT = 3
TIMEOUT = 30.0


async def record_events(engine: AsyncEngine, events: int) -> None:
    """Commit `events` events to the outbox, 1,000 per transaction."""
    for start in range(0, events, 1000):
        async with UnitOfWork(engine, "bench", SystemClock()) as uow:
            for i in range(start, min(start + 1000, events)):
                uow.record(Event("acme", "amount.added", money_pb2.Money(currency_code="USD", amount_minor=i)))
            await uow.commit()


async def fresh_stream(js: JetStreamContext) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(stream_name("bench"))
    await nats_connection.ensure_service_stream(js, "bench")


async def stored(js: JetStreamContext) -> int:
    return int((await js.stream_info(stream_name("bench"))).state.messages)


async def pending_messages(engine: AsyncEngine) -> list[Message]:
    """The outbox's rows as the relay sends them."""
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(outbox).order_by(outbox.c.seq))).all()
    return [(row.subject, bytes(row.data), event_headers(row._mapping)) for row in rows]


async def publish_async(js: JetStreamContext, messages: list[Message]) -> float:
    """Send with `js.publish_async`, then await every acknowledgement; return events/s."""
    await fresh_stream(js)
    started = time.perf_counter()
    acks = [await js.publish_async(subject, data, headers=headers) for subject, data, headers in messages]
    await asyncio.gather(*acks)
    return len(messages) / (time.perf_counter() - started)


async def batch_publish(publisher: BatchPublisher, js: JetStreamContext, messages: list[Message]) -> float:
    """Send with the relay's publisher, `BATCHES_IN_FLIGHT` batches of `BATCH_SIZE` at a time; return events/s."""
    await fresh_stream(js)
    started = time.perf_counter()
    in_flight: deque[SentBatch] = deque()
    for start in range(0, len(messages), BATCH_SIZE):
        if len(in_flight) == BATCHES_IN_FLIGHT:
            await in_flight.popleft().acknowledged(TIMEOUT)
        in_flight.append(await publisher.send(messages[start : start + BATCH_SIZE]))
    for batch in in_flight:
        await batch.acknowledged(TIMEOUT)
    return len(messages) / (time.perf_counter() - started)


async def relay_publish(relay: OutboxRelay, js: JetStreamContext) -> float:
    """Let the relay publish every pending row; return events/s."""
    await fresh_stream(js)
    started = time.perf_counter()
    published = await relay.publish_pending()
    rate = published / (time.perf_counter() - started)
    assert published == await stored(js)
    return rate


async def main(events: int, rounds: int) -> None:
    root = perf_suite.scratch_dir("bench-relay-")
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
        publisher = BatchPublisher(client)
        relay = OutboxRelay(
            engine, client, "bench", database_url=url, batch_size=BATCH_SIZE, batches_in_flight=BATCHES_IN_FLIGHT
        )
        rates: dict[str, list[float]] = {"publish_async": [], "batch publisher": [], "relay": []}
        for round_ in range(1, rounds + 1):
            await record_events(engine, events)
            messages = await pending_messages(engine)
            rates["publish_async"].append(await publish_async(js, messages))
            rates["batch publisher"].append(await batch_publish(publisher, js, messages))
            rates["relay"].append(await relay_publish(relay, js))
            print(f"round {round_}: {_line({name: [rate[-1]] for name, rate in rates.items()})}")
        print(f"median of {rounds} rounds of {events} events: {_line(rates)}")
        await client.close()
        await engine.dispose()
    finally:
        nats.stop()
        postgres.stop()


def _line(rates: dict[str, list[float]]) -> str:
    median = {name: statistics.median(values) for name, values in rates.items()}
    raw = max(median["publish_async"], median["batch publisher"])
    return (
        f"raw js.publish_async {median['publish_async']:,.0f} events/s, "
        f"raw batch publisher {median['batch publisher']:,.0f} events/s, "
        f"outbox relay {median['relay']:,.0f} events/s = {median['relay'] / raw:.0%} of the faster raw"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000, int(sys.argv[2]) if len(sys.argv) > 2 else 5))
