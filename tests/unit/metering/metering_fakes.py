"""In-memory meters and usage store for the metering use-case tests (no PostgreSQL).

The fake store keeps what the PostgreSQL one does — the (source, id) of every event stored, and rollups
per (customer, meter, dimension values, minute/hour/day) — with the domain's own `Bucket` arithmetic.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from azotte_metering.adapters import proto
from azotte_metering.domain.ingestion import Accepted, UsageEvent
from azotte_metering.domain.meters import Aggregation, Meter
from azotte_metering.domain.usage import (
    EPOCH,
    LEVELS,
    Bucket,
    DistinctValue,
    Granularity,
    MinuteTallies,
    Rollup,
    Span,
    decimal_text,
)
from azotte_metering.errors import MeterExists
from azotte_metering.ports import EventQuery, MeterQuery, StoredEvent
from azotte_metering.service_layer import meters
from azotte_metering.service_layer.ingest import EventResult, ingest
from azotte_metering.service_layer.usage import UsageQuery, get_usage
from azotte_platform.clock import Clock, FixedClock
from azotte_platform.context import tenant_scope
from tests.fakes import FakeUnitOfWork

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TENANT = "acme"
RollupKey = tuple[str, str, str, Granularity, datetime, str]


class InMemoryMeters:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Meter] = {}

    async def add(self, meter: Meter) -> None:
        if (meter.tenant_id, meter.key) in self.rows:
            raise MeterExists(f"meter {meter.key!r} already exists")
        self.rows[(meter.tenant_id, meter.key)] = meter

    async def get(self, tenant_id: str, key: str) -> Meter | None:
        return self.rows.get((tenant_id, key))

    async def save(self, meter: Meter) -> None:
        self.rows[(meter.tenant_id, meter.key)] = meter

    async def find(self, tenant_id: str, query: MeterQuery, limit: int, after: str | None) -> list[Meter]:
        found = [
            m
            for (tenant, key), m in sorted(self.rows.items())
            if tenant == tenant_id
            and (after is None or key > after)
            and query.event_type in (None, m.event_type)
            and query.aggregation in (None, m.aggregation)
        ]
        return found[:limit]

    async def of_types(self, tenant_id: str, event_types: Collection[str]) -> list[Meter]:
        return [m for (tenant, _), m in self.rows.items() if tenant == tenant_id and m.event_type in event_types]

    async def with_quota_features(self, tenant_id: str) -> list[Meter]:
        return [m for (tenant, _), m in self.rows.items() if tenant == tenant_id and m.quota_features]


class InMemoryUsage:
    def __init__(self) -> None:
        self.ids: set[tuple[str, str, str]] = set()
        self.stored: list[tuple[str, StoredEvent]] = []
        self.buckets: dict[RollupKey, Bucket] = {}
        self.distinct: set[tuple[RollupKey, str]] = set()

    async def store(self, tenant_id: str, events: Sequence[Accepted], received_at: datetime) -> list[int]:
        fresh = []
        for position, accepted in enumerate(events):
            event = accepted.event
            if (tenant_id, event.source, event.id) not in self.ids:
                self.ids.add((tenant_id, event.source, event.id))
                self.stored.append((tenant_id, StoredEvent(event, accepted.time, received_at)))
                fresh.append(position)
        return fresh

    async def roll_up(self, tenant_id: str, tallies: MinuteTallies) -> None:
        for (customer, meter_key, dimensions_key, minute), state in tallies.minutes.items():
            start = EPOCH + timedelta(microseconds=minute)
            for level in LEVELS:
                key = (tenant_id, customer, meter_key, level, level.floor(start), dimensions_key)
                self.buckets.setdefault(key, Bucket()).merge(Bucket(*state[:6]))
        for customer, meter_key, dimensions_key, minute, value in tallies.distinct:
            start = EPOCH + timedelta(microseconds=minute)
            for level in LEVELS:
                key = (tenant_id, customer, meter_key, level, level.floor(start), dimensions_key)
                if (key, value) not in self.distinct:
                    self.distinct.add((key, value))
                    self.buckets[key].distinct_count += 1

    def _rollup(self, key: RollupKey) -> Rollup:
        return Rollup(key[3], key[4], json.loads(key[5]), replace(self.buckets[key], distinct=set()))

    def _in(self, key: RollupKey, tenant_id: str, customer_id: str, meter_key: str, spans: Sequence[Span]) -> bool:
        return key[:3] == (tenant_id, customer_id, meter_key) and any(
            s.granularity is key[3] and s.start <= key[4] < s.end for s in spans
        )

    async def rollups(self, tenant_id: str, customer_id: str, meter_key: str, spans: Sequence[Span]) -> list[Rollup]:
        return [self._rollup(k) for k in self.buckets if self._in(k, tenant_id, customer_id, meter_key, spans)]

    async def distinct_values(
        self, tenant_id: str, customer_id: str, meter_key: str, spans: Sequence[Span]
    ) -> list[DistinctValue]:
        return [
            DistinctValue(k[3], k[4], json.loads(k[5]), value)
            for k, value in self.distinct
            if self._in(k, tenant_id, customer_id, meter_key, spans)
        ]

    async def forget_ids(self, received_before: datetime, limit: int) -> int:
        old = [
            (tenant, stored.event.source, stored.event.id)
            for tenant, stored in self.stored
            if stored.received_at < received_before
        ]
        forgotten = [key for key in old if key in self.ids][:limit]
        self.ids.difference_update(forgotten)
        return len(forgotten)

    async def has_events(self, tenant_id: str, meter_key: str) -> bool:
        return any(k[0] == tenant_id and k[2] == meter_key for k in self.buckets)

    async def events(
        self, tenant_id: str, query: EventQuery, limit: int, after: tuple[datetime, str, str] | None
    ) -> list[StoredEvent]:
        found = sorted(
            (s for tenant, s in self.stored if tenant == tenant_id and query.customer_id in (None, s.event.subject)),
            key=lambda s: (s.time, s.event.source, s.event.id),
            reverse=True,
        )
        if after is not None:
            found = [s for s in found if (s.time, s.event.source, s.event.id) < after]
        return found[:limit]


class FakeMeteringUnitOfWork(FakeUnitOfWork):
    """The metering unit of work over memory; `published` holds the events committed."""

    def __init__(self, clock: Clock):
        super().__init__(clock, to_event=proto.to_event)
        self.meters = InMemoryMeters()
        self.usage = InMemoryUsage()

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        return self


class UseCases:
    """The metering use cases over fakes, acting for TENANT from a fixed clock."""

    def __init__(self, clock: FixedClock):
        self.clock = clock
        self.uow = FakeMeteringUnitOfWork(clock)

    async def meter(self, key: str, aggregation: Aggregation, value_path: str = "v", **fields: Any) -> Meter:
        path = "" if aggregation is Aggregation.COUNT else value_path
        meter = Meter(
            TENANT,
            key,
            fields.pop("display_name", key),
            fields.pop("event_type", "ai.call"),
            path,
            aggregation,
            tuple(fields.pop("dimensions", ())),
            self.clock.now(),
            self.clock.now(),
            tuple(fields.pop("quota_features", ())),
        )
        async with self.uow:
            created = await meters.create_meter(self.uow, meter)
            await self.uow.commit()
        return created

    async def ingest(self, *events: UsageEvent, tenant: str = TENANT) -> list[EventResult]:
        with tenant_scope(tenant):
            async with self.uow:
                return await ingest(self.uow, tenant, events)

    async def usage(self, query: UsageQuery, tenant: str = TENANT) -> list[tuple[str, ...]]:
        """(bucket start "HH:MM" or date, value) pairs, with the group's values appended when grouped."""
        async with self.uow:
            found = await get_usage(self.uow, tenant, query)
        return [(_label(v.start, v.end), decimal_text(v.value), *v.dimensions.values()) for v in found.values]


class SharedUnits:
    """A fresh fake unit of work per call over the stores of `use_cases`, as concurrent callers each open their
    own; `committed` counts the transactions committed."""

    def __init__(self, use_cases: UseCases):
        self._shared = use_cases.uow
        self.opened: list[FakeMeteringUnitOfWork] = []

    def __call__(self) -> FakeMeteringUnitOfWork:
        uow = FakeMeteringUnitOfWork(self._shared.clock)
        uow.meters, uow.usage, uow.published = self._shared.meters, self._shared.usage, self._shared.published
        self.opened.append(uow)
        return uow

    @property
    def committed(self) -> int:
        return sum(uow.committed for uow in self.opened)


def _label(start: datetime, end: datetime) -> str:
    return f"{start:%d %H:%M}-{end:%d %H:%M}"


def event(event_id: str, at: datetime, data: dict[str, Any] | str, customer: str = "ana", **fields: Any) -> UsageEvent:
    """A usage event of type ai.call from source `src` (keywords override any field)."""
    text = data if isinstance(data, str) else json.dumps(data)
    values: dict[str, Any] = {"id": event_id, "source": "src", "type": "ai.call", "subject": customer, "time": at}
    values.update(fields, data=text)
    return UsageEvent(**values)
