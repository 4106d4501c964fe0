"""The ingest log's partitions: every customer in one partition, every partition taken by exactly one replica."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azotte.metering.v1 import metering_pb2 as pb
from azotte_metering.domain.ingest_partitions import Replica, partition_of
from azotte_metering.domain.ingestion import MAX_BATCH_EVENTS
from azotte_metering.entrypoints.ingest_consumer import ingest_messages


@given(replicas=st.integers(1, 16), partitions=st.integers(16, 64))
def test_the_replicas_take_every_partition_exactly_once(replicas: int, partitions: int) -> None:
    taken = [
        p for index in range(replicas) for p in Replica.parse(f"{index}/{replicas}", partitions).partitions(partitions)
    ]

    assert sorted(taken) == list(range(partitions))


def test_a_customer_always_falls_in_the_same_partition_within_range() -> None:
    customers = [f"cus-{i}" for i in range(1_000)]

    first = [partition_of(customer, 8) for customer in customers]

    assert first == [partition_of(customer, 8) for customer in customers]
    assert set(first) == set(range(8))
    assert partition_of("cus-42", 8) == 6  # CRC-32 of the UTF-8 id: any producer in any language agrees


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2", "must read i/n"),
        ("a/b", "must read i/n"),
        ("2/2", "below 2"),
        ("0/0", "below 0"),
        ("0/9", "more replicas"),
    ],
)
def test_a_replica_setting_that_cannot_work_is_refused_at_start(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Replica.parse(text, 8)


def test_a_producer_batch_is_split_into_one_message_per_partition_of_its_customers() -> None:
    events = [pb.CloudEvent(id=f"e{i}", subject=f"cus-{i % 50}") for i in range(MAX_BATCH_EVENTS + 500)]

    messages = ingest_messages("acme", events, 4)

    published = {}
    for subject, data in messages:
        tenant, partition = subject.split(".")[2:]
        part = pb.IngestEventsRequest.FromString(data).events
        assert tenant == "acme" and 0 < len(part) <= MAX_BATCH_EVENTS
        assert {partition_of(event.subject, 4) for event in part} == {int(partition)}
        published.update({event.id: event.subject for event in part})
    assert published == {event.id: event.subject for event in events}
