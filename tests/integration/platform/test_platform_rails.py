"""The rails end to end: outbox → relay → JetStream → a consumer in another process, exactly once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from azotte.common.v1 import money_pb2
from azotte_platform.clock import FixedClock
from azotte_platform.db.engine import create_engine, ensure_database
from azotte_platform.db.tables import create_platform_tables, outbox
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events import nats_connection
from azotte_platform.events.envelope import Event, stream_name
from azotte_platform.events.relay import OutboxRelay, take_batch
from azotte_stack.nats import EmbeddedNats
from tests.helpers import eventually

CONSUMER = Path(__file__).with_name("rails_consumer.py")
TENANT = "acme"


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[EmbeddedNats]:
    """A NATS server of this test's own, so it can be stopped and restarted."""
    server = EmbeddedNats(tmp_path / "nats")
    await server.start()
    yield server
    server.stop()


@pytest.fixture
async def producer(servers) -> AsyncIterator[tuple[AsyncEngine, str]]:
    url = servers.new_database_url("producer")
    await ensure_database(url)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(create_platform_tables)
    yield engine, url
    await engine.dispose()


class ConsumerProcess:
    """The consumer, in its own OS process."""

    def __init__(self, database_url: str, nats_url: str, durable: str):
        self.args = [sys.executable, str(CONSUMER), database_url, nats_url, durable]
        self.database_url = database_url
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, crash_on_ack: int = 0) -> None:
        self.process = subprocess.Popen([*self.args, str(crash_on_ack)])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    async def total(self) -> tuple[int, int, int]:
        """(sum of amounts, rows applied, distinct events applied) as the consumer's database has them."""
        engine = create_engine(self.database_url, pool_size=1)
        try:
            async with engine.connect() as conn:
                total = (await conn.execute(sa.text("SELECT sum FROM totals"))).scalar_one()
                rows, distinct = (
                    await conn.execute(sa.text("SELECT count(*), count(DISTINCT event_id) FROM applied"))
                ).one()
            return int(total), int(rows), int(distinct)
        except Exception:
            return -1, -1, -1
        finally:
            await engine.dispose()


async def record_amounts(engine: AsyncEngine, amounts: list[int]) -> None:
    """A business transaction in the producer: one event per amount, committed together."""
    async with UnitOfWork(engine, "rails", FixedClock(datetime(2026, 1, 1, tzinfo=UTC))) as uow:
        for amount in amounts:
            uow.record(Event(TENANT, "amount.added", money_pb2.Money(currency_code="USD", amount_minor=amount)))
        await uow.commit()


async def stream_count(js) -> int:
    return int((await js.stream_info(stream_name("rails"))).state.messages)


async def start_relay(engine: AsyncEngine, url: str, nats_url: str):
    client = await nats_connection.connect(nats_url, name="relay")
    js = client.jetstream()
    await nats_connection.ensure_service_stream(js, "rails")
    await nats_connection.ensure_dead_letter_stream(js)
    relay = OutboxRelay(engine, client, "rails", database_url=url, batch_size=50, publish_timeout=1.0)
    return client, js, relay, asyncio.create_task(relay.run())


async def test_event_reaches_consumer_in_another_process_exactly_once(servers, producer, nats_server) -> None:
    engine, url = producer
    client, js, _relay, task = await start_relay(engine, url, nats_server.url)
    consumer = ConsumerProcess(servers.new_database_url("consumer"), nats_server.url, "rails-once")
    consumer.start()
    try:
        await record_amounts(engine, [100, 20, 3])
        assert await eventually(lambda: _equals(consumer.total(), (123, 3, 3)))
        assert await stream_count(js) == 3
    finally:
        consumer.stop()
        task.cancel()
        await client.close()


