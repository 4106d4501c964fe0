"""Usage from rollups: the buckets a window is made of, and how a meter's buckets combine into one value.

Every event is rolled up into its minute, hour and UTC day. A window of whole minutes is covered exactly by
whole buckets, the coarsest that fit (minutes at the edges, then hours, then days), so a month of usage
reads a few dozen rows whatever the number of events.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from azotte_metering.domain.ingestion import Accepted
from azotte_metering.domain.meters import Aggregation


class Granularity(Enum):
    """A rollup bucket's length (the values are PostgreSQL's `date_trunc` units)."""

    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"

    @property
    def step(self) -> timedelta:
        return _STEPS[self]

    def floor(self, moment: datetime) -> datetime:
        """The start of the bucket `moment` is in (UTC)."""
        if self is Granularity.MINUTE:
            return moment.replace(second=0, microsecond=0)
        if self is Granularity.HOUR:
            return moment.replace(minute=0, second=0, microsecond=0)
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)

    def ceil(self, moment: datetime) -> datetime:
        start = self.floor(moment)
        return start if start == moment else start + self.step


_STEPS = {
    Granularity.MINUTE: timedelta(minutes=1),
    Granularity.HOUR: timedelta(hours=1),
    Granularity.DAY: timedelta(days=1),
}
LEVELS = (Granularity.MINUTE, Granularity.HOUR, Granularity.DAY)


@dataclass(frozen=True, slots=True)
class Span:
    """The buckets of one granularity starting in [start, end)."""

    granularity: Granularity
    start: datetime
    end: datetime


def cover(start: datetime, end: datetime, coarsest: Granularity = Granularity.DAY) -> list[Span]:
    """Spans of whole buckets, no coarser than `coarsest`, that cover [start, end) exactly (both whole minutes).

    No span crosses a boundary of `coarsest`, so each bucket read belongs to one bucket of `coarsest`.
    """
    levels = LEVELS[: LEVELS.index(coarsest) + 1]
    spans: list[Span] = []
    at = start
    for finer, coarser in itertools.pairwise(levels):
        stop = min(coarser.ceil(at), finer.floor(end))
        if at < stop:
            spans.append(Span(finer, at, stop))
            at = stop
    top = levels[-1]
    stop = max(at, top.floor(end))
    if at < stop:
        spans.append(Span(top, at, stop))
        at = stop
    for finer in reversed(levels[:-1]):
        stop = max(at, finer.floor(end))
        if at < stop:
            spans.append(Span(finer, at, stop))
            at = stop
    return spans


def tally(states: dict[Any, list[Any]], key: Any, value: Decimal, time: datetime) -> None:
    """Count one measure into `states[key]`, a bucket's running [count, total, min, max, latest time, latest value,
    earliest time].

    NOTE: a list, not a `Bucket`: this runs once per measure of every event ingested.
    """
    state = states.get(key)
    if state is None:
        states[key] = [1, value, value, value, time, value, time]
        return
    state[0] += 1
    state[1] += value
    if value < state[2]:
        state[2] = value
    elif value > state[3]:
        state[3] = value
    if time > state[4] or (time == state[4] and value > state[5]):
        state[4], state[5] = time, value
    elif time < state[6]:
        state[6] = time


MinuteKey = tuple[str, str, str, int]
"""(customer, meter, dimensions key, the minute's start in microseconds since the epoch)."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)
MINUTE_MICROSECONDS = _MINUTE // timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class MinuteTallies:
    """New events' measures added up per (customer, meter, dimension values) and minute (`tally`'s lists), and the
    distinct values per minute of UNIQUE_COUNT meters: (customer, meter, dimensions key, minute, value)."""

    minutes: dict[MinuteKey, list[Any]]
    distinct: set[tuple[str, str, str, int, str]]


def tally_minutes(events: Iterable[Accepted]) -> MinuteTallies:
    """The events' measures added up per minute.

    NOTE: added up once, per measure, so that the store gets a row per minute bucket (which it rolls up into hours
    and days, each bucket upserted once per transaction) and `usage.recorded` adds up minutes, not events. Minutes
    are integers: an aware datetime's hash costs more than the rest of the tally.
    """
    minutes: dict[MinuteKey, list[Any]] = {}
    distinct: set[tuple[str, str, str, int, str]] = set()
    for accepted in events:
        time = accepted.time
        minute = (time - EPOCH) // _MINUTE * MINUTE_MICROSECONDS
        subject = accepted.event.subject
        for meter_key, dimensions, value, seen in accepted.measures:
            tally(minutes, (subject, meter_key, dimensions, minute), value, time)
            if seen:
                distinct.add((subject, meter_key, dimensions, minute, seen))
    return MinuteTallies(minutes, distinct)


@dataclass(slots=True)
class Bucket:
    """What the events of a bucket (or of several merged) add up to."""

    event_count: int = 0
    total: Decimal = Decimal(0)
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    latest_time: datetime | None = None
    latest_value: Decimal | None = None
    distinct_count: int = 0
    distinct: set[str] = field(default_factory=set)

    def merge(self, other: Bucket) -> None:
        """Add `other`'s events (distinct values are merged by `distinct`, not by their counts)."""
        self.event_count += other.event_count
        self.total += other.total
        if other.minimum is not None and (self.minimum is None or other.minimum < self.minimum):
            self.minimum = other.minimum
        if other.maximum is not None and (self.maximum is None or other.maximum > self.maximum):
            self.maximum = other.maximum
        if other.latest_time is not None and (
            self.latest_time is None
            or (other.latest_time, other.latest_value or 0) > (self.latest_time, self.latest_value or 0)
        ):
            self.latest_time, self.latest_value = other.latest_time, other.latest_value

    def value(self, aggregation: Aggregation) -> Decimal:
        """The meter's value of these events.

        NOTE: LATEST is the value of the latest event; of events at the same time, the largest value wins,
        so the answer does not depend on the order the events arrived in.
        """
        if aggregation is Aggregation.SUM:
            return self.total
        if aggregation is Aggregation.COUNT:
            return Decimal(self.event_count)
        if aggregation is Aggregation.MIN:
            return self.minimum if self.minimum is not None else Decimal(0)
        if aggregation is Aggregation.MAX:
            return self.maximum if self.maximum is not None else Decimal(0)
        if aggregation is Aggregation.AVG:
            return self.total / self.event_count if self.event_count else Decimal(0)
        if aggregation is Aggregation.LATEST:
            return self.latest_value if self.latest_value is not None else Decimal(0)
        return Decimal(len(self.distinct) if self.distinct else self.distinct_count)


def decimal_text(value: Decimal) -> str:
    """A decimal as plain text without exponent or trailing zeros after the point (`12.50` -> `12.5`)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True, slots=True)
class Rollup:
    """One stored rollup bucket of a (customer, meter, dimension values)."""

    granularity: Granularity
    start: datetime
    dimensions: Mapping[str, str]
    bucket: Bucket


@dataclass(frozen=True, slots=True)
class DistinctValue:
    """One value a UNIQUE_COUNT meter saw in a stored bucket."""

    granularity: Granularity
    start: datetime
    dimensions: Mapping[str, str]
    value: str


@dataclass(frozen=True, slots=True)
class UsageValue:
    """The meter's value over [start, end) for one group of dimension values."""

    start: datetime
    end: datetime
    dimensions: Mapping[str, str]
    value: Decimal
    event_count: int


def combine(
    rollups: Iterable[Rollup],
    distinct_values: Iterable[DistinctValue],
    aggregation: Aggregation,
    window: tuple[datetime, datetime],
    granularity: Granularity | None,
    group_by: tuple[str, ...],
) -> list[UsageValue]:
    """The usage per output bucket (`granularity`, or the whole window) and per `group_by` values."""
    start, end = window

    def bucket_of(moment: datetime) -> datetime:
        return max(start, granularity.floor(moment)) if granularity else start

    def group_of(dimensions: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(dimensions.get(name, "") for name in group_by)

    buckets: dict[tuple[datetime, tuple[str, ...]], Bucket] = {}
    for rollup in rollups:
        key = (bucket_of(rollup.start), group_of(rollup.dimensions))
        buckets.setdefault(key, Bucket()).merge(rollup.bucket)
    for distinct in distinct_values:
        key = (bucket_of(distinct.start), group_of(distinct.dimensions))
        buckets.setdefault(key, Bucket()).distinct.add(distinct.value)
    values = []
    for (bucket_start, group), bucket in sorted(buckets.items()):
        bucket_end = min(end, granularity.floor(bucket_start) + granularity.step) if granularity else end
        dimensions = dict(zip(group_by, group, strict=True))
        values.append(UsageValue(bucket_start, bucket_end, dimensions, bucket.value(aggregation), bucket.event_count))
    return values
