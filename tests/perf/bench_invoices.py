"""Benchmark: invoices issued per second in a batch of contract customers, beside plain inserts of the same rows.

On an embedded PostgreSQL with payments' migrations, one storefront, each customer's monthly invoice (a recurring
line, a usage line and a true-up) created and issued in one transaction as `CreateInvoice(issue=true)` does it:
a gap-free number from the storefront's counter, tax, the journal entry, the events in the outbox and the PDF
queued for the render worker (rendered after the commit, not measured here). Baseline: one plain INSERT of the
same invoice row per transaction over the same pool.

`--contracts N` adds the renewal path: N contracts (lifecycle's tables, each with its direct subscription) whose
first period has ended, and one sweep of lifecycle's scheduler that invoices them all: claims in batches, the
contract's lines, `CreateInvoices` (issued together) over gRPC (GrpcPayments) to payments' InvoicesService served in
this process on the same PostgreSQL, the period advanced and committed. Its figure is printed beside the direct issue
rate measured in the same run; afterwards every contract must hold exactly one invoice.

Run: .venv/bin/python tests/perf/bench_invoices.py [--customers N] [--concurrency N] [--contracts N]
(the figure: --customers 10000)
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import grpc
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte.payments.v1 import invoices_pb2_grpc
from azotte_lifecycle.adapters import proto as lifecycle_proto
from azotte_lifecycle.adapters.payments import GrpcPayments
from azotte_lifecycle.adapters.unit_of_work import PostgresLifecycleUnitOfWork
from azotte_lifecycle.domain.contracts import BillingContact as LifecycleContact
from azotte_lifecycle.domain.contracts import Contract, ContractTerms
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import PlanTerms, Subscription
from azotte_lifecycle.entrypoints.main import MIGRATIONS as LIFECYCLE_MIGRATIONS
from azotte_lifecycle.service_layer.scheduler import Scheduler
from azotte_payments.adapters import proto
from azotte_payments.adapters.invoice_pdf import ReportlabInvoiceRenderer
from azotte_payments.adapters.tables import invoices
from azotte_payments.adapters.unit_of_work import PostgresPaymentsUnitOfWork
from azotte_payments.domain.invoices import BillTo, InvoiceLine, LineKind
from azotte_payments.domain.storefront import StorefrontTerms
from azotte_payments.entrypoints.invoices import InvoicesServicer
from azotte_payments.entrypoints.main import MIGRATIONS
from azotte_payments.service_layer.invoices import CreateInvoice, InvoiceTools, create_invoice
from azotte_platform import context
from azotte_platform.clock import FixedClock, SystemClock
from azotte_platform.db.engine import create_engine
from azotte_platform.db.migrations import migrate
from azotte_platform.enums import Channel
from azotte_platform.grpc.client import connect
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.service_kit import Units
from azotte_platform.tax import TaxMode, TaxPolicy
from azotte_stack.postgres import EmbeddedPostgres

TENANT = "bench"
T0 = datetime(2026, 4, 1, tzinfo=UTC)
PLAN = PlanTerms("enterprise", 250_000, "EUR", BillingInterval(IntervalUnit.MONTH))
LINES = (
    InvoiceLine(LineKind.RECURRING, "Enterprise plan, April", 250_000, plan_id="enterprise"),
    InvoiceLine(LineKind.USAGE, "Tokens (model=large)", 81_250, Decimal(3_250_000), Decimal("0.025"), "", "tokens"),
    InvoiceLine(LineKind.TRUE_UP, "Committed minimum true-up", 18_750),
)


class OneStorefront:
    """The catalog peer: storefront `de` (EUR, 19 % VAT on top)."""

    async def terms(self, tenant_id: str, storefront_id: str) -> StorefrontTerms:
        return StorefrontTerms("de", "EUR", "DE", TaxPolicy(TaxMode.EXCLUSIVE, Decimal("0.19")), ())


async def run_all(concurrency: int, jobs: list[Callable[[], Awaitable[None]]]) -> float:
    """Seconds to run every job, `concurrency` at a time."""
    queue = list(reversed(jobs))

    async def worker() -> None:
        while queue:
            await queue.pop()()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


class NoCatalog:
    """Contracts are priced by their terms: the scheduler never asks the catalog for them."""

    async def renewal_prices(self, queries: object) -> list[object]:
        raise AssertionError("contract renewals are not priced by the catalog")


async def seed_contracts(engine: AsyncEngine, clock: FixedClock, count: int) -> None:
    """`count` contracts signed at T0, 500 to a transaction."""
    terms = ContractTerms(
        "enterprise", 250_000, 300_000, T0 + timedelta(days=365), 0, 30, LifecycleContact("Customer GmbH")
    )
    for start in range(0, count, 500):
        async with PostgresLifecycleUnitOfWork(engine, "lifecycle", clock, lifecycle_proto.to_event) as uow:
            for n in range(start, min(start + 500, count)):
                sub = Subscription.create(
                    subscription_id=f"sub_{n:06d}", tenant_id=TENANT, customer_id=f"cus_{n}", plan=PLAN,
                    storefront_id="de", channel=Channel.DIRECT, billing_origin=BillingOrigin.AZOTTE_BILLED, now=T0,
                )  # fmt: skip
                contract = Contract.sign(
                    contract_id=f"ctr_{n:06d}", tenant_id=TENANT, customer_id=f"cus_{n}", storefront_id="de",
                    currency_code="EUR", subscription_id=sub.id, interval=PLAN.interval, terms=terms, now=T0,
                    actor="bench",
                )  # fmt: skip
                await uow.subscriptions.add(sub, T0)
                await uow.contracts.add(contract, T0)
            await uow.commit()


async def invoice_renewals(url: str, lifecycle_url: str, contracts: int, concurrency: int) -> float:
    """Seconds one scheduler sweep takes to invoice `contracts` due contracts through payments over gRPC."""
    payments_engine = create_engine(url, pool_size=concurrency)
    lifecycle_engine = create_engine(lifecycle_url, pool_size=concurrency)
    clock = FixedClock(T0)
    await seed_contracts(lifecycle_engine, clock, contracts)

    def payments_uow() -> PostgresPaymentsUnitOfWork:
        return PostgresPaymentsUnitOfWork(payments_engine, SystemClock(), proto.to_event)

    server = grpc.aio.server(interceptors=[ServiceInterceptor("payments")])
    tools = InvoiceTools(OneStorefront(), ReportlabInvoiceRenderer())
    invoices_pb2_grpc.add_InvoicesServiceServicer_to_server(InvoicesServicer(Units(payments_uow), tools), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = connect(f"127.0.0.1:{port}")

    def lifecycle_uow() -> PostgresLifecycleUnitOfWork:
        return PostgresLifecycleUnitOfWork(lifecycle_engine, "lifecycle", clock, lifecycle_proto.to_event)

    scheduler = Scheduler(lifecycle_uow, NoCatalog(), GrpcPayments(channel), clock)  # type: ignore[arg-type]
    clock.advance(timedelta(days=31, hours=1))
    try:
        started = time.perf_counter()
        swept = await scheduler.sweep()
        elapsed = time.perf_counter() - started
        async with payments_engine.connect() as connection:
            made = await connection.scalar(sa.select(sa.func.count()).select_from(invoices))
        assert (swept.processed, swept.remaining, made) == (contracts, 0, contracts), (swept, made)
    finally:
        await channel.close(None)
        await server.stop(None)
        await payments_engine.dispose()
        await lifecycle_engine.dispose()
    return elapsed


async def main(customers: int, concurrency: int, contracts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "pg", fast=True)
        await postgres.start()
        try:
            url = postgres.database_url("bench_invoices")
            await migrate(MIGRATIONS, url)
            engine = create_engine(url, pool_size=concurrency)
            clock = SystemClock()
            tools = InvoiceTools(OneStorefront(), ReportlabInvoiceRenderer())

            def issue(n: int) -> Callable[[], Awaitable[None]]:
                async def job() -> None:
                    command = CreateInvoice(
                        f"contract_{n}:2026-04", f"cus_{n}", "de", "EUR", LINES, BillTo(f"Customer {n} GmbH"), 30,
                        subscription_id=f"contract_{n}", period_key="2026-04", issue=True,
                    )  # fmt: skip
                    async with PostgresPaymentsUnitOfWork(engine, clock, proto.to_event) as uow:
                        await create_invoice(uow, TENANT, tools, command)
                        await uow.commit()

                return job

            def insert(n: int) -> Callable[[], Awaitable[None]]:
                async def job() -> None:
                    async with engine.begin() as connection:
                        await connection.execute(invoices.insert().values(_row(n)))

                return job

            with context.tenant_scope(TENANT):
                baseline = await run_all(concurrency, [insert(n) for n in range(customers)])
                issued = await run_all(concurrency, [issue(n) for n in range(customers)])
            await engine.dispose()
            swept = 0.0
            if contracts:
                renewal_url = postgres.database_url("bench_contract_invoices")
                lifecycle_url = postgres.database_url("bench_contract_lifecycle")
                await migrate(MIGRATIONS, renewal_url)
                await migrate(LIFECYCLE_MIGRATIONS, lifecycle_url)
                swept = await invoice_renewals(renewal_url, lifecycle_url, contracts, concurrency)
        finally:
            postgres.stop(fast=True)
    print(f"Invoices issued in a batch of {customers} contract customers, concurrency {concurrency}")
    print(f"  issued (number, tax, ledger, events):      {customers / issued:8.0f} invoices/s")
    print(f"  baseline (plain INSERT of the row):        {customers / baseline:8.0f} rows/s")
    print(f"  issuing costs {issued / baseline:.1f}x a plain insert")
    if contracts:
        print(f"Renewal invoices of {contracts} contracts, one scheduler sweep through payments over gRPC")
        print(f"  through the scheduler:                     {contracts / swept:8.0f} invoices/s")
        print(f"  beside issuing directly (above):           {customers / issued:8.0f} invoices/s")


def _row(n: int) -> dict[str, object]:
    now = SystemClock().now()
    return {
        "tenant_id": "baseline", "id": uuid.uuid4().hex, "idempotency_key": f"k{n}", "customer_id": f"cus_{n}",
        "storefront_id": "de", "currency": "EUR", "status": "open", "number": f"INV-DE-{n + 1:06d}",
        "payment_reference": f"REF{n}", "subscription_id": "", "period_key": "", "memo": "",
        "bill_to": {"name": f"Customer {n} GmbH"}, "lines": [], "due_in_days": 30, "reverse_charge": False,
        "tax_rate": "0.19", "charges_minor": 350_000, "reductions_minor": 0, "net_minor": 350_000,
        "tax_minor": 66_500, "total_minor": 416_500, "paid_minor": 0, "credited_minor": 0, "credited_tax_minor": 0,
        "created_at": now, "issued_at": now, "due_on": now.date(), "closed_at": None, "status_note": "",
    }  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--contracts", type=int, default=0, help="also invoice N contract renewals (0: skip)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.customers, arguments.concurrency, arguments.contracts))