async def test_events_written_while_nats_is_down_arrive_when_it_returns(servers, producer, nats_server) -> None:
    engine, url = producer
    client, _js, _relay, task = await start_relay(engine, url, nats_server.url)
    consumer = ConsumerProcess(servers.new_database_url("consumer"), nats_server.url, "rails-outage")
    consumer.start()
    try:
        await record_amounts(engine, [1])
        assert await eventually(lambda: _equals(consumer.total(), (1, 1, 1)))
        nats_server.stop()
        await record_amounts(engine, [10, 10])  # the business write succeeds with NATS down
        async with engine.connect() as conn:
            pending = (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar()
        assert pending == 2
        await nats_server.start()  # same port, same store
        assert await eventually(lambda: _equals(consumer.total(), (21, 3, 3)), within=30)
    finally:
        consumer.stop()
        task.cancel()
        await client.close()


async def test_consumer_crash_between_commit_and_ack_does_not_apply_twice(servers, producer, nats_server) -> None:
    engine, url = producer
    client, _js, _relay, task = await start_relay(engine, url, nats_server.url)
    consumer = ConsumerProcess(servers.new_database_url("consumer"), nats_server.url, "rails-crash")
    consumer.start(crash_on_ack=2)  # dies after committing the 2nd event, before acking it
    try:
        await record_amounts(engine, [1, 2, 4])
        assert consumer.process is not None
        await asyncio.to_thread(consumer.process.wait, 30)
        assert consumer.process.returncode == 17
        consumer.start()  # restarted: the 2nd event is redelivered, the inbox swallows it
        assert await eventually(lambda: _equals(consumer.total(), (7, 3, 3)), within=30)
    finally:
        consumer.stop()
        task.cancel()
        await client.close()


async def test_relay_publishing_twice_has_no_second_effect(servers, producer, nats_server) -> None:
    engine, url = producer
    client, js, relay, task = await start_relay(engine, url, nats_server.url)
    task.cancel()  # this test drives the relay itself
    consumer = ConsumerProcess(servers.new_database_url("consumer"), nats_server.url, "rails-dup")
    consumer.start()
    try:
        await record_amounts(engine, [5, 6])
        async with engine.begin() as conn:
            rows = (await conn.execute(sa.select(outbox).order_by(outbox.c.seq))).all()
        assert await relay.publish_pending() == 2
        assert await eventually(lambda: _equals(consumer.total(), (11, 2, 2)))
        # A relay that crashed after publishing, before deleting the rows, finds them again and re-sends them.
        async with engine.begin() as conn:
            await conn.execute(sa.insert(outbox), [row._asdict() for row in rows])
        assert await relay.publish_pending() == 2
        assert await stream_count(js) == 2  # JetStream dropped the duplicates by Nats-Msg-Id
        # Past the de-duplication window the stream would keep a copy; the consumer's inbox still holds.
        row = rows[0]
        headers = {
            "ce-specversion": "1.0",
            "ce-id": row.id,
            "ce-type": row.type,
            "ce-source": row.source,
            "ce-time": row.time.isoformat(),
            "ce-tenantid": row.tenant_id,
            "ce-dataschema": row.data_schema,
        }
        await js.publish(row.subject, bytes(row.data), headers=headers)
        assert await stream_count(js) == 3
        await record_amounts(engine, [100])  # a later event proves the duplicate was consumed first
        task = asyncio.create_task(relay.run())
        assert await eventually(lambda: _equals(consumer.total(), (111, 3, 3)))
    finally:
        consumer.stop()
        task.cancel()
        await client.close()


async def _equals(value, expected) -> bool:
    got = await value
    return bool(got == expected)


async def test_the_relay_takes_rows_by_key_even_when_statistics_say_the_outbox_is_small(producer) -> None:
    engine, _ = producer
    await record_amounts(engine, list(range(50)))
    async with engine.begin() as conn:
        await conn.execute(sa.text("ANALYZE outbox"))
    await record_amounts(engine, list(range(20_000)))  # a backlog the statistics do not know of yet
    async with engine.begin() as conn:
        plan = "\n".join((await conn.execute(sa.text("EXPLAIN " + _sql(conn, take_batch(500))))).scalars())
    assert "Index Cond: (seq = ANY" in plan, plan
    assert "Seq Scan" not in plan and "Join" not in plan, plan


def _sql(conn: AsyncConnection, statement: sa.ClauseElement) -> str:
    """The statement with its parameters inlined, for EXPLAIN."""
    return str(statement.compile(conn.sync_connection, compile_kwargs={"literal_binds": True}))
