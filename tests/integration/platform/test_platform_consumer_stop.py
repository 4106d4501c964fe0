"""A consumer stopped while it waits for events lets its service shut down at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from azotte.common.v1 import money_pb2
from azotte_platform.clock import SystemClock
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events import nats_connection
from azotte_platform.events.consumer import ConsumerSpec, EventConsumer
from azotte_platform.events.envelope import Event, ReceivedEvent
from azotte_platform.events.relay import OutboxRelay
from tests.integration.platform.bus_fixture import Bus, open_bus


@pytest.fixture
async def bus(servers) -> AsyncIterator[Bus]:
    async for opened in open_bus(servers, "stopping"):
        yield opened


async def test_an_event_arriving_after_a_consumer_stopped_does_not_hold_up_the_connection_s_drain(
    servers, bus: Bus
) -> None:
    """The stopped consumer's last pull is still open at the server, which delivers the event to it anyway."""
    consumer_client = await nats_connection.connect(servers.nats_url, name="stopping consumer")

    async def ignore(uow: UnitOfWork, event: ReceivedEvent) -> None:
        pass

    spec = ConsumerSpec(durable=bus.producer, producer=bus.producer)
    consumer = EventConsumer(
        consumer_client.jetstream(), lambda: UnitOfWork(bus.engine, "stopping", SystemClock()), spec, ignore
    )
    consuming = asyncio.create_task(consumer.run())
    await asyncio.sleep(0.3)  # the consumer waits in a fetch (a pull request open for a second)
    consuming.cancel()
    await asyncio.wait([consuming])
    async with UnitOfWork(bus.engine, bus.producer, SystemClock()) as uow:
        uow.record(Event("acme", "amount.added", money_pb2.Money(currency_code="USD", amount_minor=1)))
        await uow.commit()
    await OutboxRelay(bus.engine, bus.nats, bus.producer, database_url=bus.database_url).publish_pending()
    await asyncio.sleep(0.2)

    started = time.monotonic()
    await consumer_client.drain()

    assert consumer_client.is_closed
    assert time.monotonic() - started < 5, "the drain waited on the stopped consumer (nats-py gives up after 30 s)"
