"""Benchmark: the analytics consumer's events/s, and report latency over a year of a large tenant.

On an embedded PostgreSQL with the gateway's migrations, each beside a baseline taken in the same run:

- the consumer: lifecycle and payments events applied one per transaction (inbox claim, the standing of the
  subscription, the entry), as `EventConsumer` applies them; baseline: one plain INSERT of the same row per
  transaction over the same pool;
- the reports over a year of `--subscribers` subscribers (each: a checkout, 12 monthly renewals with their charges
  and ledger entries, a tenth churning): GetMrrReport (monthly), GetChurnReport and GetPaymentReport as the
  service layer computes them; baseline: counting the tenant's year of entries.

Run: .venv/bin/python tests/perf/bench_analytics.py [--events N] [--subscribers N]  (the figure: --subscribers 100000)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.gateway.v1 import analytics_pb2 as an
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import events_pb2 as payments_events
from azotte.payments.v1 import payments_pb2 as pay
from azotte_gateway.adapters.revenue_tables import SERIES_MEASURES
from azotte_gateway.adapters.unit_of_work import PostgresGatewayUnitOfWork
from azotte_gateway.domain.permissions import Principal, Role
from azotte_gateway.domain.revenue import MEASURES, IntervalUnit, Movement, RevenueEntry, add_up, measures
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.entrypoints.main import MIGRATIONS
from azotte_gateway.entrypoints.revenue_consumers import PER_TRANSACTION
from azotte_gateway.ports import RecurringTerms
from azotte_gateway.service_layer.analytics import Analytics
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.revenue_stream import RevenueProjection
from azotte_platform import context
from azotte_platform.clock import SystemClock
from azotte_platform.db.engine import asyncpg_dsn, create_engine
from azotte_platform.db.migrations import migrate
from azotte_platform.events.envelope import ReceivedEvent
from azotte_platform.service_kit import Units
from azotte_platform.tax import TaxPolicy
from azotte_stack.postgres import EmbeddedPostgres

TENANT = "bench"
# The reports read another tenant: the consumer's events are not part of its year.
YEAR_TENANT = "bench-year"
START = datetime(2026, 1, 1, tzinfo=UTC)


class FixedTerms:
    """Every plan monthly, no tax: the consumer's catalog lookups are cached in production too."""

    async def recurring_terms(self, tenant_id: str, plan_id: str, storefront_id: str) -> RecurringTerms:
        return RecurringTerms(IntervalUnit.MONTH, 1, TaxPolicy.none())


def report(name: str, latencies: list[float], elapsed: float | None = None, unit: str = "/s") -> None:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] * 1e3
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3
    rate = f"  throughput={len(ordered) / elapsed:8.0f}{unit}" if elapsed else ""
    print(
        f"{name:<52} n={len(ordered):>6}  p50={p50:8.2f}ms  p99={p99:8.2f}ms  "
        f"mean={statistics.fmean(ordered) * 1e3:8.2f}ms{rate}",
        flush=True,
    )


def received(producer: str, event_type: str, payload: Any, at: datetime) -> ReceivedEvent:
    return ReceivedEvent(
        id=uuid.uuid4().hex,
        type=event_type,
        source=f"azotte/{producer}",
        tenant_id=TENANT,
        time=at,
        subject="",
        data_schema="",
        data=payload.SerializeToString(),
        headers={},
    )


def subscription_event(
    index: int, state: subscription_state_pb2.SubscriptionState.ValueType, at: datetime
) -> ReceivedEvent:
    subscription = lc.Subscription(
        id=f"s{index}",
        customer_id=f"c{index}",
        plan_id="basic",
        storefront_id="us",
        channel=channel_pb2.CHANNEL_WEB,
        state=state,
        renewal_price=Money(currency_code="USD", amount_minor=999),
    )
    payload = lifecycle_events.SubscriptionEvent(subscription=subscription, cause="bench")
    payload.occur_time.FromDatetime(at)
    kind = (
        "subscription.created" if state == subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE else "subscription.expired"
    )
    return received("lifecycle", kind, payload, at)


