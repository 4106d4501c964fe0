"""The NATS ingest path for internal producers: `metering.ingest.<tenant>.<partition>`, one durable JetStream
consumer per partition.

A message is an `IngestEventsRequest` (protobuf) whose events' customers fall in the subject's partition
(`domain/ingest_partitions.py`; `ingest_messages` splits a batch so). Each partition has its durable consumer,
`metering-ingest-<partition>`, bound only by the replica the partition is assigned to, so a customer's events
are ingested by one replica at a time and replicas never queue on each other's rollup rows. The messages of
one fetch are ingested per tenant as one batch (one transaction, up to `MAX_BATCH_EVENTS` events), so small
messages cost no transaction each; a message is acknowledged only once its batch is committed, and a batch
that fails is redelivered (events already stored are duplicates then, counted once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.client import JetStreamContext

from azotte.metering.v1 import metering_pb2 as pb
from azotte_metering.adapters import proto
from azotte_metering.domain.ingest_partitions import partition_of
from azotte_metering.domain.ingestion import MAX_BATCH_EVENTS, UsageEvent
from azotte_metering.service_layer.ingest import GroupCommit, InFlight, Outcome
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.consumer import fetched_batches
from azotte_platform.events.envelope import validate_tenant_id
from azotte_platform.events.nats_connection import ensure_stream

log = logging.getLogger(__name__)

INGEST_STREAM = "AZOTTE_METERING_INGEST"
INGEST_SUBJECTS = "metering.ingest.*.*"
RETRY_DELAYS_S = (0.5, 2.0, 10.0, 30.0)


def ingest_subject(tenant_id: str, partition: int) -> str:
    """Where an internal producer publishes a tenant's batches of one partition's customers."""
    return f"metering.ingest.{tenant_id}.{partition}"


def durable_name(partition: int) -> str:
    """The durable consumer of a partition."""
    return f"metering-ingest-{partition}"


def ingest_messages(tenant_id: str, events: Sequence[pb.CloudEvent], partitions: int) -> list[tuple[str, bytes]]:
    """A tenant's events as the (subject, message) pairs a producer publishes: one `IngestEventsRequest` per
    partition of their customers (and per `MAX_BATCH_EVENTS` events)."""
    grouped: dict[int, list[pb.CloudEvent]] = {}
    for event in events:
        grouped.setdefault(partition_of(event.subject, partitions), []).append(event)
    return [
        (
            ingest_subject(tenant_id, partition),
            pb.IngestEventsRequest(events=part[i : i + MAX_BATCH_EVENTS]).SerializeToString(),
        )
        for partition, part in sorted(grouped.items())
        for i in range(0, len(part), MAX_BATCH_EVENTS)
    ]


class IngestConsumer:
    """Feeds the batches of this replica's partitions of `metering.ingest.<tenant>.<partition>` to the ingest use
    case."""

    def __init__(
        self,
        js: JetStreamContext,
        group: GroupCommit,
        in_flight: InFlight,
        batch: int,
        partitions: list[int],
    ):
        self._js = js
        self._group = group
        self._in_flight = in_flight
        self._batch = batch
        self._partitions = partitions

    async def run(self) -> None:
        """Fetch and ingest the batches of every partition of this replica, forever."""
        await ensure_stream(self._js, INGEST_STREAM, [INGEST_SUBJECTS])
        await asyncio.gather(*(self._consume(partition) for partition in self._partitions))

    async def _consume(self, partition: int) -> None:
        durable = durable_name(partition)
        await self._js.add_consumer(
            INGEST_STREAM,
            ConsumerConfig(
                durable_name=durable,
                filter_subject=ingest_subject("*", partition),
                ack_policy=AckPolicy.EXPLICIT,
                max_deliver=-1,
                ack_wait=60,
            ),
        )
        async with contextlib.aclosing(fetched_batches(self._js, durable, INGEST_STREAM, self._batch)) as batches:
            async for messages in batches:
                await self.handle(messages)

    async def handle(self, messages: Sequence[Msg]) -> None:
        """Ingest the fetched messages, each tenant's together; a poison message is terminated alone."""
        batches: dict[str, list[tuple[Msg, list[UsageEvent]]]] = {}
        for message in messages:
            read = await self._read(message)
            if read is not None:
                batches.setdefault(read[0], []).append((message, read[1]))
        for tenant_id, parts in batches.items():
            for batch in _batches(parts):
                await self._ingest(tenant_id, batch)

    @staticmethod
    async def _read(message: Msg) -> tuple[str, list[UsageEvent]] | None:
        """The message's tenant and events; None (terminated) when it cannot be read or holds no valid batch."""
        try:
            tenant_id = validate_tenant_id(message.subject.split(".")[2])
            events = proto.events_from_pb(pb.IngestEventsRequest.FromString(message.data).events)
            if not 0 < len(events) <= MAX_BATCH_EVENTS:
                raise InvalidArgument.field("events", f"must hold 1 to {MAX_BATCH_EVENTS} events")
        except (DecodeError, InvalidArgument) as error:
            log.error("dropping an ingest message on %s that cannot be read: %s", message.subject, error)
            await message.term()
            return None
        return tenant_id, events

    async def _ingest(self, tenant_id: str, batch: list[tuple[Msg, list[UsageEvent]]]) -> None:
        """Ingest the messages' events in one transaction, then acknowledge them all; on a failure each is
        redelivered after its backoff, and a batch refused whole is tried message by message."""
        events = [event for _, part in batch for event in part]
        try:
            async with self._in_flight.wait(len(events)):
                results = await self._group.ingest(tenant_id, events)
        except InvalidArgument as error:
            if len(batch) > 1:
                # NOTE: which message the batch refused for is unknown: each is tried alone.
                for part in batch:
                    await self._ingest(tenant_id, [part])
                return
            log.error("dropping an ingest batch of %s: %s", tenant_id, error)
            await batch[0][0].term()
            return
        except Exception as error:
            log.warning("ingest batch of %s (%d messages) failed: %s", tenant_id, len(batch), error)
            for message, _ in batch:
                delivered = message.metadata.num_delivered
                await message.nak(delay=RETRY_DELAYS_S[min(delivered - 1, len(RETRY_DELAYS_S) - 1)])
            return
        for result in results:
            if result.outcome is Outcome.REJECTED:
                log.warning("%s: event %r rejected: %s %s", tenant_id, result.id, result.field, result.reason)
        for message, _ in batch:
            await message.ack()


def _batches(parts: list[tuple[Msg, list[UsageEvent]]]) -> list[list[tuple[Msg, list[UsageEvent]]]]:
    """Consecutive messages grouped into batches of at most `MAX_BATCH_EVENTS` events."""
    batches: list[list[tuple[Msg, list[UsageEvent]]]] = []
    size = MAX_BATCH_EVENTS
    for part in parts:
        if size + len(part[1]) > MAX_BATCH_EVENTS:
            batches.append([])
            size = 0
        batches[-1].append(part)
        size += len(part[1])
    return batches
