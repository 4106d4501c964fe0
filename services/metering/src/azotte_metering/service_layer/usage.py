"""Usage queries: a customer's usage of a meter from rollups, and the raw events for audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from azotte_metering.domain.meters import Aggregation, Meter
from azotte_metering.domain.usage import Granularity, UsageValue, combine, cover
from azotte_metering.errors import InvalidUsageQuery
from azotte_metering.ports import EventQuery, MeteringUnitOfWork, StoredEvent
from azotte_metering.service_layer.meters import get_meter
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest

MAX_WINDOW = {
    Granularity.MINUTE: timedelta(days=2),
    Granularity.HOUR: timedelta(days=92),
    Granularity.DAY: timedelta(days=400),
    None: timedelta(days=400),
}
"""The longest window per granularity of the answer (None: one total), so that an answer stays small."""


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """Whose usage of which meter over [start, end), in which buckets, grouped by which dimensions."""

    customer_id: str
    meter_key: str
    start: datetime
    end: datetime
    granularity: Granularity | None = None
    group_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Usage:
    meter: Meter
    values: list[UsageValue]


async def get_usage(uow: MeteringUnitOfWork, tenant_id: str, query: UsageQuery) -> Usage:
    """The usage per bucket and group, read from the rollups covering the window (never from raw events)."""
    _check_window(query)
    meter = await get_meter(uow, tenant_id, query.meter_key)
    for index, name in enumerate(query.group_by):
        if name.removeprefix("$.") not in meter.dimension_names:
            dimensions = ", ".join(meter.dimension_names) or "none"
            raise InvalidUsageQuery.field(f"group_by[{index}]", f"is not a dimension of the meter ({dimensions})")
    group_by = tuple(name.removeprefix("$.") for name in query.group_by)
    spans = cover(query.start, query.end, query.granularity or Granularity.DAY)
    rollups = await uow.usage.rollups(tenant_id, query.customer_id, meter.key, spans)
    distinct = (
        await uow.usage.distinct_values(tenant_id, query.customer_id, meter.key, spans)
        if meter.aggregation is Aggregation.UNIQUE_COUNT
        else []
    )
    values = combine(rollups, distinct, meter.aggregation, (query.start, query.end), query.granularity, group_by)
    return Usage(meter, values)


def _check_window(query: UsageQuery) -> None:
    if not query.customer_id:
        raise InvalidUsageQuery.field("customer_id", "is required")
    if not query.meter_key:
        raise InvalidUsageQuery.field("meter_key", "is required")
    for field, moment in (("start_time", query.start), ("end_time", query.end)):
        if Granularity.MINUTE.floor(moment) != moment:
            raise InvalidUsageQuery.field(field, "must be a whole minute (rollups are per minute)")
    if query.end <= query.start:
        raise InvalidUsageQuery.field("end_time", "must be after start_time")
    longest = MAX_WINDOW[query.granularity]
    if query.end - query.start > longest:
        raise InvalidUsageQuery.field(
            "end_time", f"must be at most {longest.days} days after start_time at this granularity"
        )
    if len(set(query.group_by)) != len(query.group_by):
        raise InvalidUsageQuery.field("group_by", "names a dimension twice")


async def list_events(
    uow: MeteringUnitOfWork, tenant_id: str, query: EventQuery, paging: PageRequest
) -> Page[StoredEvent]:
    """Raw events newest first, for audit and export."""
    events = await uow.usage.events(tenant_id, query, paging.limit, _after(paging))
    return paging.page(events, lambda stored: [stored.time.isoformat(), stored.event.source, stored.event.id])


def _after(paging: PageRequest) -> tuple[datetime, str, str] | None:
    if paging.after is None:
        return None
    try:
        time, source, event_id = paging.after
        return datetime.fromisoformat(str(time)), str(source), str(event_id)
    except ValueError as error:
        raise InvalidArgument.field("page_token", "is not a token this service issued") from error
