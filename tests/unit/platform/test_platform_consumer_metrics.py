"""A consumer's pending-events gauge: zero when a fetch comes back empty, and the loop carries on."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from nats.js.client import JetStreamContext
from prometheus_client import REGISTRY

from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events.consumer import ConsumerSpec, EventConsumer


class EmptyFetches:
    """A pull subscription with nothing to deliver: the server answers a fetch with no messages, then nothing."""

    def __init__(self) -> None:
        self.fetches = 0
        self.waiting = asyncio.Event()

    async def fetch(self, batch: int, timeout: float) -> list[Any]:
        self.fetches += 1
        if self.fetches <= 2:
            return []
        self.waiting.set()
        await asyncio.Future()
        return []


class Stream:
    def __init__(self, subscription: EmptyFetches):
        self.subscription = subscription

    async def add_consumer(self, stream: str, config: Any) -> None:
        return None

    async def pull_subscribe_bind(self, durable: str, stream: str) -> EmptyFetches:
        return self.subscription


async def test_an_empty_fetch_reads_as_nothing_pending_and_the_consumer_keeps_fetching() -> None:
    subscription = EmptyFetches()
    durable = "empty_fetches"

    async def handle(uow: UnitOfWork, event: Any) -> None:
        raise AssertionError("nothing was delivered")

    consumer = EventConsumer(
        cast(JetStreamContext, Stream(subscription)),
        cast(Any, None),
        ConsumerSpec(durable=durable, producer="nobody"),
        handle,
    )
    running = asyncio.create_task(consumer.run())
    try:
        await asyncio.wait_for(subscription.waiting.wait(), timeout=5)
        assert not running.done()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert subscription.fetches == 3
    assert REGISTRY.get_sample_value("azotte_consumer_pending_events", {"consumer": durable}) == 0
