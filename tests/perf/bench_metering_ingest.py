"""Benchmark: sustained usage ingestion, durable and deduplicated, beside a raw asyncpg unnest-insert of the same rows.

Starts PostgreSQL (durable settings: fsync and synchronous commit on) and measures, in the same run:

- ingest: the ingest use case as the servicer runs it (`GroupCommit`: judge every event, then, with the batches
  waiting meanwhile, dedup on (source, id), store the raw event in its monthly partition, roll up
  minute/hour/day per (customer, meter, model), emit usage.recorded to the outbox, commit) in batches of
  `--batch` events with `--concurrency` batches in flight on one process and event loop;
- replay: the same events sent again (all duplicates: nothing stored or counted twice);
- baseline: the same rows inserted by raw asyncpg, one `INSERT ... SELECT * FROM unnest(...)` per batch, into
  a plain table of the raw events' columns and indexes, same batch size and concurrency;
- floors, what a store deduplicating on (source, id) writes at the least, by raw asyncpg, one statement per batch,
  with no judging, rollups or outbox: the dedup keys (`ON CONFLICT DO NOTHING`) and the new ones' raw rows into
  plain tables of the dedup keys' and the raw events' columns and indexes (the layout the ingest keeps, where the
  raw events are partitioned by time); and, cheaper still, the raw rows alone in one table keyed on (source, id)
  (`ON CONFLICT DO NOTHING`, the raw events' other index). Their share of the baseline bounds what a
  deduplicated ingest can reach.

The events are built before the clock starts (the gRPC/JSON decoding of a request is not measured), after the
garbage collector is tuned as a serving metering process tunes it (`tune_garbage_collector`).

Run: .venv/bin/python tests/perf/bench_metering_ingest.py [--events N] [--batch B] [--concurrency C] [--lanes L]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
import uvloop

from azotte_metering.adapters import proto
from azotte_metering.adapters.partitions import MonthlyPartitions
from azotte_metering.adapters.unit_of_work import PostgresMeteringUnitOfWork
from azotte_metering.domain.ingestion import UsageEvent
from azotte_metering.domain.meters import Aggregation, Meter
from azotte_metering.entrypoints.main import MIGRATIONS
from azotte_metering.service_layer.ingest import INGEST_LANES, GroupCommit, Outcome
from azotte_metering.service_layer.meters import create_meter
from azotte_platform.clock import SystemClock
from azotte_platform.context import tenant_scope
from azotte_platform.db.engine import asyncpg_dsn, create_engine
from azotte_platform.db.migrations import migrate
from azotte_platform.grpc.server import tune_garbage_collector
from azotte_stack.postgres import EmbeddedPostgres

TENANT = "bench"
MODELS = ("gpt-4o", "llama-3", "mistral")
BASELINE_TABLE = """
CREATE TABLE baseline_events (
    tenant_id text, time timestamptz, source text, id text, type text, subject text, data jsonb,
    received_at timestamptz, PRIMARY KEY (tenant_id, time, source, id)
);
CREATE INDEX ON baseline_events (tenant_id, subject, time);
"""
FLOOR_TABLES = """
CREATE TABLE floor_ids (
    tenant_id text, source text, id text, received_at timestamptz NOT NULL, PRIMARY KEY (tenant_id, source, id)
);
CREATE INDEX ON floor_ids (received_at);
CREATE TABLE floor_events (LIKE baseline_events INCLUDING ALL);
CREATE TABLE floor_keyed (
    tenant_id text, time timestamptz, source text, id text, type text, subject text, data jsonb,
    received_at timestamptz, PRIMARY KEY (tenant_id, source, id)
);
CREATE INDEX ON floor_keyed (tenant_id, subject, time);
"""
FLOOR_KEYED_INSERT = """
INSERT INTO floor_keyed (tenant_id, time, source, id, type, subject, data, received_at)
SELECT $1, t, s, i, ty, su, d::jsonb, now()
FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS v(t, s, i, ty, su, d)
ORDER BY s, i
ON CONFLICT DO NOTHING
"""
FLOOR_INSERT = """
WITH incoming AS (
    SELECT * FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
        AS v(t, s, i, ty, su, d)
),
fresh AS (
    INSERT INTO floor_ids (tenant_id, source, id, received_at)
    SELECT $1, s, i, now() FROM incoming ORDER BY s, i
    ON CONFLICT DO NOTHING
    RETURNING source, id
)
INSERT INTO floor_events (tenant_id, time, source, id, type, subject, data, received_at)
SELECT $1, t, s, i, ty, su, d::jsonb, now() FROM incoming JOIN fresh ON fresh.source = s AND fresh.id = i
"""
BASELINE_INSERT = """
INSERT INTO baseline_events (tenant_id, time, source, id, type, subject, data, received_at)
SELECT $1, t, s, i, ty, su, d::jsonb, now()
FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS v(t, s, i, ty, su, d)
"""


def make_events(count: int, customers: int, rate: int) -> list[UsageEvent]:
    """Token events of `customers` customers on three models, timed as if produced at `rate` events/s up to now;
    one in a hundred arrives late (up to 30 days)."""
    rng = random.Random(7)
    start = datetime.now(UTC) - timedelta(seconds=count / rate)
    return [
        UsageEvent(
            id=f"evt-{i}",
            source="chat-backend",
            type="ai.tokens",
            subject=f"cus-{rng.randrange(customers)}",
            time=start
            + timedelta(seconds=i / rate)
            - (timedelta(minutes=rng.randrange(43_200)) if i % 100 == 0 else timedelta()),
            data=json.dumps({"tokens": rng.randrange(1, 4000), "model": rng.choice(MODELS)}),
        )
        for i in range(count)
    ]


async def in_flight(
    batches: Sequence[Sequence[UsageEvent]], concurrency: int, send: Callable[[Sequence[UsageEvent]], Awaitable[None]]
) -> float:
    """Send every batch with `concurrency` in flight; the wall time."""
    queue = list(reversed(batches))

    async def worker() -> None:
        while queue:
            await send(queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def main(events: int, batch: int, concurrency: int, customers: int, lanes: int) -> None:
    root = perf_suite.scratch_dir("bench-metering-")
    postgres = EmbeddedPostgres(root / "pg")
    await postgres.start()
    try:
        url = postgres.database_url("metering")
        await migrate(MIGRATIONS, url)
        engine = create_engine(url, pool_size=concurrency + 2)
        partitions = MonthlyPartitions(engine)
        clock = SystemClock()

        def uow() -> PostgresMeteringUnitOfWork:
            return PostgresMeteringUnitOfWork(engine, clock, proto.to_event, partitions)

        with tenant_scope(TENANT):
            now = clock.now()
            async with uow() as unit:
                meter = Meter(
                    TENANT, "tokens", "Tokens", "ai.tokens", "$.tokens", Aggregation.SUM, ("model",), now, now
                )
                await create_meter(unit, meter)
                await unit.commit()
            tune_garbage_collector()  # as a metering process does once it serves
            generated = make_events(events, customers, rate=50_000)
            batches = [generated[i : i + batch] for i in range(0, len(generated), batch)]
            await partitions.ensure(e.time for e in generated if e.time is not None)
            accepted = 0
            group = GroupCommit(uow, lanes=lanes)

            async def send(events: Sequence[UsageEvent]) -> None:
                nonlocal accepted
                results = await group.ingest(TENANT, events)
                accepted += sum(r.outcome is Outcome.ACCEPTED for r in results)

            elapsed = await in_flight(batches, concurrency, send)
            replay = await in_flight(batches, concurrency, send)
        assert accepted == events, f"{accepted} accepted of {events}"

        dsn = asyncpg_dsn(url)
        pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
        async with pool.acquire() as connection:
            await connection.execute(BASELINE_TABLE)
            await connection.execute(FLOOR_TABLES)

        async def insert(events: Sequence[UsageEvent], statement: str = BASELINE_INSERT) -> None:
            async with pool.acquire() as connection:
                await connection.execute(
                    statement,
                    TENANT,
                    [e.time for e in events],
                    [e.source for e in events],
                    [e.id for e in events],
                    [e.type for e in events],
                    [e.subject for e in events],
                    [e.data for e in events],
                )

        baseline = await in_flight(batches, concurrency, insert)
        floor = await in_flight(batches, concurrency, lambda events: insert(events, FLOOR_INSERT))
        keyed = await in_flight(batches, concurrency, lambda events: insert(events, FLOOR_KEYED_INSERT))
        await pool.close()
        await engine.dispose()

        rate, base_rate = events / elapsed, events / baseline
        print(f"metering ingest: {events:,} events, batches of {batch:,}, {concurrency} in flight, {lanes} lanes")
        print(f"  {customers:,} customers, 3 models, timed at 50,000/s up to now, 1 in 100 up to 30 days late")
        for name, figure, seconds in (
            ("ingest use case (dedup, raw, rollups, outbox; durable)", rate, elapsed),
            ("replay of the same events (all duplicates)", events / replay, replay),
            ("baseline: raw asyncpg unnest insert of the same rows", base_rate, baseline),
            ("floor: dedup keys + raw rows, raw asyncpg", events / floor, floor),
            ("floor: raw rows keyed on (source, id), raw asyncpg", events / keyed, keyed),
        ):
            print(f"  {name:<56} {figure:>10,.0f} events/s  ({seconds:.2f} s)")
        print(f"  {'ingest / baseline':<56} {rate / base_rate:>10.0%}")
        print(f"  {'floors / baseline':<56} {events / floor / base_rate:>10.0%} {events / keyed / base_rate:>5.0%}")
        print(f"  {'ingest / floor of its layout':<56} {rate * floor / events:>10.0%}")
    finally:
        postgres.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--lanes", type=int, default=INGEST_LANES, help="transactions of the tenant side by side")
    arguments = parser.parse_args()
    uvloop.run(main(arguments.events, arguments.batch, arguments.concurrency, arguments.customers, arguments.lanes))