def charge_event(index: int, at: datetime) -> ReceivedEvent:
    charge = pay.Charge(
        id=f"ch{index}-{uuid.uuid4().hex[:6]}",
        customer_id=f"c{index}",
        storefront_id="us",
        plan_id="basic",
        psp="stripe_like",
        subscription_id=f"s{index}",
        period_key=at.strftime("%Y-%m"),
        gross=Money(currency_code="USD", amount_minor=999),
        net=Money(currency_code="USD", amount_minor=999),
        tax=Money(currency_code="USD", amount_minor=0),
        discount=Money(currency_code="USD", amount_minor=0),
    )
    return received("payments", "payment.succeeded", payments_events.PaymentSucceeded(charge=charge), at)


async def consumer(args: argparse.Namespace, engine: Any, dsn: str) -> None:
    projection = RevenueProjection(FixedTerms())
    clock = SystemClock()
    events = [
        subscription_event(i, subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE, START)
        if i % 2
        else charge_event(i, START)
        for i in range(args.events)
    ]
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    await pool.execute("CREATE TABLE bench_rows (id text PRIMARY KEY, at timestamptz, amount bigint)")

    async def baseline(chunk: list[ReceivedEvent]) -> None:
        async with pool.acquire() as connection, connection.transaction():
            for event in chunk:
                await connection.execute("INSERT INTO bench_rows VALUES ($1, $2, $3)", event.id, START, 999)

    async def apply(chunk: list[ReceivedEvent]) -> None:
        async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
            for event in chunk:
                if await uow.claim_event("bench-revenue", event.id, TENANT):
                    await projection.apply(uow, event)
            await uow.commit()

    print(f"analytics consumer: {args.events} events (half subscription, half charge)")
    for size in (1, PER_TRANSACTION):
        for name, call in (("baseline: one INSERT per event", baseline), ("consumer: apply each event", apply)):
            chunks = [events[i : i + size] for i in range(0, len(events), size)]
            started = time.perf_counter()
            for chunk in chunks:
                await call([replace(e, id=uuid.uuid4().hex) for e in chunk] if call is baseline else chunk)
            elapsed = time.perf_counter() - started
            print(f"{name + f', {size} per transaction':<52} {len(events) / elapsed:8.0f} events/s", flush=True)
        events = [replace(e, id=uuid.uuid4().hex) for e in events]
    await pool.close()


def _year_of(subscriber: int) -> list[RevenueEntry]:
    """A subscriber's year: created, 12 monthly charges and ledger entries, 11 renewals; a tenth churn in month 6."""
    who: dict[str, Any] = {
        "customer_id": f"c{subscriber}",
        "subscription_id": f"s{subscriber}",
        "plan_id": "basic",
        "storefront_id": "us",
        "channel": "WEB",
        "currency": "USD",
    }
    joined = START + timedelta(minutes=subscriber % 43_200)
    months = 6 if subscriber % 10 == 0 else 12

    def entry(kind: str, at: datetime, **values: Any) -> RevenueEntry:
        source = "lifecycle" if kind.startswith("subscription") else "payments"
        return RevenueEntry(uuid.uuid4().hex, at, source, kind, **who, **values)

    year = [
        entry(
            "subscription.created",
            joined,
            state="ACTIVE",
            movement=Movement.NEW,
            mrr_delta_minor=999,
            paying_delta=1,
            customer_paying_delta=1,
        )
    ]
    for month in range(months):
        at = joined + timedelta(days=30 * month)
        charge = {"charge_id": f"ch{subscriber}-{month}", "period_key": str(month)}
        year.append(entry("payment.succeeded", at, gross_minor=999, net_minor=999, psp="stripe_like", **charge))
        year.append(entry("revenue.recorded", at, ledger_net_minor=999, **charge))
        if month:
            year.append(entry("subscription.renewed", at, state="ACTIVE"))
    if months == 6:
        lost: dict[str, Any] = {
            "movement": Movement.CHURN,
            "mrr_delta_minor": -999,
            "paying_delta": -1,
            "customer_paying_delta": -1,
        }
        year.append(entry("subscription.expired", joined + timedelta(days=180), state="EXPIRED", **lost))
    return year


