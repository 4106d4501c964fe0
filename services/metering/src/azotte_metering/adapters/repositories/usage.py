"""Usage events and rollups on PostgreSQL: one deduplicating insert and one rollup upsert per batch.

NOTE: every statement takes its row locks in one order — event ids sorted by (source, id), rollup rows by
their key — so concurrent batches over the same customers queue instead of deadlocking.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_metering.adapters.partitions import MonthlyPartitions
from azotte_metering.domain.ingestion import Accepted, UsageEvent
from azotte_metering.domain.usage import Bucket, DistinctValue, Granularity, Rollup, Span, tally
from azotte_metering.ports import DayRollup, EventQuery, Recorded, StoredEvent

_STORE_EVENTS = sa.text(
    """
    WITH incoming AS (
        SELECT * FROM unnest(
            CAST(:sources AS text[]), CAST(:ids AS text[]), CAST(:times AS timestamptz[]),
            CAST(:types AS text[]), CAST(:subjects AS text[]), CAST(:datas AS text[]), CAST(:positions AS int[])
        ) AS e(source, id, time, type, subject, data, position)
    ),
    fresh AS (
        INSERT INTO usage_event_ids (tenant_id, source, id, received_at)
        SELECT :tenant, source, id, :now FROM incoming ORDER BY source, id
        ON CONFLICT DO NOTHING
        RETURNING source, id
    ),
    kept AS (
        SELECT e.* FROM incoming e JOIN fresh f ON f.source = e.source AND f.id = e.id
    ),
    stored AS (
        INSERT INTO usage_events (tenant_id, time, source, id, type, subject, data, received_at)
        SELECT :tenant, time, source, id, type, subject, data::jsonb, :now FROM kept
    )
    SELECT position FROM kept
    """
)

_ROLL_UP = sa.text(
    """
    WITH buckets AS (
        SELECT * FROM unnest(
            CAST(:customers AS text[]), CAST(:meters AS text[]), CAST(:units AS text[]),
            CAST(:starts AS timestamptz[]), CAST(:keys AS text[]), CAST(:counts AS bigint[]),
            CAST(:totals AS numeric[]), CAST(:minimums AS numeric[]), CAST(:maximums AS numeric[]),
            CAST(:latest_times AS timestamptz[]), CAST(:latest_values AS numeric[])
        ) AS b(customer_id, meter_key, granularity, bucket_start, dimensions_key, event_count, total, minimum,
               maximum, latest_time, latest_value)
    ),
    upserted AS (
        INSERT INTO usage_rollups AS r (
            tenant_id, customer_id, meter_key, granularity, bucket_start, dimensions_key, dimensions,
            event_count, total, minimum, maximum, latest_time, latest_value
        )
        SELECT :tenant, customer_id, meter_key, granularity, bucket_start, dimensions_key,
               dimensions_key::jsonb AS dims, event_count, total, minimum, maximum, latest_time, latest_value
        FROM buckets
        ORDER BY customer_id, meter_key, granularity, bucket_start, dimensions_key
        ON CONFLICT (tenant_id, customer_id, meter_key, granularity, bucket_start, dimensions_key) DO UPDATE SET
            event_count = r.event_count + excluded.event_count,
            total = r.total + excluded.total,
            minimum = least(r.minimum, excluded.minimum),
            maximum = greatest(r.maximum, excluded.maximum),
            latest_value = CASE WHEN (excluded.latest_time, excluded.latest_value) > (r.latest_time, r.latest_value)
                                THEN excluded.latest_value ELSE r.latest_value END,
            latest_time = greatest(r.latest_time, excluded.latest_time)
        RETURNING r.customer_id, r.meter_key, r.granularity, r.bucket_start, r.dimensions_key, r.event_count, r.total,
            r.minimum, r.maximum, r.latest_time, r.latest_value, r.distinct_count
    )
    SELECT * FROM upserted WHERE granularity = 'day'
    """
)

_COUNT_DISTINCT = sa.text(
    """
    WITH seen AS (
        SELECT * FROM unnest(
            CAST(:customers AS text[]), CAST(:meters AS text[]), CAST(:units AS text[]),
            CAST(:starts AS timestamptz[]), CAST(:keys AS text[]), CAST(:values AS text[])
        ) AS s(customer_id, meter_key, granularity, bucket_start, dimensions_key, value)
    ),
    added AS (
        INSERT INTO usage_distinct_values
            (tenant_id, customer_id, meter_key, granularity, bucket_start, dimensions_key, value)
        SELECT :tenant, customer_id, meter_key, granularity, bucket_start, dimensions_key, value
        FROM seen
        ORDER BY 2, 3, 4, 5, 6, 7
        ON CONFLICT DO NOTHING
        RETURNING customer_id, meter_key, granularity, bucket_start, dimensions_key
    ),
    counted AS (
        SELECT customer_id, meter_key, granularity, bucket_start, dimensions_key, count(*) AS n
        FROM added GROUP BY 1, 2, 3, 4, 5
    )
    UPDATE usage_rollups r SET distinct_count = r.distinct_count + c.n
    FROM counted c
    WHERE r.tenant_id = :tenant AND r.customer_id = c.customer_id AND r.meter_key = c.meter_key
      AND r.granularity = c.granularity AND r.bucket_start = c.bucket_start AND r.dimensions_key = c.dimensions_key
    RETURNING r.customer_id, r.meter_key, r.granularity, r.bucket_start, r.dimensions_key, r.event_count, r.total,
        r.minimum, r.maximum, r.latest_time, r.latest_value, r.distinct_count
    """
)


@functools.cache
def _in_spans(select: str, count: int) -> sa.TextClause:
    """`select` of one (tenant, customer, meter)'s rows in each of `count` spans, one index range per span.

    NOTE: a window is covered by at most five spans; one range condition each (rather than a join to a list of
    spans) lets PostgreSQL read exactly those ranges of the key index, whatever the customer's rows elsewhere.
    """
    return sa.text(
        " UNION ALL ".join(
            f"({select} WHERE tenant_id = :tenant AND customer_id = :customer AND meter_key = :meter"
            f" AND granularity = :unit_{n} AND bucket_start >= :start_{n} AND bucket_start < :end_{n})"
            for n in range(count)
        )
    )


_ROLLUP_COLUMNS = (
    "SELECT granularity, bucket_start, dimensions, event_count, total, minimum, maximum, latest_time, latest_value,"
    " distinct_count FROM usage_rollups"
)
_DISTINCT_COLUMNS = "SELECT granularity, bucket_start, dimensions_key, value FROM usage_distinct_values"


_TIME_OPERATORS = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _rollup(row: Any, dimensions: dict[str, str] | None = None) -> Rollup:
    bucket = Bucket(
        event_count=row.event_count,
        total=row.total,
        minimum=row.minimum,
        maximum=row.maximum,
        latest_time=row.latest_time,
        latest_value=row.latest_value,
        distinct_count=row.distinct_count,
    )
    return Rollup(
        Granularity(row.granularity),
        row.bucket_start,
        dict(row.dimensions) if dimensions is None else dimensions,
        bucket,
    )


def _day(row: Any, dimensions: dict[str, dict[str, str]]) -> DayRollup:
    """A day's rollup row as an upsert returned it (its dimension values parsed once per distinct key)."""
    key = row.dimensions_key
    parsed = dimensions.get(key)
    if parsed is None:
        parsed = dimensions[key] = _parse_key(key)
    return DayRollup(row.customer_id, row.meter_key, key, row.bucket_start, _rollup(row, parsed))


