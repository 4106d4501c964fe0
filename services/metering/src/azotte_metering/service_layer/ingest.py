"""Ingesting a batch of usage events: judged one by one, stored and rolled up once, acknowledged after commit.

The batch's good events commit in one transaction (durable before the answer), shared with the tenant's
other batches waiting at that moment (`GroupCommit`); `usage.recorded` is emitted in it for every customer its
new events touched, with what they add per (meter, dimension values).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence, Set
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from itertools import groupby
from typing import Any

from azotte_metering.domain.events import MeterUsage, UsageRecorded
from azotte_metering.domain.ingestion import MAX_BATCH_EVENTS, Accepted, Judge, Rejection, UsageEvent, readers_by_type
from azotte_metering.domain.meters import Aggregation, Meter
from azotte_metering.domain.usage import Bucket, MinuteTallies, tally_minutes
from azotte_metering.errors import IngestSaturated, InvalidEventBatch
from azotte_metering.ports import MeteringUnitOfWork
from azotte_platform.context import tenant_scope

MAX_GROUP_EVENTS = 50_000
"""The most events of batches ingested together in one transaction (a batch larger than that goes alone)."""
INGEST_LANES = 2
"""How many transactions of one tenant's batches run side by side, each over its own share of the customers.

NOTE: fewer lanes make larger transactions, whose events share more rollup rows; on a 2-core machine running the
database beside metering, 2 lanes ingest about a tenth more than 4 (`tests/perf/bench_metering_ingest.py
--lanes`). A database with cores to spare may take more (`AZOTTE_INGEST_LANES`)."""
RETRY_AFTER_KEY = "retry_after_seconds"
"""The metadata of `IngestSaturated` saying when to retry (the gateway's `Retry-After`)."""


class Outcome(Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(slots=True)
class EventResult:
    """What became of the event at `index` of a batch; a rejection names the field (`events[3].time`)."""

    index: int
    id: str
    outcome: Outcome
    field: str = ""
    reason: str = ""


async def ingest(uow: MeteringUnitOfWork, tenant_id: str, events: Sequence[UsageEvent]) -> list[EventResult]:
    """Judge, store and roll up `events` (in an entered unit of work, which this commits)."""
    judged = await judge_batch(uow, tenant_id, events)
    (fresh,) = await store(uow, tenant_id, [judged])
    return judged.answers(fresh)


@dataclass(frozen=True, slots=True)
class JudgedBatch:
    """A batch judged event by event: the results known so far (rejections, repeats within the batch), the
    accepted events with their indexes, and the meters that judged them."""

    events: Sequence[UsageEvent]
    results: list[EventResult | None]
    accepted: list[tuple[int, Accepted]]
    meters: list[Meter]

    def lanes(self, count: int) -> dict[int, JudgedBatch]:
        """The accepted events split by their customer's lane, in `[0, count)` (one part per lane met)."""
        parts: dict[int, list[tuple[int, Accepted]]] = {}
        for item in self.accepted:
            parts.setdefault(hash(item[1].event.subject) % count, []).append(item)
        return {lane: JudgedBatch(self.events, self.results, part, self.meters) for lane, part in parts.items()}

    def answers(self, fresh: Set[int]) -> list[EventResult]:
        """Every event's result once the events at the indexes `fresh` were stored (the rest are duplicates)."""
        events = self.events
        return [
            result
            if result is not None
            else EventResult(index, events[index].id, Outcome.ACCEPTED if index in fresh else Outcome.DUPLICATE)
            for index, result in enumerate(self.results)
        ]


async def judge_batch(uow: MeteringUnitOfWork, tenant_id: str, events: Sequence[UsageEvent]) -> JudgedBatch:
    """Judge each event of a batch of 1 to `MAX_BATCH_EVENTS` events by the tenant's meters of its type."""
    check_size(events)
    meters = await uow.meters.of_types(tenant_id, {event.type for event in events})
    return judge_events(events, meters, uow.clock.now())


def check_size(events: Sequence[UsageEvent]) -> None:
    """InvalidEventBatch unless the batch holds 1 to `MAX_BATCH_EVENTS` events."""
    if not events:
        raise InvalidEventBatch.field("events", "must hold at least one event")
    if len(events) > MAX_BATCH_EVENTS:
        raise InvalidEventBatch.field("events", f"must hold at most {MAX_BATCH_EVENTS} events")


def judge_events(events: Sequence[UsageEvent], meters: list[Meter], now: datetime) -> JudgedBatch:
    """Judge each event by `meters` (the tenant's meters of the batch's types) at `now`."""
    judge = Judge(now).judge
    readers = readers_by_type(meters)
    results: list[EventResult | None] = [None] * len(events)
    accepted: list[tuple[int, Accepted]] = []
    seen: set[tuple[str, str]] = set()
    for index, event in enumerate(events):
        judged = judge(event, readers.get(event.type, ()))
        if type(judged) is Rejection:
            field = f"events[{index}].{judged.field}"
            results[index] = EventResult(index, event.id, Outcome.REJECTED, field, judged.reason)
            continue
        key = (event.source, event.id)
        if key in seen:
            results[index] = EventResult(index, event.id, Outcome.DUPLICATE)
        else:
            seen.add(key)
            accepted.append((index, judged))  # type: ignore[arg-type]
    return JudgedBatch(events, results, accepted, meters)


async def store(uow: MeteringUnitOfWork, tenant_id: str, batches: Sequence[JudgedBatch]) -> list[set[int]]:
    """Store and roll up the accepted events of judged batches in one transaction (an entered unit of work, which
    this commits); the indexes of each batch's events that were new, as if it came alone after the ones before."""
    accepted: list[Accepted] = []
    positions: list[tuple[int, int]] = []
    seen: set[tuple[str, str]] = set()
    for number, batch in enumerate(batches):
        for index, judged in batch.accepted:
            key = (judged.event.source, judged.event.id)
            if key not in seen:
                seen.add(key)
                accepted.append(judged)
                positions.append((number, index))
    stored = await uow.usage.store(tenant_id, accepted, uow.clock.now())
    fresh: list[set[int]] = [set() for _ in batches]
    for position in stored:
        number, index = positions[position]
        fresh[number].add(index)
    tallies = tally_minutes(accepted[position] for position in stored)
    await uow.usage.roll_up(tenant_id, tallies)
    meters = {meter.key: meter for batch in batches for meter in batch.meters}
    uow.emit(tenant_id, *usage_recorded(tallies, meters))
    await uow.commit()
    return fresh


class GroupCommit:
    """Batches of one tenant that arrive while its previous transaction runs are stored together in the next;
    the tenant's customers are spread over `lanes`, each with its own transactions.

    Each batch is judged by its caller, which overlaps the transactions running meanwhile.

    NOTE: a transaction upserts each rollup row it touches once, whatever the number of events behind it, and
    holds those rows' locks until its commit; concurrent batches over the same customers would queue on each
    other's locks and pay the upserts and the commit once each. Grouped, they share them. A lane holds whole
    customers, so the lanes' transactions touch disjoint rollup rows and run side by side (the database works
    on several at once). Each caller is answered after the commits of the transactions holding its batch, with
    its own results; a failed transaction fails each batch with events in it, whose events in that lane were
    not kept (those of another lane may have been: a retry answers them DUPLICATE).
    """

    def __init__(
        self,
        uow_factory: Callable[[], MeteringUnitOfWork],
        max_events: int = MAX_GROUP_EVENTS,
        lanes: int = INGEST_LANES,
    ):
        self._uow_factory = uow_factory
        self._max_events = max_events
        self._lanes = lanes
        self._queues: dict[tuple[str, int], list[tuple[JudgedBatch, asyncio.Future[set[int]]]]] = {}
        self._drains: set[asyncio.Task[None]] = set()

    async def ingest(self, tenant_id: str, events: Sequence[UsageEvent]) -> list[EventResult]:
        """Judge a batch, then store it with whatever else of the tenant is waiting (in the lanes of its customers);
        its results once committed."""
        check_size(events)
        with tenant_scope(tenant_id):
            async with self._uow_factory() as uow:
                meters = await uow.meters.of_types(tenant_id, {event.type for event in events})
                now = uow.clock.now()
        # NOTE: judged out of the unit of work, which would otherwise hold a connection meanwhile.
        judged = judge_events(events, meters, now)
        parts = judged.lanes(self._lanes)
        if not parts:
            return judged.answers(set())
        answers = [self._enqueue((tenant_id, lane), part) for lane, part in parts.items()]
        # NOTE: a caller that goes away does not cancel the transactions its batch is part of.
        fresh = await asyncio.shield(asyncio.gather(*answers))
        return judged.answers(set().union(*fresh))

    def _enqueue(self, lane: tuple[str, int], part: JudgedBatch) -> asyncio.Future[set[int]]:
        answer: asyncio.Future[set[int]] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(lane)
        if queue is None:
            queue = self._queues[lane] = []
            drain = asyncio.create_task(self._drain(lane, queue))
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)
        queue.append((part, answer))
        return answer

    async def _drain(self, lane: tuple[str, int], queue: list[tuple[JudgedBatch, Any]]) -> None:
        try:
            while queue:
                size, count = 0, 0
                while count < len(queue) and (count == 0 or size + len(queue[count][0].accepted) <= self._max_events):
                    size += len(queue[count][0].accepted)
                    count += 1
                group = queue[:count]
                del queue[:count]
                await self._commit(lane[0], group)
        finally:
            del self._queues[lane]

    async def _commit(self, tenant_id: str, group: list[tuple[JudgedBatch, Any]]) -> None:
        try:
            with tenant_scope(tenant_id):
                async with self._uow_factory() as uow:
                    answers = await store(uow, tenant_id, [judged for judged, _ in group])
        except Exception as error:
            for _, answer in group:
                if not answer.done():
                    answer.set_exception(error)
            return
        for (_, answer), fresh in zip(group, answers, strict=True):
            if not answer.done():
                answer.set_result(fresh)


def usage_recorded(tallies: MinuteTallies, meters: dict[str, Meter]) -> list[UsageRecorded]:
    """One fact per customer the new events touched: what they add per (meter, dimension values), from the minutes
    they were tallied into."""
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for (customer_id, meter_key, dimensions_key, _), minute in tallies.minutes.items():
        key = (customer_id, meter_key, dimensions_key)
        group = groups.get(key)
        if group is None:
            groups[key] = list(minute)
            continue
        group[0] += minute[0]
        group[1] += minute[1]
        group[2] = min(group[2], minute[2])
        group[3] = max(group[3], minute[3])
        if (minute[4], minute[5]) > (group[4], group[5]):
            group[4], group[5] = minute[4], minute[5]
        group[6] = min(group[6], minute[6])
    parsed: dict[str, dict[str, str]] = {}
    facts = []
    for customer_id, touched in groupby(sorted(groups.items()), key=lambda item: item[0][0]):
        usage = []
        for (_, meter_key, dimensions_key), group in touched:
            if dimensions_key not in parsed:
                parsed[dimensions_key] = json.loads(dimensions_key)
            aggregation = meters[meter_key].aggregation
            count = group[0]
            quantity = (
                Decimal(count) if aggregation is Aggregation.UNIQUE_COUNT else Bucket(*group[:6]).value(aggregation)
            )
            usage.append(
                MeterUsage(meter_key, aggregation, parsed[dimensions_key], group[6], group[4], count, quantity)
            )
        facts.append(UsageRecorded(customer_id, tuple(usage)))
    return facts


class InFlight:
    """A bound on the events being ingested at once in this process: past it, callers are pushed back.

    NOTE: a refused batch kept nothing, so its producer retries it whole after `retry_after_s`; a stream
    waits for room instead (its producer is slowed by flow control). Either way no event is lost.
    """

    def __init__(self, max_events: int, retry_after_s: int):
        self._max = max_events
        self._retry_after_s = retry_after_s
        self._held = 0
        self._changed = asyncio.Condition()

    @property
    def held(self) -> int:
        """Events being ingested now."""
        return self._held

    def _fits(self, count: int) -> bool:
        # NOTE: a batch larger than the bound still passes alone, else it could never be ingested.
        return self._held == 0 or self._held + count <= self._max

    @asynccontextmanager
    async def admit(self, count: int) -> AsyncIterator[None]:
        """Hold room for `count` events, or IngestSaturated at once when there is none."""
        if not self._fits(count):
            raise IngestSaturated(
                f"metering is ingesting {self._held} events; retry in {self._retry_after_s} s",
                metadata={RETRY_AFTER_KEY: str(self._retry_after_s)},
            )
        self._held += count
        try:
            yield
        finally:
            await self._release(count)

    @asynccontextmanager
    async def wait(self, count: int) -> AsyncIterator[None]:
        """Hold room for `count` events, waiting for it."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._fits(count))
            self._held += count
        try:
            yield
        finally:
            await self._release(count)

    async def _release(self, count: int) -> None:
        self._held -= count
        async with self._changed:
            self._changed.notify_all()
