"""The batches a durable consumer is handed on real NATS: the first message as it comes, with what waits behind it
up to the batch size, every message once and in stream order. (How soon a lone message is handed over:
`tests/perf/bench_consumer_delivery.py`.)"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from azotte_platform.events.consumer import fetched_batches
from azotte_platform.events.envelope import stream_name
from tests.integration.platform.bus_fixture import Bus, open_bus


@pytest.fixture
async def bus(servers):
    async for opened in open_bus(servers, "fetch"):
        yield opened


async def durable(bus: Bus) -> str:
    name = f"fetch-{uuid.uuid4().hex[:6]}"
    config = ConsumerConfig(durable_name=name, ack_policy=AckPolicy.EXPLICIT)
    await bus.js.add_consumer(stream_name(bus.producer), config)
    return name


async def publish(bus: Bus, numbers: range) -> None:
    for number in numbers:
        await bus.js.publish(f"azotte.t.{bus.producer}.counted", str(number).encode())


async def handed_over(bus: Bus, name: str, batch: int, expected: int) -> list[list[int]]:
    """The non-empty batches the consumer is handed until `expected` messages came, each acknowledged."""
    batches: list[list[int]] = []
    fetched = fetched_batches(bus.js, name, stream_name(bus.producer), batch)
    async with contextlib.aclosing(fetched) as stream:
        async for messages in stream:
            if messages:
                batches.append([int(message.data) for message in messages])
                await asyncio.gather(*(message.ack() for message in messages))
            if sum(map(len, batches)) >= expected:
                return batches
    raise AssertionError("the batches ended")


async def test_a_backlog_is_handed_over_in_full_batches_every_message_once_in_stream_order(bus: Bus) -> None:
    name = await durable(bus)
    await publish(bus, range(250))

    batches = await asyncio.wait_for(handed_over(bus, name, 100, 250), timeout=30)

    assert [number for batch in batches for number in batch] == list(range(250))
    assert [len(batch) for batch in batches] == [100, 100, 50]


async def test_messages_arriving_one_by_one_are_each_handed_over_once_in_order(bus: Bus) -> None:
    name = await durable(bus)

    async def trickle() -> None:
        for number in range(12):
            await publish(bus, range(number, number + 1))
            await asyncio.sleep(0.02 if number % 3 else 0.3)

    producing = asyncio.create_task(trickle())
    batches = await asyncio.wait_for(handed_over(bus, name, 100, 12), timeout=30)
    await producing

    assert [number for batch in batches for number in batch] == list(range(12))