BucketKey = tuple[str, str, str, datetime, str]
"""(customer, meter, granularity, bucket start, dimensions key)."""


def _buckets(
    events: Sequence[Accepted],
) -> tuple[dict[BucketKey, list[Any]], set[tuple[str, str, str, datetime, str, str]]]:
    """The events' measures added up per rollup bucket: [count, total, min, max, latest time, latest value]; and
    the distinct values per bucket of UNIQUE_COUNT meters.

    NOTE: added up here, in one pass per minute and then per minute row, so that PostgreSQL upserts each bucket
    once per batch and aggregates nothing.
    """
    minutes: dict[tuple[str, str, str, datetime], list[Any]] = {}
    distinct: set[tuple[str, str, str, datetime, str, str]] = set()
    for accepted in events:
        time = accepted.time
        minute = time.replace(second=0, microsecond=0)
        subject = accepted.event.subject
        for meter_key, dimensions, value, seen in accepted.measures:
            tally(minutes, (subject, meter_key, dimensions, minute), value, time)
            if seen:
                for unit, start in _starts(minute):
                    distinct.add((subject, meter_key, unit, start, dimensions, seen))
    buckets: dict[BucketKey, list[Any]] = {}
    for (customer, meter, dimensions, minute), state in minutes.items():
        for unit, start in _starts(minute):
            bucket = (customer, meter, unit, start, dimensions)
            existing = buckets.get(bucket)
            if existing is None:
                buckets[bucket] = list(state)
            else:
                _add(existing, state)
    return buckets, distinct


