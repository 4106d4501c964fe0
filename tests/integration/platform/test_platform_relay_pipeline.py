"""The relay keeps several batches in flight: the stream gets the outbox in order, once, and nothing is lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from nats.js.api import DeliverPolicy

from azotte.common.v1 import money_pb2
from azotte_platform.clock import SystemClock
from azotte_platform.db.tables import outbox
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events import nats_connection
from azotte_platform.events.envelope import Event, ReceivedEvent, service_subjects, stream_name
from azotte_platform.events.publisher import BatchPublisher, PublishFailed
from azotte_platform.events.relay import OutboxRelay, _Claim
from tests.integration.platform.bus_fixture import Bus, open_bus


@pytest.fixture
async def bus(servers) -> AsyncIterator[Bus]:
    async for opened in open_bus(servers, "piped"):
        yield opened


async def record(bus: Bus, amounts: range, per_transaction: int) -> None:
    for start in range(amounts.start, amounts.stop, per_transaction):
        async with UnitOfWork(bus.engine, bus.producer, SystemClock()) as uow:
            for amount in range(start, min(start + per_transaction, amounts.stop)):
                uow.record(Event("acme", "amount.added", money_pb2.Money(currency_code="USD", amount_minor=amount)))
            await uow.commit()


async def streamed_amounts(bus: Bus, count: int) -> list[int]:
    """The amounts of the first `count` events of the producer's stream, in stream order."""
    subscription = await bus.js.subscribe(
        service_subjects(bus.producer), ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    try:
        amounts = []
        for _ in range(count):
            msg = await subscription.next_msg(timeout=10)
            event = ReceivedEvent.from_headers(msg.subject, dict(msg.headers or {}), msg.data)
            amounts.append(event.payload(money_pb2.Money).amount_minor)
        return amounts
    finally:
        await subscription.unsubscribe()


async def outbox_size(bus: Bus) -> int:
    async with bus.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one())


def relay(bus: Bus) -> OutboxRelay:
    return OutboxRelay(
        bus.engine, bus.nats, bus.producer, database_url=bus.database_url, batch_size=100, batches_in_flight=3
    )


async def test_many_batches_in_flight_reach_the_stream_in_commit_order(bus: Bus) -> None:
    await record(bus, range(1_050), per_transaction=7)

    assert await relay(bus).publish_pending() == 1_050

    assert await streamed_amounts(bus, 1_050) == list(range(1_050))
    assert await outbox_size(bus) == 0


async def test_two_relays_draining_one_outbox_publish_each_event_once(servers, bus: Bus) -> None:
    await record(bus, range(2_000), per_transaction=50)
    other_client = await nats_connection.connect(servers.nats_url, name="second relay")
    try:
        other = OutboxRelay(bus.engine, other_client, bus.producer, database_url=bus.database_url, batch_size=100)

        counts = await asyncio.gather(relay(bus).publish_pending(), other.publish_pending())
    finally:
        await other_client.close()

    assert sum(counts) == 2_000
    assert sorted(await streamed_amounts(bus, 2_000)) == list(range(2_000))
    assert (await bus.js.stream_info(stream_name(bus.producer))).state.messages == 2_000


async def test_a_refused_batch_gives_back_every_batch_in_flight_and_they_go_out_in_order_later(bus: Bus) -> None:
    await record(bus, range(350), per_transaction=350)
    await bus.js.delete_stream(stream_name(bus.producer))  # nothing takes the events: every batch is refused

    with pytest.raises(PublishFailed):
        await relay(bus).publish_pending()

    assert await outbox_size(bus) == 350
    await nats_connection.ensure_service_stream(bus.js, bus.producer)
    assert await relay(bus).publish_pending() == 350
    assert await streamed_amounts(bus, 350) == list(range(350))


async def test_a_message_jetstream_refuses_fails_its_batch_with_the_reason(bus: Bus) -> None:
    publisher = BatchPublisher(bus.nats)
    subject = f"azotte.acme.{bus.producer}.amount.added"

    refused = await publisher.send([(subject, b"", {"Nats-Expected-Stream": "SOMEWHERE_ELSE"})])

    with pytest.raises(PublishFailed, match="expected stream"):
        await refused.acknowledged(timeout=10)
    stored = await publisher.send([(subject, b"", {})])
    await stored.acknowledged(timeout=10)
    assert (await bus.js.stream_info(stream_name(bus.producer))).state.messages == 1


async def test_a_relay_stopped_while_committing_stops_and_its_batch_goes_out_later(
    bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit cut short leaves its transaction unable to roll back; the relay still stops (a service can shut down)
    and the rows go out once, later."""
    await record(bus, range(100), per_transaction=100)
    committing = asyncio.Event()
    commit = _Claim.commit

    async def commit_seen(claim: _Claim) -> None:
        committing.set()
        await commit(claim)

    monkeypatch.setattr(_Claim, "commit", commit_seen)
    running = asyncio.create_task(relay(bus).run())
    await committing.wait()
    running.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(running, timeout=10)
    monkeypatch.undo()
    await relay(bus).publish_pending()
    assert await outbox_size(bus) == 0
    assert (await bus.js.stream_info(stream_name(bus.producer))).state.messages == 100
    assert await streamed_amounts(bus, 100) == list(range(100))
