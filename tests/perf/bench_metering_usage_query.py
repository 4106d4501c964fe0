"""Benchmark: a customer's current usage of a meter (GetUsage's use case) with N events stored, p50/p99, beside
the same answer computed from the raw events (what the rollups spare).

Starts PostgreSQL, migrates the metering database, and stores N token events over the last 30 days for
`--customers` customers on three models, with their minute/hour/day rollups (built by SQL in bulk, the same
rows the ingest use case writes), and vacuums and analyzes them as autovacuum would. Then, for random customers,
asks for a billing month's usage (a window that starts and ends mid-hour), grouped by model:

- usage from rollups: `service_layer.usage.get_usage` in a unit of work (what GetUsage runs);
- baseline: the same sums straight from the raw events (index on customer and time), in the same run.

Run: .venv/bin/python tests/perf/bench_metering_usage_query.py [--events N] [--queries Q]
     (--events 10000000 for the issue's figure; the default finishes in about a minute)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import timedelta

import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
import sqlalchemy as sa

from azotte_metering.adapters import proto
from azotte_metering.adapters.partitions import MonthlyPartitions
from azotte_metering.adapters.unit_of_work import PostgresMeteringUnitOfWork
from azotte_metering.domain.meters import Aggregation, Meter
from azotte_metering.entrypoints.main import MIGRATIONS
from azotte_metering.service_layer.meters import create_meter
from azotte_metering.service_layer.usage import UsageQuery, get_usage
from azotte_platform.clock import SystemClock
from azotte_platform.context import tenant_scope
from azotte_platform.db.engine import create_engine
from azotte_platform.db.migrations import migrate
from azotte_stack.postgres import EmbeddedPostgres

TENANT = "bench"
GENERATE_EVENTS = sa.text(
    """
    INSERT INTO usage_events (tenant_id, time, source, id, type, subject, data, received_at)
    SELECT :tenant, CAST(:start AS timestamptz) + (g::float8 / CAST(:n AS int)) * interval '30 days', 'gen',
           'e' || g, 'ai.tokens', 'cus-' || (hashint4(g) & 2147483647) % CAST(:customers AS int),
           jsonb_build_object('tokens', 1 + g % 4000, 'model', (ARRAY['gpt-4o', 'llama-3', 'mistral'])[1 + g % 3]),
           now()
    FROM generate_series(1, CAST(:n AS int)) AS g
    """
)
ROLL_UP = sa.text(
    """
    INSERT INTO usage_rollups (tenant_id, customer_id, meter_key, granularity, bucket_start, dimensions_key,
                               dimensions, event_count, total, minimum, maximum, latest_time, latest_value)
    SELECT tenant_id, subject, 'tokens', u.unit, date_trunc(u.unit, time, 'UTC'),
           jsonb_build_object('model', data->>'model')::text, jsonb_build_object('model', data->>'model'),
           count(*), sum((data->>'tokens')::numeric), min((data->>'tokens')::numeric),
           max((data->>'tokens')::numeric), max(time), (array_agg((data->>'tokens')::numeric ORDER BY time DESC))[1]
    FROM usage_events CROSS JOIN (VALUES ('minute'), ('hour'), ('day')) AS u(unit)
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    """
)
RAW_USAGE = sa.text(
    """
    SELECT data->>'model' AS model, sum((data->>'tokens')::numeric) AS total, count(*) AS n
    FROM usage_events
    WHERE tenant_id = :tenant AND subject = :customer AND time >= :start AND time < :end AND type = 'ai.tokens'
    GROUP BY 1
    """
)


def percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] * 1e3
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3
    return f"p50={p50:7.2f} ms  p99={p99:7.2f} ms  (n={len(ordered)})"


async def main(events: int, customers: int, queries: int) -> None:
    root = perf_suite.scratch_dir("bench-usage-")
    postgres = EmbeddedPostgres(root / "pg", fast=True)
    await postgres.start()
    try:
        url = postgres.database_url("metering")
        await migrate(MIGRATIONS, url)
        engine = create_engine(url)
        partitions = MonthlyPartitions(engine)
        clock = SystemClock()
        now = clock.now().replace(second=0, microsecond=0)
        start = now - timedelta(days=30)
        await partitions.ensure([start, now])

        def uow() -> PostgresMeteringUnitOfWork:
            return PostgresMeteringUnitOfWork(engine, clock, proto.to_event, partitions)

        stored = time.perf_counter()
        async with engine.begin() as connection:
            parameters = {"tenant": TENANT, "start": start, "n": events, "customers": customers}
            await connection.execute(GENERATE_EVENTS, parameters)
            await connection.execute(ROLL_UP)
        # NOTE: as autovacuum leaves a table after a bulk load: visibility map set, hint bits written, statistics.
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(sa.text("VACUUM ANALYZE"))
            rollups = (await connection.execute(sa.text("SELECT count(*) FROM usage_rollups"))).scalar_one()
        seconds = time.perf_counter() - stored
        print(f"metering usage query: {events:,} events of {customers:,} customers stored in {seconds:.1f} s")
        print(f"  ({rollups:,} rollup rows: minute, hour and day per customer and model)")

        rng = random.Random(3)
        window_start = start + timedelta(hours=13, minutes=37)
        window_end = now - timedelta(minutes=23)
        with tenant_scope(TENANT):
            async with uow() as unit:
                meter = Meter(
                    TENANT, "tokens", "Tokens", "ai.tokens", "$.tokens", Aggregation.SUM, ("model",), now, now
                )
                await create_meter(unit, meter)
                await unit.commit()
            from_rollups: list[float] = []
            from_raw: list[float] = []
            for _ in range(queries):
                customer = f"cus-{rng.randrange(customers)}"
                query = UsageQuery(customer, "tokens", window_start, window_end, None, ("model",))
                began = time.perf_counter()
                async with uow() as unit:
                    usage = await get_usage(unit, TENANT, query)
                from_rollups.append(time.perf_counter() - began)
                began = time.perf_counter()
                async with engine.connect() as connection:
                    raw = (
                        await connection.execute(
                            RAW_USAGE,
                            {"tenant": TENANT, "customer": customer, "start": window_start, "end": window_end},
                        )
                    ).all()
                from_raw.append(time.perf_counter() - began)
                expected = {row.model: row.total for row in raw}
                assert {v.dimensions["model"]: v.value for v in usage.values} == expected, customer
        print(f"  usage from rollups (get_usage, a month by model)   {percentiles(from_rollups)}")
        print(f"  baseline: the same sums from the raw events        {percentiles(from_raw)}")
        await engine.dispose()
    finally:
        postgres.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=300)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.customers, arguments.queries))
