"""Ingestion on real PostgreSQL: durable, deduplicated on (source, id), late events in their own window, rollups."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest
import sqlalchemy as sa

from azotte.metering.v1 import events_pb2
from azotte.metering.v1 import metering_pb2 as pb
from azotte_metering.adapters.tables import usage_events
from azotte_metering.domain.ingest_partitions import partition_of
from azotte_metering.entrypoints.ingest_consumer import INGEST_STREAM, INGEST_SUBJECTS, durable_name, ingest_subject
from azotte_metering.service_layer.retention import forget_old_ids
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import stream_name
from azotte_platform.events.nats_connection import ensure_stream
from azotte_platform.grpc.status import from_rpc_error
from tests.helpers import eventually
from tests.integration.metering.conftest import PARTITIONS, T0, Service
from tests.integration.metering.metering_support import cloud_event, create_meter, failure, ingest, usage

DAY = T0.replace(hour=0, minute=0)


async def test_a_batch_is_counted_once_whatever_its_retries(service: Service) -> None:
    await create_meter(service, "tokens", pb.AGGREGATION_SUM, dimensions=["model"])
    batch = [cloud_event(f"e{i}", "cus-1", T0 - timedelta(minutes=i), {"tokens": 10, "model": "gpt"}) for i in range(5)]

    first = await ingest(service, *batch)
    again = await ingest(service, *batch, cloud_event("e5", "cus-1", T0, {"tokens": 1, "model": "gpt"}))

    assert (first.accepted_count, first.duplicate_count) == (5, 0)
    assert (again.accepted_count, again.duplicate_count) == (1, 5)
    answer = await usage(service, "cus-1", "tokens", DAY, DAY + timedelta(days=1))
    assert [(v.value, v.event_count) for v in answer.values] == [("51", 6)]


async def test_text_beyond_ascii_is_counted_and_kept_as_sent(service: Service) -> None:
    await create_meter(service, "tokens", pb.AGGREGATION_SUM, dimensions=["model"])
    data = {"tokens": 4, "model": "modèle-日本", "note": "Île-de-France \U0001f3ac"}
    await ingest(service, cloud_event("ü-1", "cus-é", T0, data, source="api/é"))

    answer = await usage(service, "cus-é", "tokens", DAY, DAY + timedelta(days=1), group_by=["model"])
    listed = await service.stub.ListUsageEvents(
        pb.ListUsageEventsRequest(filter='customer_id = "cus-é"'), metadata=service.metadata
    )

    assert [(dict(v.dimensions), v.value) for v in answer.values] == [({"model": "modèle-日本"}, "4")]
    [stored] = listed.events
    assert (stored.event.id, stored.event.source) == ("ü-1", "api/é")
    assert json.loads(stored.event.data) == data


async def test_a_bad_event_is_rejected_alone_and_named(service: Service) -> None:
    await create_meter(service, "tokens", pb.AGGREGATION_SUM)
    response = await ingest(
        service,
        cloud_event("ok-1", "cus-1", T0, {"tokens": 3}),
        cloud_event("bad-1", "cus-1", T0, {"tokens": "many"}),
        cloud_event("old-1", "cus-1", T0 - timedelta(days=36), {"tokens": 3}),
        cloud_event("nul-1", "cus-1", T0, {"tokens": 1, "note": "\u0000"}),
        cloud_event("ok-2", "cus-1", T0, {"tokens": 4}),
    )

    outcomes = [(r.id, r.outcome, r.field) for r in response.results]
    assert outcomes == [
        ("ok-1", pb.EVENT_OUTCOME_ACCEPTED, ""),
        ("bad-1", pb.EVENT_OUTCOME_REJECTED, "events[1].data.tokens"),
        ("old-1", pb.EVENT_OUTCOME_REJECTED, "events[2].time"),
        ("nul-1", pb.EVENT_OUTCOME_REJECTED, "events[3].data"),
        ("ok-2", pb.EVENT_OUTCOME_ACCEPTED, ""),
    ]
    answer = await usage(service, "cus-1", "tokens", DAY, DAY + timedelta(days=1))
    assert [v.value for v in answer.values] == ["7"]


async def test_a_late_event_is_counted_in_its_own_day(service: Service) -> None:
    await create_meter(service, "tokens", pb.AGGREGATION_SUM)
    late = T0 - timedelta(days=20)
    await ingest(
        service, cloud_event("late", "cus-1", late, {"tokens": 8}), cloud_event("now", "cus-1", T0, {"tokens": 2})
    )

    days = await usage(
        service, "cus-1", "tokens", DAY - timedelta(days=30), DAY + timedelta(days=1), granularity=pb.GRANULARITY_DAY
    )

    late_day = late.replace(hour=0, minute=0)
    assert [(v.start_time.ToDatetime().date(), v.value) for v in days.values] == [
        (late_day.date(), "8"),
        (DAY.date(), "2"),
    ]


async def test_raw_events_are_stored_in_their_month_and_listed_newest_first(service: Service) -> None:
    await create_meter(service, "tokens", pb.AGGREGATION_SUM)
    previous_month = T0 - timedelta(days=15)
    await ingest(
        service,
        cloud_event("a", "cus-1", previous_month, {"tokens": 1}),
        cloud_event("b", "cus-1", T0, {"tokens": 2}),
        cloud_event("c", "cus-2", T0, {"tokens": 3}),
    )

    listed = await service.stub.ListUsageEvents(
        pb.ListUsageEventsRequest(filter='customer_id = "cus-1"', page_size=1), metadata=service.metadata
    )
    rest = await service.stub.ListUsageEvents(
        pb.ListUsageEventsRequest(filter='customer_id = "cus-1"', page_size=1, page_token=listed.next_page_token),
        metadata=service.metadata,
    )

    assert [e.event.id for e in listed.events] + [e.event.id for e in rest.events] == ["b", "a"]
    assert rest.next_page_token == ""
    oldest_first = await service.stub.ListUsageEvents(
        pb.ListUsageEventsRequest(filter='customer_id = "cus-1"', order_by="time"), metadata=service.metadata
    )
    assert [e.event.id for e in oldest_first.events] == ["a", "b"]
    async with service.runtime.engine.connect() as connection:
        partitions = await connection.execute(
            sa.select(sa.text("tableoid::regclass::text AS partition"), usage_events.c.id).select_from(usage_events)
        )
        assert {row.id: row.partition for row in partitions} == {
            "a": "usage_events_2026_02",
            "b": "usage_events_2026_03",
            "c": "usage_events_2026_03",
        }


async def test_usage_recorded_carries_each_customers_usage_per_group_of_each_transaction(service: Service) -> None:
    await create_meter(service, "tokens", pb.AGGREGATION_SUM, dimensions=["model"])
    await ingest(service, cloud_event("a", "cus-1", T0, {"tokens": 5, "model": "gpt"}))
    await ingest(
        service,
        cloud_event("b", "cus-1", T0, {"tokens": 7, "model": "gpt"}),
        cloud_event("c", "cus-1", T0, {"tokens": 1, "model": "llama"}),
        cloud_event("d", "cus-2", T0, {"tokens": 2, "model": "gpt"}),
        cloud_event("e", "cus-1", T0, {"tokens": 3, "model": "gpt"}),
    )

    js = service.runtime.js

    async def published() -> list[events_pb2.UsageRecorded]:
        subject = f"azotte.{service.tenant}.metering.usage.recorded"
        consumer = await js.pull_subscribe(subject, stream=stream_name("metering"))
        try:
            messages = await consumer.fetch(3, timeout=2)
        finally:
            await consumer.unsubscribe()
        assert len(messages) == 3
        return [events_pb2.UsageRecorded.FromString(m.data) for m in messages]

    recorded = await eventually(published)
    summary = sorted(
        (r.customer_id, [(g.dimensions["model"], g.quantity, g.event_count) for g in r.usage]) for r in recorded
    )
    assert summary == [
        ("cus-1", [("gpt", "10", 2), ("llama", "1", 1)]),
        ("cus-1", [("gpt", "5", 1)]),
        ("cus-2", [("gpt", "2", 1)]),
    ]


async def test_an_oversized_batch_is_refused_whole(service: Service) -> None:
    events = [cloud_event(f"e{i}", "cus-1", T0, {}) for i in range(10_001)]

    error = await failure(ingest(service, *events))

    assert error.reason == "INVALID_EVENT_BATCH"


async def test_dedup_ids_are_forgotten_only_once_their_events_could_no_longer_be_accepted(service: Service) -> None:
    await create_meter(service, "tokens", pb.AGGREGATION_SUM)
    event = cloud_event("once", "cus-1", T0, {"tokens": 4})
    await ingest(service, event)
    units = service.metering.uow.factory

    service.clock.advance(timedelta(days=35, hours=23))
    kept = await forget_old_ids(units, service.clock, batch=100)
    service.clock.advance(timedelta(hours=2))
    forgotten = await forget_old_ids(units, service.clock, batch=100)
    resent = await ingest(service, event)

    assert (kept, forgotten) == (0, 1)
    assert [(r.outcome, r.field) for r in resent.results] == [(pb.EVENT_OUTCOME_REJECTED, "events[0].time")]
    answer = await usage(service, "cus-1", "tokens", DAY, DAY + timedelta(days=1))
    assert [v.value for v in answer.values] == ["4"]


async def test_internal_producers_publish_batches_on_nats_counted_once(service: Service) -> None:
    await create_meter(service, "tokens", pb.AGGREGATION_SUM)
    service.runtime.spawn(service.metering.ingest_consumer.run)
    batch = pb.IngestEventsRequest(
        events=[cloud_event(f"n{i}", "cus-1", T0, {"tokens": 10}) for i in range(3)]
        + [cloud_event("bad", "cus-1", T0, {"tokens": "x"})]
    ).SerializeToString()
    subject = ingest_subject(service.tenant, partition_of("cus-1", PARTITIONS))
    await ensure_stream(service.runtime.js, INGEST_STREAM, [INGEST_SUBJECTS])

    await service.runtime.js.publish(subject, batch)
    await service.runtime.js.publish(subject, batch)  # a producer's retry: the same events again

    async def counted() -> pb.GetUsageResponse:
        answer = await usage(service, "cus-1", "tokens", DAY, DAY + timedelta(days=1))
        assert [(v.value, v.event_count) for v in answer.values] == [("30", 3)]
        listed = await service.stub.ListUsageEvents(pb.ListUsageEventsRequest(), metadata=service.metadata)
        assert sorted(e.event.id for e in listed.events) == ["n0", "n1", "n2"]
        return answer

    await eventually(counted)


async def test_many_small_nats_messages_are_ingested_together_each_event_once(service: Service) -> None:
    await create_meter(service, "tokens", pb.AGGREGATION_SUM)
    partition = partition_of("cus-2", PARTITIONS)
    subject = ingest_subject(service.tenant, partition)
    await ensure_stream(service.runtime.js, INGEST_STREAM, [INGEST_SUBJECTS])
    for i in range(120):
        one = pb.IngestEventsRequest(events=[cloud_event(f"s{i % 100}", "cus-2", T0, {"tokens": 1})])
        await service.runtime.js.publish(subject, one.SerializeToString())
    await service.runtime.js.publish(subject, b"not a batch")
    await service.runtime.js.publish(subject, pb.IngestEventsRequest().SerializeToString())
    service.runtime.spawn(service.metering.ingest_consumer.run)

    async def counted() -> bool:
        answer = await usage(service, "cus-2", "tokens", DAY, DAY + timedelta(days=1))
        info = await service.runtime.js.consumer_info(INGEST_STREAM, durable_name(partition))
        return [(v.value, v.event_count) for v in answer.values] == [("100", 100)] and info.num_ack_pending == 0

    await eventually(counted)


async def test_a_stream_answers_each_batch_once_durable_and_ends_on_a_bad_batch_with_its_field(
    service: Service,
) -> None:
    await create_meter(service, "tokens", pb.AGGREGATION_SUM)

    async def batches(stream: str, *sizes: int) -> AsyncIterator[pb.StreamEventsRequest]:
        for index, size in enumerate(sizes):
            events = [cloud_event(f"{stream}{index}-{i}", "cus-1", T0, {"tokens": 1}) for i in range(size)]
            yield pb.StreamEventsRequest(events=events)

    answers = [a async for a in service.stub.StreamEvents(batches("a", 2, 3), metadata=service.metadata)]
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        _ = [a async for a in service.stub.StreamEvents(batches("b", 1, 0), metadata=service.metadata)]

    assert [(a.batch_index, a.accepted_count) for a in answers] == [(0, 2), (1, 3)]
    error = from_rpc_error(ended.value)
    assert isinstance(error, InvalidArgument)
    assert (error.reason, error.violations[0].field) == ("INVALID_EVENT_BATCH", "events")
    answer = await usage(service, "cus-1", "tokens", DAY, DAY + timedelta(days=1))
    assert [v.value for v in answer.values] == ["6"]
