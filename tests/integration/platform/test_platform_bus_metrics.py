"""The outbox and consumer gauges report a backlog while events wait, and nothing once they are handled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from azotte.common.v1 import money_pb2
from azotte_platform.clock import FixedClock, SystemClock
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events.consumer import ConsumerSpec, EventConsumer
from azotte_platform.events.envelope import Event, ReceivedEvent
from azotte_platform.events.relay import OutboxRelay
from tests.helpers import eventually
from tests.integration.platform.bus_fixture import Bus, open_bus


@pytest.fixture
async def bus(servers) -> AsyncIterator[Bus]:
    async for opened in open_bus(servers, "lagging"):
        yield opened


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_a_stopped_relay_shows_a_backlog_that_a_running_one_drains_to_zero(bus) -> None:
    written_at = datetime.now(UTC) - timedelta(minutes=2)
    async with UnitOfWork(bus.engine, bus.producer, FixedClock(written_at)) as uow:
        uow.record(*(Event("acme", "amount.added", money_pb2.Money(amount_minor=n)) for n in range(5)))
        await uow.commit()
    relay = OutboxRelay(bus.engine, bus.nats, bus.producer, database_url=bus.database_url, measure_interval=0.05)

    pending, age = await relay.measure_backlog()

    assert pending == 5 and 120 <= age < 180
    assert gauge("azotte_outbox_pending_events", service=bus.producer) == 5
    assert gauge("azotte_outbox_oldest_event_age_seconds", service=bus.producer) == age

    running = asyncio.create_task(relay.run())
    try:

        async def drained() -> bool:
            return (
                gauge("azotte_outbox_pending_events", service=bus.producer) == 0
                and gauge("azotte_outbox_oldest_event_age_seconds", service=bus.producer) == 0
            )

        await eventually(drained, within=20)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    stream = await bus.js.stream_info(f"AZOTTE_{bus.producer.upper()}")
    assert stream.state.messages == 5


async def test_a_consumer_reports_the_events_still_behind_it_and_how_long_each_waited(bus) -> None:
    async with UnitOfWork(bus.engine, bus.producer, SystemClock()) as uow:
        uow.record(*(Event("acme", "amount.added", money_pb2.Money(amount_minor=n)) for n in range(5)))
        await uow.commit()
    assert await OutboxRelay(bus.engine, bus.nats, bus.producer, database_url=bus.database_url).publish_pending() == 5
    durable = f"{bus.producer}_lag"
    pending_seen: list[float | None] = []

    async def handle(_: UnitOfWork, event: ReceivedEvent) -> None:
        pending_seen.append(gauge("azotte_consumer_pending_events", consumer=durable))

    spec = ConsumerSpec(durable=durable, producer=bus.producer, batch=2)
    consumer = EventConsumer(bus.js, lambda: UnitOfWork(bus.engine, bus.producer, SystemClock()), spec, handle)
    running = asyncio.create_task(consumer.run())
    try:

        async def all_handled() -> bool:
            return gauge("azotte_consumer_event_age_seconds_count", consumer=durable) == 5

        await eventually(all_handled, within=20)
        assert pending_seen == [3, 3, 1, 1, 0]  # fetched two at a time: what each fetch left behind
        await asyncio.sleep(3)  # fetches that find nothing
        assert not running.done()
        async with UnitOfWork(bus.engine, bus.producer, SystemClock()) as uow:
            uow.record(Event("acme", "amount.added", money_pb2.Money(amount_minor=5)))
            await uow.commit()
        assert (
            await OutboxRelay(bus.engine, bus.nats, bus.producer, database_url=bus.database_url).publish_pending() == 1
        )

        async def one_more_handled() -> bool:
            return gauge("azotte_consumer_event_age_seconds_count", consumer=durable) == 6

        await eventually(one_more_handled, within=20)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    assert pending_seen[5:] == [0]
    assert gauge("azotte_consumer_pending_events", consumer=durable) == 0
    waited = gauge("azotte_consumer_event_age_seconds_sum", consumer=durable)
    assert waited is not None and 0 < waited < 5 * 20
