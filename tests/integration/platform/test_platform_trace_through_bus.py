"""A write's trace continues through the outbox, the relay's publication and NATS into the consumers of its events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from azotte.common.v1 import money_pb2
from azotte_platform.clock import SystemClock
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events.consumer import ConsumerSpec, EventConsumer
from azotte_platform.events.envelope import Event, ReceivedEvent
from azotte_platform.events.relay import OutboxRelay
from tests.helpers import eventually
from tests.integration.platform.bus_fixture import Bus, open_bus
from tests.spans import record_spans


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    return record_spans()


@pytest.fixture
async def bus(servers) -> AsyncIterator[Bus]:
    async for opened in open_bus(servers, "traced"):
        yield opened


def traceparent_of(span: ReadableSpan) -> str:
    context = span.context
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def attribute(span: ReadableSpan, key: str) -> object:
    return (span.attributes or {})[key]


def message_id(span: ReadableSpan) -> str:
    return str(attribute(span, "messaging.message.id"))


def finished(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.context.trace_id == trace_id]


async def test_consumers_handle_an_event_in_the_trace_of_the_write_that_recorded_it(
    bus: Bus, spans: InMemorySpanExporter
) -> None:
    def uow() -> UnitOfWork:
        return UnitOfWork(bus.engine, bus.producer, SystemClock())

    with trace.get_tracer("checkout").start_as_current_span("checkout") as checkout:
        async with uow() as writing:
            writing.record(
                *(
                    Event("acme", "amount.added", money_pb2.Money(currency_code="EUR", amount_minor=n))
                    for n in (1, 2, 3)
                )
            )
            await writing.commit()
    written = checkout.get_span_context()
    assert await OutboxRelay(bus.engine, bus.nats, bus.producer, database_url=bus.database_url).publish_pending() == 3

    handled: dict[str, list[tuple[ReceivedEvent, int]]] = {"one": [], "batched": []}

    def handler(durable: str) -> Callable[[UnitOfWork, ReceivedEvent], Awaitable[None]]:
        async def handle(_: UnitOfWork, event: ReceivedEvent) -> None:
            handled[durable].append((event, trace.get_current_span().get_span_context().trace_id))

        return handle

    consumers = [
        EventConsumer(
            bus.js,
            uow,
            ConsumerSpec(durable=f"{bus.producer}_{name}", producer=bus.producer, per_transaction=together),
            handler(name),
        )
        for name, together in (("one", 1), ("batched", 10))
    ]
    tasks = [asyncio.create_task(consumer.run()) for consumer in consumers]
    try:
        await eventually(lambda: asyncio.sleep(0, all(len(events) == 3 for events in handled.values())), within=20)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    in_trace = finished(spans, written.trace_id)
    published = {message_id(span): span for span in in_trace if span.name == "publish amount.added"}
    assert len(published) == 3
    assert {(span.kind, span.parent.span_id if span.parent else None) for span in published.values()} == {
        (trace.SpanKind.PRODUCER, written.span_id)
    }
    for events in handled.values():
        assert [event.headers["ce-traceparent"] for event, _ in events] == [
            traceparent_of(published[event.id]) for event, _ in events
        ]
        assert [trace_id for _, trace_id in events] == [written.trace_id] * 3

    consumed = [span for span in in_trace if span.name == "consume amount.added"]
    assert len(consumed) == 6  # each event, in each consumer
    for span in consumed:
        assert span.kind is trace.SpanKind.CONSUMER
        assert span.parent is not None
        assert span.parent.span_id == published[message_id(span)].context.span_id
    assert {attribute(span, "messaging.consumer.group.name") for span in consumed} == {
        f"{bus.producer}_one",
        f"{bus.producer}_batched",
    }
    together = [span for span in spans.get_finished_spans() if span.name == "consume 3 events"]
    assert [{link.context.span_id for link in span.links} for span in together] == [
        {span.context.span_id for span in published.values()}
    ]