async def load_year(dsn: str, subscribers: int) -> int:
    """The entries, and the daily read model and charge series they add up to (as `add` would store them)."""
    entries = [e for s in range(subscribers) for e in _year_of(s)]
    columns = [name for name in RevenueEntry.__dataclass_fields__ if name != "seq"]
    rows = [tuple(getattr(e, c).value if c == "movement" else getattr(e, c) for c in columns) for e in entries]
    days = add_up((e.occur_time.date(), e.currency, measures(e)) for e in entries)
    # Every series is one charge that succeeded: started, first-attempt and eventual success alike.
    series_per_day = Counter(e.occur_time.date() for e in entries if e.type == "payment.succeeded")
    day_rows = [
        (YEAR_TENANT, d.day, d.currency, "us", "WEB", "basic", *d.values(), *[series_per_day[d.day]] * 3) for d in days
    ]
    series = [
        (YEAR_TENANT, f"{e.subscription_id}/{e.period_key}", e.occur_time, "USD", "us", "WEB", "basic", True, True)
        for e in entries
        if e.type == "payment.succeeded"
    ]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "revenue_entries", records=[(YEAR_TENANT, *r) for r in rows], columns=["tenant_id", *columns]
        )
        await connection.copy_records_to_table(
            "revenue_days",
            records=day_rows,
            columns=[
                "tenant_id",
                "day",
                "currency",
                "storefront_id",
                "channel",
                "plan_id",
                *MEASURES,
                *SERIES_MEASURES,
            ],
        )
        await connection.copy_records_to_table("revenue_charge_series", records=series)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return len(rows)


async def reports(args: argparse.Namespace, engine: Any, dsn: str) -> None:
    started = time.perf_counter()
    stored = await load_year(dsn, args.subscribers)
    print(
        f"\nreports over a year of {args.subscribers} subscribers: {stored} entries loaded in "
        f"{time.perf_counter() - started:.1f}s"
    )
    units = Units(lambda: PostgresGatewayUnitOfWork(engine, "gateway", SystemClock()))
    analytics = Analytics(units, RevenueProjection(FixedTerms()), history=None)  # type: ignore[arg-type]
    year_end = START + timedelta(days=365)
    caller = admin_caller()

    async def baseline() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.fetchval(
                "SELECT count(*) FROM revenue_entries WHERE tenant_id = $1 AND occur_time >= $2 AND occur_time < $3",
                YEAR_TENANT,
                START,
                year_end,
            )
        finally:
            await connection.close()

    def mrr_request() -> an.GetMrrReportRequest:
        request = an.GetMrrReportRequest(granularity=an.GRANULARITY_MONTH)
        request.start_time.FromDatetime(START)
        request.end_time.FromDatetime(year_end)
        return request

    def churn_request() -> an.GetChurnReportRequest:
        request = an.GetChurnReportRequest(window_days=30)
        request.time.FromDatetime(START + timedelta(days=200))
        return request

    def payments_request() -> an.GetPaymentReportRequest:
        request = an.GetPaymentReportRequest()
        request.start_time.FromDatetime(START)
        request.end_time.FromDatetime(year_end)
        return request

    lines: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("baseline: count the tenant's year of entries", baseline),
        ("GetMrrReport (12 months)", lambda: analytics.get_mrr_report(caller, mrr_request())),
        ("GetChurnReport (30 days)", lambda: analytics.get_churn_report(caller, churn_request())),
        ("GetPaymentReport (a year)", lambda: analytics.get_payment_report(caller, payments_request())),
    ]
    with context.tenant_scope(YEAR_TENANT, request_id="bench"):
        for name, call in lines:
            await call()
            latencies = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                await call()
                latencies.append(time.perf_counter() - started)
            report(name, latencies)


def admin_caller() -> Caller:
    principal = Principal(tenant_id=YEAR_TENANT, tenant_mode=TenantMode.SANDBOX, api_key_id="bench", role=Role.ADMIN)
    return Caller(principal, Tenant(YEAR_TENANT, YEAR_TENANT, TenantMode.SANDBOX))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "pg", fast=True)
        await postgres.start()
        try:
            url = postgres.database_url("azotte_gateway")
            await migrate(MIGRATIONS, url)
            engine = create_engine(url)
            with context.tenant_scope(TENANT, request_id="bench"):
                await consumer(args, engine, asyncpg_dsn(url))
            await reports(args, engine, asyncpg_dsn(url))
            await engine.dispose()
        finally:
            postgres.stop(fast=True)


if __name__ == "__main__":
    asyncio.run(main())
