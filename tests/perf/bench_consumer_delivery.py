"""Benchmark: how soon a durable pull consumer is handed an event, beside nats-py's fetch of a batch, in the same run.

Events come as they do to a service between checkouts: a few tens of milliseconds apart, then a quiet second or two.
Each event's latency runs from its publication being acknowledged to the consumer holding it, for a consumer of
batches of 100:
- baseline: nats-py's `fetch(100, timeout=1.0)` in a loop (once one message came, it waits for more until the server
  ends the request);
- `fetched_batches`: what every consumer of the suite fetches with (a fetch of one, then what waits behind it).

Run: .venv/bin/python tests/perf/bench_consumer_delivery.py [GROUPS]  (default 25 groups of 3 events, ~2 minutes)
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import sys
import time
from collections.abc import AsyncGenerator

import nats
import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.client import JetStreamContext

from azotte_platform.events.consumer import fetched_batches
from azotte_stack.nats import EmbeddedNats

BATCH = 100
EVENTS_PER_GROUP = 3


async def nats_fetches(js: JetStreamContext, durable: str, stream: str) -> AsyncGenerator[list[Msg], None]:
    subscription = await js.pull_subscribe_bind(durable=durable, stream=stream)
    while True:
        try:
            yield await subscription.fetch(BATCH, timeout=1.0)
        except TimeoutError:
            yield []


async def latencies(js: JetStreamContext, stream: str, groups: int, ours: bool) -> list[float]:
    """Seconds from each event's publication to the consumer holding it."""
    durable = f"bench-{'ours' if ours else 'nats'}"
    subject = f"bench.{durable}"
    await js.add_consumer(
        stream, ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT, filter_subject=subject)
    )
    held: dict[bytes, float] = {}

    async def consume() -> None:
        batches = fetched_batches(js, durable, stream, BATCH) if ours else nats_fetches(js, durable, stream)
        async with contextlib.aclosing(batches) as fetched:
            async for messages in fetched:
                now = time.perf_counter()
                for message in messages:
                    held[message.data] = now
                    await message.ack()

    consumer = asyncio.create_task(consume())
    published: dict[bytes, float] = {}
    random.seed(7)
    for group in range(groups):
        await asyncio.sleep(random.uniform(1.2, 2.0))
        for number in range(EVENTS_PER_GROUP):
            key = f"{group}-{number}".encode()
            await js.publish(subject, key)
            published[key] = time.perf_counter()
            await asyncio.sleep(0.03)
    await asyncio.sleep(1.5)
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    return [held[key] - at for key, at in published.items() if key in held]


def figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms   max {ordered[-1] * 1000:6.1f} ms"
        f"   ({len(ordered)} events)"
    )


async def main(groups: int) -> None:
    server = EmbeddedNats(perf_suite.scratch_dir("bench-delivery-"))
    await server.start()
    try:
        client = await nats.connect(server.url)
        js = client.jetstream()
        await js.add_stream(name="BENCH", subjects=["bench.>"])
        baseline = await latencies(js, "BENCH", groups, ours=False)
        ours = await latencies(js, "BENCH", groups, ours=True)
        print(f"consumer delivery: {groups} groups of {EVENTS_PER_GROUP} events 30 ms apart, batches of {BATCH}")
        print(f"  baseline: nats-py fetch of a batch   {figures(baseline)}")
        print(f"  fetched_batches                      {figures(ours)}")
        await client.close()
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 25))
