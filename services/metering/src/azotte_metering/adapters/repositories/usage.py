"""Usage events and rollups on PostgreSQL: one deduplicating insert and one rollup upsert per batch.

NOTE: every statement takes its row locks in one order — event ids sorted by (source, id), rollup rows by
their key — so concurrent batches over the same customers queue instead of deadlocking.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_metering.adapters.partitions import MonthlyPartitions
from azotte_metering.domain.ingestion import Accepted, UsageEvent
from azotte_metering.domain.usage import Bucket, DistinctValue, Granularity, Rollup, Span
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
        RETURNING r.*
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
    RETURNING r.*
    """
)

_SPANS = """
    WITH spans AS (
        SELECT * FROM unnest(CAST(:units AS text[]), CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]))
            AS s(unit, start_time, end_time)
    )
"""

_ROLLUPS = sa.text(
    _SPANS
    + """
    SELECT r.* FROM spans s JOIN usage_rollups r
      ON r.tenant_id = :tenant AND r.customer_id = :customer AND r.meter_key = :meter
     AND r.granularity = s.unit AND r.bucket_start >= s.start_time AND r.bucket_start < s.end_time
    """
)

_DISTINCT_VALUES = sa.text(
    _SPANS
    + """
    SELECT d.granularity, d.bucket_start, d.dimensions_key, d.value FROM spans s JOIN usage_distinct_values d
      ON d.tenant_id = :tenant AND d.customer_id = :customer AND d.meter_key = :meter
     AND d.granularity = s.unit AND d.bucket_start >= s.start_time AND d.bucket_start < s.end_time
    """
)


_TIME_OPERATORS = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _rollup(row: Any) -> Rollup:
    bucket = Bucket(
        event_count=row.event_count,
        total=row.total,
        minimum=row.minimum,
        maximum=row.maximum,
        latest_time=row.latest_time,
        latest_value=row.latest_value,
        distinct_count=row.distinct_count,
    )
    return Rollup(Granularity(row.granularity), row.bucket_start, dict(row.dimensions), bucket)


def _day(row: Any) -> DayRollup:
    return DayRollup(row.customer_id, row.meter_key, row.dimensions_key, row.bucket_start, _rollup(row))


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
        for measure in accepted.measures:
            value = measure.value
            key = (accepted.event.subject, measure.meter_key, measure.dimensions_key, minute)
            state = minutes.get(key)
            if state is None:
                minutes[key] = [1, value, value, value, time, value]
            else:
                _add(state, [1, value, value, value, time, value])
            if measure.distinct:
                for unit, start in _starts(minute):
                    distinct.add((key[0], key[1], unit, start, key[2], measure.distinct))
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


def _span_arrays(spans: Sequence[Span]) -> dict[str, list[Any]]:
    return {
        "units": [span.granularity.value for span in spans],
        "starts": [span.start for span in spans],
        "ends": [span.end for span in spans],
    }


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
        days = {(row.customer_id, row.meter_key, row.dimensions_key, row.bucket_start): _day(row) for row in rows}
        if distinct:
            values = sorted(distinct)
            counted = await self._connection.execute(
                _COUNT_DISTINCT,
                {"tenant": tenant_id, **_key_arrays([v[:5] for v in values]), "values": [v[5] for v in values]},
            )
            for row in counted:
                if row.granularity == Granularity.DAY.value:
                    days[(row.customer_id, row.meter_key, row.dimensions_key, row.bucket_start)] = _day(row)
        return [days[key] for key in sorted(days)]

    async def rollups(self, tenant_id: str, customer_id: str, meter_key: str, spans: Sequence[Span]) -> list[Rollup]:
        rows = await self._connection.execute(
            _ROLLUPS, {"tenant": tenant_id, "customer": customer_id, "meter": meter_key, **_span_arrays(spans)}
        )
        return [_rollup(row) for row in rows]

    async def distinct_values(
        self, tenant_id: str, customer_id: str, meter_key: str, spans: Sequence[Span]
    ) -> list[DistinctValue]:
        rows = await self._connection.execute(
            _DISTINCT_VALUES, {"tenant": tenant_id, "customer": customer_id, "meter": meter_key, **_span_arrays(spans)}
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