def _starts(minute: datetime) -> tuple[tuple[str, datetime], ...]:
    return (
        (Granularity.MINUTE.value, minute),
        (Granularity.HOUR.value, minute.replace(minute=0)),
        (Granularity.DAY.value, minute.replace(hour=0, minute=0)),
    )


def _add(state: list[Any], other: list[Any]) -> None:
    """Add a bucket's state to another's (LATEST: the later event, the larger value on a tie)."""
    state[0] += other[0]
    state[1] += other[1]
    if other[2] < state[2]:
        state[2] = other[2]
    if other[3] > state[3]:
        state[3] = other[3]
    if (other[4], other[5]) > (state[4], state[5]):
        state[4], state[5] = other[4], other[5]


def _key_arrays(keys: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
    return {
        "customers": [key[0] for key in keys],
        "meters": [key[1] for key in keys],
        "units": [key[2] for key in keys],
        "starts": [key[3] for key in keys],
        "keys": [key[4] for key in keys],
    }


def _span_parameters(spans: Sequence[Span]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for n, span in enumerate(spans):
        parameters.update({f"unit_{n}": span.granularity.value, f"start_{n}": span.start, f"end_{n}": span.end})
    return parameters


class PostgresUsageStore:
    """`ports.UsageStore` over the unit of work's connection."""

    def __init__(self, connection: AsyncConnection, partitions: MonthlyPartitions):
        self._connection = connection
        self._partitions = partitions

    async def record(self, tenant_id: str, events: Sequence[Accepted], received_at: datetime) -> Recorded:
        if not events:
            return Recorded([], [])
        await self._partitions.ensure({accepted.time for accepted in events})
        stored = await self._connection.execute(
            _STORE_EVENTS,
            {
                "tenant": tenant_id,
                "now": received_at,
                "sources": [a.event.source for a in events],
                "ids": [a.event.id for a in events],
                "times": [a.time for a in events],
                "types": [a.event.type for a in events],
                "subjects": [a.event.subject for a in events],
                "datas": [a.event.data or "{}" for a in events],
                "positions": list(range(len(events))),
            },
        )
        fresh = sorted(row.position for row in stored)
        days = await self._roll_up(tenant_id, [events[position] for position in fresh])
        return Recorded(fresh, days)

    async def _roll_up(self, tenant_id: str, events: Sequence[Accepted]) -> list[DayRollup]:
        buckets, distinct = _buckets(events)
        if not buckets:
            return []
        keys = list(buckets)
        states = list(buckets.values())
        rows = await self._connection.execute(
            _ROLL_UP,
            {
                "tenant": tenant_id,
                **_key_arrays(keys),
                "counts": [state[0] for state in states],
                "totals": [state[1] for state in states],
                "minimums": [state[2] for state in states],
                "maximums": [state[3] for state in states],
                "latest_times": [state[4] for state in states],
                "latest_values": [state[5] for state in states],
            },
        )
        parsed: dict[str, dict[str, str]] = {}
        days = {
            (row.customer_id, row.meter_key, row.dimensions_key, row.bucket_start): _day(row, parsed) for row in rows
        }
        if distinct:
            values = sorted(distinct)
            counted = await self._connection.execute(
                _COUNT_DISTINCT,
                {"tenant": tenant_id, **_key_arrays([v[:5] for v in values]), "values": [v[5] for v in values]},
            )
            for row in counted:
                if row.granularity == Granularity.DAY.value:
                    days[(row.customer_id, row.meter_key, row.dimensions_key, row.bucket_start)] = _day(row, parsed)
        return [days[key] for key in sorted(days)]

    async def rollups(self, tenant_id: str, customer_id: str, meter_key: str, spans: Sequence[Span]) -> list[Rollup]:
        if not spans:
            return []
        rows = await self._connection.execute(
            _in_spans(_ROLLUP_COLUMNS, len(spans)),
            {"tenant": tenant_id, "customer": customer_id, "meter": meter_key, **_span_parameters(spans)},
        )
        return [_rollup(row) for row in rows]

    async def distinct_values(
        self, tenant_id: str, customer_id: str, meter_key: str, spans: Sequence[Span]
    ) -> list[DistinctValue]:
        if not spans:
            return []
        rows = await self._connection.execute(
            _in_spans(_DISTINCT_COLUMNS, len(spans)),
            {"tenant": tenant_id, "customer": customer_id, "meter": meter_key, **_span_parameters(spans)},
        )
        dimensions: dict[str, dict[str, str]] = {}
        values = []
        for row in rows:
            parsed = dimensions.get(row.dimensions_key)
            if parsed is None:
                parsed = dimensions[row.dimensions_key] = _parse_key(row.dimensions_key)
            values.append(DistinctValue(Granularity(row.granularity), row.bucket_start, parsed, row.value))
        return values

    async def forget_ids(self, received_before: datetime, limit: int) -> int:
        forgotten = await self._connection.execute(
            sa.text(
                "DELETE FROM usage_event_ids WHERE ctid = ANY(ARRAY("
                "SELECT ctid FROM usage_event_ids WHERE received_at < :before LIMIT :limit))"
            ),
            {"before": received_before, "limit": limit},
        )
        return int(forgotten.rowcount)

    async def has_events(self, tenant_id: str, meter_key: str) -> bool:
        found = await self._connection.execute(
            sa.text("SELECT 1 FROM usage_rollups WHERE tenant_id = :tenant AND meter_key = :meter LIMIT 1"),
            {"tenant": tenant_id, "meter": meter_key},
        )
        return found.first() is not None

    async def events(
        self, tenant_id: str, query: EventQuery, limit: int, after: tuple[datetime, str, str] | None
    ) -> list[StoredEvent]:
        conditions = ["tenant_id = :tenant"]
        parameters: dict[str, Any] = {"tenant": tenant_id, "limit": limit}
        for name, column, value in (
            ("customer", "subject", query.customer_id),
            ("type", "type", query.type),
            ("source", "source", query.source),
        ):
            if value is not None:
                conditions.append(f"{column} = :{name}")
                parameters[name] = value
        for index, (op, moment) in enumerate(query.times):
            conditions.append(f"time {_TIME_OPERATORS[op]} :time_{index}")
            parameters[f"time_{index}"] = moment
        if after is not None:
            beyond = ">" if query.oldest_first else "<"
            conditions.append(f"(time, source, id) {beyond} (:after_time, :after_source, :after_id)")
            parameters.update(after_time=after[0], after_source=after[1], after_id=after[2])
        direction = "" if query.oldest_first else " DESC"
        rows = await self._connection.execute(
            sa.text(
                "SELECT time, source, id, type, subject, data::text AS data, received_at FROM usage_events "
                f"WHERE {' AND '.join(conditions)} "
                f"ORDER BY time{direction}, source{direction}, id{direction} LIMIT :limit"
            ),
            parameters,
        )
        return [
            StoredEvent(
                UsageEvent(row.id, row.source, row.type, row.subject, row.time, row.data), row.time, row.received_at
            )
            for row in rows
        ]


def _parse_key(key: str) -> dict[str, str]:
    parsed: dict[str, str] = json.loads(key)
    return parsed
