"""What the metering use cases need: the meters, the usage store and the unit of work over them.

The adapters implement these over PostgreSQL; the unit tests with fakes (`tests/unit/metering/fakes.py`).
The usage store is where exactly-once counting lives: it stores only events whose (source, id) it has not
seen, and rolls up exactly those, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from azotte_metering.domain.ingestion import Accepted, UsageEvent
from azotte_metering.domain.meters import Aggregation, Meter
from azotte_metering.domain.usage import DistinctValue, MinuteTallies, Rollup, Span
from azotte_platform.ports import AbstractUnitOfWork


@dataclass(frozen=True, slots=True)
class MeterQuery:
    """Which meters a list shows (every condition must hold), in key order (or its reverse)."""

    event_type: str | None = None
    aggregation: Aggregation | None = None
    created: tuple[tuple[str, datetime], ...] = ()
    """(operator, time) comparisons of the creation time."""
    descending: bool = False


class MeterRepository(Protocol):
    """A tenant's meters."""

    async def add(self, meter: Meter) -> None:
        """Insert a new meter; a key taken in the tenant is `MeterExists`."""
        ...

    async def get(self, tenant_id: str, key: str) -> Meter | None: ...

    async def save(self, meter: Meter) -> None: ...

    async def find(self, tenant_id: str, query: MeterQuery, limit: int, after: str | None) -> list[Meter]:
        """Meters matching `query` in key order, after the key `after`."""
        ...

    async def of_types(self, tenant_id: str, event_types: Collection[str]) -> list[Meter]:
        """The meters counting any of `event_types`."""
        ...

    async def with_quota_features(self, tenant_id: str) -> list[Meter]:
        """The meters measuring at least one quota feature."""
        ...


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A raw event as stored."""

    event: UsageEvent
    time: datetime
    received_at: datetime


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Which raw events a list shows, newest first (or oldest first), then by source and id."""

    customer_id: str | None = None
    type: str | None = None
    source: str | None = None
    times: tuple[tuple[str, datetime], ...] = ()
    """(operator, time) comparisons of the event time: <, <=, >, >=."""
    oldest_first: bool = False


class UsageStore(Protocol):
    """Raw events (deduplicated) and their rollups."""

    async def store(self, tenant_id: str, events: Sequence[Accepted], received_at: datetime) -> list[int]:
        """Store those of `events` whose (source, id) was never stored; the positions in `events` of those stored,
        in order.

        `events` hold no two of the same (source, id). Concurrent batches of the same events store each once.
        """
        ...

    async def roll_up(self, tenant_id: str, tallies: MinuteTallies) -> None:
        """Add the tallies of newly stored events to their minute, hour and day buckets."""
        ...

    async def rollups(self, tenant_id: str, customer_id: str, meter_key: str, spans: Sequence[Span]) -> list[Rollup]:
        """The stored buckets of `spans`."""
        ...

    async def distinct_values(
        self, tenant_id: str, customer_id: str, meter_key: str, spans: Sequence[Span]
    ) -> list[DistinctValue]:
        """The distinct values seen in the stored buckets of `spans` (UNIQUE_COUNT meters)."""
        ...

    async def forget_ids(self, received_before: datetime, limit: int) -> int:
        """Drop up to `limit` dedup ids of events received before `received_before`; how many were dropped."""
        ...

    async def has_events(self, tenant_id: str, meter_key: str) -> bool:
        """Whether the meter has counted any event."""
        ...

    async def events(
        self, tenant_id: str, query: EventQuery, limit: int, after: tuple[datetime, str, str] | None
    ) -> list[StoredEvent]:
        """Raw events matching `query`, newest first (then by source and id), after the key `after`."""
        ...


class MeteringUnitOfWork(AbstractUnitOfWork, Protocol):
    """The repositories over one transaction; events emitted are published if it commits."""

    @property
    def meters(self) -> MeterRepository: ...

    @property
    def usage(self) -> UsageStore: ...
