"""Benchmark: rating a backlog of `usage.recorded` events, a customer at a time, beside one event per transaction.

Ingest writes one `usage.recorded` per customer, meter and dimension values each transaction touched: under a
sustained load the rating consumer must keep up with thousands of them a second, or wallets, quotas and limits
fall behind the usage. Starts PostgreSQL (durable) and NATS, and in the same run, on two databases set up alike
(`--customers` customers subscribed, a graduated tokens price per model, a wallet with credit, a spend limit and
a units limit each):

- the metering outbox relay publishes `--events` `usage.recorded` events (a random customer's usage of one to
  three models each) to the metering stream;
- baseline: the rating consumer applying one event per transaction (the period locked, the wallet paid, the
  quotas reported and the limits checked per event);
- together: the rating consumer as it runs (`billing.USAGE_EVENTS`), the events fetched together rated in one
  transaction, each customer's at once.

Each consumer drains the whole backlog from the stream; the figure is events rated per second until the last
one is in its inbox. The totals both leave are compared (they must be the same).

Run: .venv/bin/python tests/perf/bench_metering_rating.py [--events N] [--customers C]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import time
from datetime import timedelta
from decimal import Decimal

import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
import sqlalchemy as sa
from nats.js.client import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_metering.adapters import proto
from azotte_metering.adapters.billing_unit_of_work import PostgresBillingUnitOfWork
from azotte_metering.adapters.partitions import MonthlyPartitions
from azotte_metering.adapters.unit_of_work import PostgresMeteringUnitOfWork
from azotte_metering.billing_ports import ChargeAnswer
from azotte_metering.domain.charges import Period, UsageAccount
from azotte_metering.domain.events import MeterUsage, UsageRecorded
from azotte_metering.domain.limits import Limit, Measure, Policy
from azotte_metering.domain.meters import Aggregation, Meter
from azotte_metering.domain.pricing import PriceModel, PricingModel, Tier, UsagePrice
from azotte_metering.domain.quotas import QuotaReset
from azotte_metering.domain.wallets import GrantSource
from azotte_metering.entrypoints.billing import USAGE_EVENTS, UsageRatingHandler
from azotte_metering.entrypoints.main import MIGRATIONS
from azotte_metering.service_layer import limits, prices, wallets
from azotte_metering.service_layer.meters import create_meter
from azotte_metering.service_layer.recharger import Recharger
from azotte_platform.clock import SystemClock
from azotte_platform.context import tenant_scope
from azotte_platform.db.engine import create_engine
from azotte_platform.db.migrations import migrate
from azotte_platform.db.tables import inbox
from azotte_platform.events import nats_connection
from azotte_platform.events.consumer import ConsumerSpec, EventConsumer
from azotte_platform.events.relay import OutboxRelay
from azotte_stack.nats import EmbeddedNats
from azotte_stack.postgres import EmbeddedPostgres

TENANT = "bench"
MODELS = ("gpt-4o", "llama-3", "mistral")
D = Decimal
GRADUATED = PriceModel(
    PricingModel.GRADUATED, tiers=(Tier(D(100_000), D("0.002")), Tier(None, D("0.001"))), included_units=D(1000)
)


class NoPayments:
    """`Payments`: no wallet here falls below an auto-recharge threshold, so nothing is ever charged."""

    async def charge(self, **_: object) -> ChargeAnswer:
        raise AssertionError("no auto-recharge in this benchmark")


class EveryPeriod:
    """`QuotaResets`: every quota resets with the billing period (the catalog is not running)."""

    async def reset_period(self, feature_key: str) -> QuotaReset:
        return QuotaReset.BILLING_PERIOD


async def set_up(engine: AsyncEngine, customers: int) -> None:
    """A SUM meter `tokens` by model; customers on `plan_ai`, priced per model, with credit and two limits each."""
    clock = SystemClock()
    now = clock.now()
    period = Period(now - timedelta(days=1), now + timedelta(days=29))
    with tenant_scope(TENANT):
        async with PostgresMeteringUnitOfWork(engine, clock, proto.to_event, MonthlyPartitions(engine)) as unit:
            meter = Meter(TENANT, "tokens", "Tokens", "ai.tokens", "$.tokens", Aggregation.SUM, ("model",), now, now)
            await create_meter(unit, meter)
            await unit.commit()
        async with PostgresBillingUnitOfWork(engine, clock) as uow:
            for model in MODELS:
                price = UsagePrice("sf_us", "plan_ai", "tokens", "USD", GRADUATED, {"model": model})
                await prices.set_usage_price(uow, TENANT, price)
            for n in range(customers):
                account = UsageAccount(f"cus-{n}", f"sub-{n}", "sf_us", "plan_ai", "USD", period)
                await uow.usage.put_account(TENANT, account, now)
            await uow.commit()
        for n in range(customers):
            async with PostgresBillingUnitOfWork(engine, clock) as uow:
                customer = f"cus-{n}"
                await wallets.grant_credit(uow, TENANT, customer, "USD", 10**9, GrantSource.ADMIN)
                spend = Limit(f"spend-{n}", customer, "ai.chat", Measure.SPEND, D(10**8), Policy.SUSPEND, "", "USD")
                units = Limit(
                    f"units-{n}", customer, "ai.chat", Measure.UNITS, D(10**12), Policy.SUSPEND, "tokens", "", (80,)
                )
                for limit in (spend, units):
                    await limits.set_limit(uow, TENANT, limit)
                await uow.commit()


async def publish_backlog(engine: AsyncEngine, nats_url: str, database_url: str, events: int, customers: int) -> None:
    """`events` usage.recorded (a random customer's usage of one to three models each) through the metering outbox
    and its relay, 500 per transaction."""
    rng = random.Random(7)
    clock = SystemClock()
    partitions = MonthlyPartitions(engine)
    for start in range(0, events, 500):
        async with PostgresMeteringUnitOfWork(engine, clock, proto.to_event, partitions) as uow:
            now = clock.now()
            facts = [
                UsageRecorded(
                    f"cus-{rng.randrange(customers)}",
                    tuple(
                        MeterUsage("tokens", Aggregation.SUM, {"model": model}, now, now, 3, D(rng.randrange(1, 4000)))
                        for model in sorted(rng.sample(MODELS, rng.randrange(1, 4)))
                    ),
                )
                for _ in range(start, min(start + 500, events))
            ]
            uow.emit(TENANT, *facts)
            await uow.commit()
    client = await nats_connection.connect(nats_url, name="bench-relay")
    await nats_connection.ensure_service_stream(client.jetstream(), "metering")
    relay = OutboxRelay(engine, client, "metering", database_url=database_url)
    assert await relay.publish_pending() >= events  # NOTE: with the set-up's own events (credit.granted)
    await client.close()


async def drain(js: JetStreamContext, engine: AsyncEngine, spec: ConsumerSpec, events: int) -> float:
    """Run the rating consumer `spec` until every event is in its inbox; the seconds it took."""
    clock = SystemClock()
    recharger = Recharger(lambda: PostgresBillingUnitOfWork(engine, clock), NoPayments())
    rate = UsageRatingHandler(recharger, EveryPeriod())
    consumer = EventConsumer(
        js, lambda: PostgresBillingUnitOfWork(engine, clock), spec, rate, apply_together=rate.together
    )
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run())
    try:
        while await handled(engine, spec.durable) < events:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        return time.perf_counter() - started
    finally:
        task.cancel()
        await asyncio.wait([task])


async def handled(engine: AsyncEngine, durable: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).where(inbox.c.consumer == durable)) or 0)


async def totals(engine: AsyncEngine) -> list[tuple[str, str, Decimal, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT customer_id, dimensions_key, quantity, rated_minor FROM usage_period_totals ORDER BY 1, 2")
        )
        return [(row.customer_id, row.dimensions_key, row.quantity, row.rated_minor) for row in rows]


async def main(events: int, customers: int) -> None:
    root = perf_suite.scratch_dir("bench-rating-")
    postgres, nats = EmbeddedPostgres(root / "pg"), EmbeddedNats(root / "nats")
    await asyncio.gather(postgres.start(), nats.start())
    try:
        client = await nats_connection.connect(nats.url, name="bench")
        js = client.jetstream()
        runs = {
            "baseline: one event per transaction": dataclasses.replace(
                USAGE_EVENTS, durable="bench-one-by-one", per_transaction=1
            ),
            f"together: {USAGE_EVENTS.per_transaction} per transaction, a customer at a time": USAGE_EVENTS,
        }
        seconds: dict[str, float] = {}
        left: list[object] = []
        for number, (name, spec) in enumerate(runs.items()):
            url = postgres.database_url(f"metering_{number}")
            await migrate(MIGRATIONS, url)
            engine = create_engine(url)
            await set_up(engine, customers)
            if number == 0:
                await publish_backlog(engine, nats.url, url, events, customers)
            seconds[name] = await drain(js, engine, spec, events)
            left.append(await totals(engine))
            await engine.dispose()
        await client.close()
        assert left[0] == left[1], "rating together left other totals than rating one by one"
        print(f"metering rating: a backlog of {events:,} usage.recorded, {customers:,} customers, 3 models each")
        for name, elapsed in seconds.items():
            print(f"  {name:<58} {events / elapsed:>8,.0f} events/s  ({elapsed:.2f} s)")
        baseline, together = seconds.values()
        print(f"  {'together / baseline':<58} {baseline / together:>8.1f}x")
    finally:
        nats.stop()
        postgres.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--customers", type=int, default=500)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.customers))
